"""The exceptions symnet raises for bad input: each names the op and the shapes involved."""


class SymnetError(Exception):
    """Base class of every error symnet raises on purpose."""


class ShapeError(SymnetError, ValueError):
    """Operand shapes that do not fit the op (matmul of (3, 1) and (2, 1), broadcasting 3 with 4, ...)."""


class DimensionError(ShapeError, IndexError):
    """A dim outside a tensor's dims: a ShapeError, and the IndexError PyTorch raises ("Dimension out of range")."""


class DTypeError(SymnetError, TypeError):
    """An operand of the wrong dtype (float labels for cross entropy, gradients of integer tensors, ...)."""


class IndexRangeError(SymnetError, IndexError):
    """A data-dependent index (a class label, a gather index) outside the tensor it selects from."""


class GradError(SymnetError, RuntimeError):
    """backward() or grad() asked for something that has no gradient."""


class LoweringError(SymnetError):
    """An element expression the backend has no lowering for."""


class NotSupportedError(SymnetError, NotImplementedError):
    """A PyTorch feature symnet does not offer yet (RReLU's random slopes in training)."""


class LinAlgError(SymnetError, RuntimeError):
    """``torch.linalg.LinAlgError`` (a singular matrix): never raised, since symnet has no matrix factorizations,
    but offered as ``symnet.linalg.LinAlgError`` so translated ``except`` clauses stay valid."""
