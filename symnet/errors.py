"""The exceptions symnet raises for bad input: each names the op and the shapes involved."""


class SymnetError(Exception):
    """Base class of every error symnet raises on purpose."""


class ShapeError(SymnetError, ValueError, RuntimeError):
    """Operand shapes that do not fit the op (matmul of (3, 1) and (2, 1), broadcasting 3 with 4, ...): a
    ValueError, and the RuntimeError PyTorch raises for them."""


class ArgumentError(SymnetError, ValueError, RuntimeError):
    """An argument an op cannot take (a negative size, zero chunks, a probability outside [0, 1], ``item()`` of
    several elements): a ValueError, and the RuntimeError PyTorch raises for most."""


class DimensionError(ShapeError, IndexError):
    """A dim outside a tensor's dims: a ShapeError, and the IndexError PyTorch raises ("Dimension out of range")."""


class DTypeError(SymnetError, TypeError, RuntimeError):
    """An operand of the wrong dtype (float labels for cross entropy, gradients of integer tensors, ...): a
    TypeError, and the RuntimeError PyTorch raises for most ("not implemented for 'Bool'", a float alpha)."""


class IndexRangeError(SymnetError, IndexError, RuntimeError):
    """A data-dependent index (a class label, a gather index) outside the tensor it selects from: an IndexError,
    and the RuntimeError PyTorch raises for a gather's or scatter's."""


class GradError(SymnetError, RuntimeError):
    """backward() or grad() asked for something that has no gradient."""


class StateDictError(SymnetError, RuntimeError, KeyError):
    """A state dict whose keys are not the module's: PyTorch's RuntimeError, and a KeyError (symnet's earlier
    class for it)."""

    __str__ = RuntimeError.__str__  # the message as written, not quoted as a KeyError's


class LoweringError(SymnetError):
    """An element expression the backend has no lowering for."""


class NotSupportedError(SymnetError, NotImplementedError):
    """A PyTorch feature symnet does not offer yet (RReLU's random slopes in training)."""


class LinAlgError(SymnetError, RuntimeError):
    """``torch.linalg.LinAlgError`` (a singular matrix): never raised, since symnet has no matrix factorizations,
    but offered as ``symnet.linalg.LinAlgError`` so translated ``except`` clauses stay valid."""


#: PyTorch names symnet does not offer yet, by the symnet module that would hold them (the README lists them)
NOT_YET = {
    "symnet": ("fft", "jit", "onnx", "quantization", "ao", "sparse", "export_for_training"),
    "symnet.nn": ("AdaptiveLogSoftmaxWithLoss", "FractionalMaxPool2d", "FractionalMaxPool3d",
                  "SyncBatchNorm", "DataParallel", "CrossMapLRN2d", "UninitializedParameter", "UninitializedBuffer",
                  "LinearCrossEntropyLoss"),
    "symnet.optim": ("SparseAdam", "Adafactor", "Muon"),
    "symnet.distributions": ("Multinomial", "Dirichlet", "MultivariateNormal", "LowRankMultivariateNormal", "VonMises",
                             "ContinuousBernoulli", "FisherSnedecor", "NegativeBinomial", "LogisticNormal",
                             "RelaxedBernoulli", "RelaxedOneHotCategorical", "TransformedDistribution",
                             "MixtureSameFamily", "Wishart", "LKJCholesky", "GeneralizedPareto"),
}


def no_attribute(module: str, name: str) -> AttributeError:
    """A module's AttributeError for ``name``, saying so when it is a PyTorch name symnet does not offer yet (an
    AttributeError still, so ``hasattr`` and ``getattr(…, default)`` keep working)."""
    if name in NOT_YET.get(module, ()):
        return AttributeError(f"module {module!r} has no attribute {name!r}: PyTorch's {name} is not supported by "
                              f"symnet yet (the README lists what is not)")
    return AttributeError(f"module {module!r} has no attribute {name!r}")
