"""``torch.autograd.gradcheck`` and ``gradgradcheck``: the Jacobian that backward gives (through ``autograd.grad``, so
custom ``Function``s too) against central finite differences, PyTorch's signatures, tolerances and outcome —
True, or a ``GradcheckError`` (a RuntimeError) naming the output and input that disagree. ``symnet.check_grads``
is symnet's own check, of any derivative order along random directions."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np

from ..core.dtypes import is_float
from ..frontend.autograd import enable_grad, grad
from ..frontend.tensor import Tensor


class GradcheckError(RuntimeError):
    """The analytical and numerical Jacobians disagree (``torch.autograd.gradcheck.GradcheckError``)."""


def _tuple(x) -> tuple:
    return tuple(x) if isinstance(x, tuple | list) else (x,)


def _outputs(func: Callable, inputs: tuple) -> tuple[Tensor, ...]:
    with enable_grad():
        return tuple(o for o in _tuple(func(*inputs)) if isinstance(o, Tensor) and is_float(o.dtype))


def _analytical(outputs: tuple[Tensor, ...], inputs: tuple, wrt: list[int]) -> list[list[np.ndarray]]:
    """Per output and differentiated input, the Jacobian (output elements × input elements) backward gives, one
    vector-Jacobian product per output element."""
    blocks = []
    for o in outputs:
        rows = [[] for _ in wrt]
        for j in range(o.numel()):
            unit = np.zeros(o.numel(), o.dtype)
            unit[j] = 1.0
            found = grad(o, [inputs[k] for k in wrt], Tensor(unit.reshape(o.shape), o.shape, o.dtype),
                         retain_graph=True, allow_unused=True) if o.requires_grad else (None,) * len(wrt)
            for r, (k, g) in enumerate(zip(wrt, found, strict=True)):
                rows[r].append(np.zeros(inputs[k].numel()) if g is None else g.numpy().reshape(-1).astype(float))
        blocks.append([np.array(r).reshape(o.numel(), inputs[k].numel()) for r, k in zip(rows, wrt, strict=True)])
    return blocks


def _numerical(func: Callable, inputs: tuple, wrt: list[int], eps: float) -> list[list[np.ndarray]]:
    """The same Jacobians by central differences: each input element moved by ±eps in turn."""
    columns: list[list[list[np.ndarray]]] | None = None
    for r, k in enumerate(wrt):
        base = inputs[k].detach().numpy().copy()
        for i in range(base.size):
            values = []
            for step in (eps, -eps):
                moved = base.copy()
                moved.reshape(-1)[i] += step
                changed = list(inputs)
                changed[k] = Tensor(moved, moved.shape, inputs[k].dtype, requires_grad=True)  # as the input was
                values.append([o.detach().numpy().reshape(-1).astype(float) for o in _outputs(func, tuple(changed))])
            if columns is None:
                columns = [[[] for _ in wrt] for _ in values[0]]
            for n, (plus, minus) in enumerate(zip(*values, strict=True)):
                columns[n][r].append((plus - minus) / (2 * eps))
    return [[np.array(c).T.reshape(-1, inputs[k].numel()) if c else np.zeros((0, inputs[k].numel()))
             for c, k in zip(per_output, wrt, strict=True)] for per_output in (columns or [])]


def gradcheck(func: Callable, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0, check_undefined_grad: bool = True,
              check_grad_dtypes: bool = False, check_batched_grad: bool = False,
              check_batched_forward_grad: bool = False, check_forward_ad: bool = False,
              check_backward_ad: bool = True, fast_mode: bool = False, masked: bool | None = None) -> bool:
    """True when every Jacobian of ``func`` at ``inputs`` (by each input that requires grad) agrees with central
    differences to ``atol + rtol·|numerical|``; else a ``GradcheckError`` (or False, ``raise_exception=False``).
    Inputs should be float64, as PyTorch warns."""
    inputs = _tuple(inputs)
    wrt = [k for k, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not wrt:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but none of the them "
                         "have requires_grad=True.")
    for k in wrt:
        if inputs[k].dtype != np.float64:
            warnings.warn(f"Input #{k} requires gradient and is not a double precision floating point. This check "
                          "will likely fail if all the inputs are not of double precision floating point.",
                          UserWarning, stacklevel=2)
    outputs = _outputs(func, inputs)
    analytical, numerical = _analytical(outputs, inputs, wrt), _numerical(func, inputs, wrt, eps)
    for n, (a_blocks, n_blocks) in enumerate(zip(analytical, numerical, strict=True)):
        for k, a, num in zip(wrt, a_blocks, n_blocks, strict=True):
            if not np.allclose(a, num, rtol=rtol, atol=atol):
                if not raise_exception:
                    return False
                raise GradcheckError(f"Jacobian mismatch for output {n} with respect to input {k},\n"
                                     f"numerical:{num}\nanalytical:{a}\n")
    return True


def gradgradcheck(func: Callable, inputs, grad_outputs: Sequence[Tensor] | Tensor | None = None, *,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, gen_non_contig_grad_outputs: bool = False,
                  raise_exception: bool = True, nondet_tol: float = 0.0, check_undefined_grad: bool = True,
                  check_grad_dtypes: bool = False, check_batched_grad: bool = False, check_fwd_over_rev: bool = False,
                  check_rev_over_rev: bool = True, fast_mode: bool = False, masked: bool = False) -> bool:
    """``gradcheck`` of the vector-Jacobian product of ``func`` (with ``create_graph``): its second derivatives.
    ``grad_outputs`` default to random float64 tensors of the outputs' shapes that require grad, as PyTorch's."""
    inputs = _tuple(inputs)
    outputs = _outputs(func, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        cotangents = tuple(Tensor(rng.standard_normal(o.shape).astype(o.dtype), o.shape, o.dtype,
                                  requires_grad=True) for o in outputs)
    else:
        cotangents = _tuple(grad_outputs)
    wrt = [k for k, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    count = len(inputs)

    def vector_jacobian(*values):
        ins, cots = values[:count], values[count:]
        outs = _outputs(func, ins)
        found = grad(list(outs), [ins[k] for k in wrt], list(cots), create_graph=True, allow_unused=True)
        return tuple(g for g in found if g is not None)

    return gradcheck(vector_jacobian, (*inputs, *cotangents), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)


__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]
