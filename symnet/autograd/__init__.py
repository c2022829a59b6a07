"""``symnet.autograd``, as ``torch.autograd``: ``grad`` and ``backward``, gradient mode, ``functional`` (Jacobians,
Hessians and their products) and ``Variable``, PyTorch's deprecated alias of a tensor that requires grad (kept
because tutorials still use it); and symnet's own ``derivatives``: higher derivatives along a direction in Taylor
mode (what a PDE residual reads: ∂²u/∂x², without the full Hessian or a doubling per nested ``grad``)."""

from __future__ import annotations

from collections.abc import Sequence

from ..frontend.autograd import (
    backward,
    detect_anomaly,
    directional_derivatives,
    enable_grad,
    grad,
    inference_mode,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    set_detect_anomaly,
    set_grad_enabled,
)
from ..frontend.derivative_names import name_directional
from ..frontend.tensor import Tensor
from . import function, functional
from .function import Function, FunctionCtx, once_differentiable
from .gradcheck import GradcheckError, gradcheck, gradgradcheck


def derivatives(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
                directions: Tensor | Sequence[Tensor], order: int = 1, create_graph: bool = False):
    """The derivatives of order 1…``order`` of ``outputs`` along ``directions`` (one per input, of its shape):
    ``dᵏ/dtᵏ outputs(inputs + t·directions)`` at t = 0, in Taylor mode. For one output tensor a tuple of
    ``order`` tensors, for a sequence a list of such tuples. For a batch of points ``x`` (rows independent), the
    direction ``e_i`` on every row gives ∂ᵏu/∂x_iᵏ per point; a Laplacian is the sum over i of the second ones.

    >>> x = sn.tensor([[0.5, 1.0]], requires_grad=True)                          # doctest: +SKIP
    >>> du, d2u = sn.autograd.derivatives(model(x), x, sn.tensor([[1.0, 0.0]]), order=2, create_graph=True)
    """
    single = isinstance(outputs, Tensor)
    outs = [outputs] if single else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    dirs = [directions] if isinstance(directions, Tensor) else list(directions)
    if len(dirs) != len(ins):
        raise ValueError(f"derivatives: {len(ins)} inputs but {len(dirs)} directions")
    result = [tuple(r) for r in directional_derivatives(outs, ins, dirs, order, create_graph)]
    if create_graph and len(ins) == 1:
        for out, found in zip(outs, result, strict=True):
            name_directional(out, ins[0], dirs[0], found)
    return result[0] if single else result


def Variable(data: Tensor, requires_grad: bool = False, volatile: bool = False) -> Tensor:  # noqa: N802 - torch's name
    """A leaf sharing ``data``'s values, requiring grad if asked (``torch.autograd.Variable``)."""
    leaf = data.detach()
    return leaf.requires_grad_(requires_grad) if requires_grad else leaf


__all__ = ["Function", "FunctionCtx", "GradcheckError", "Variable", "backward", "derivatives", "detect_anomaly",
           "enable_grad", "function", "functional", "grad", "gradcheck", "gradgradcheck", "inference_mode",
           "is_anomaly_check_nan_enabled", "is_anomaly_enabled", "is_grad_enabled", "no_grad", "once_differentiable",
           "set_detect_anomaly", "set_grad_enabled"]
