"""A module's backward hooks (``register_full_backward_hook``, ``register_full_backward_pre_hook``), as PyTorch's
``torch.utils.hooks.BackwardHook`` runs them: the module's input and output pass through identities (clones)
whose gradients are exactly the module's share, and tensor hooks on them call the module's hooks — first the
pre-hooks with the gradient by the output, then the hooks with the gradients by the inputs and the output. A
tuple a hook returns replaces the gradient passed on.

One call of the module sets up its own hooks, so a module called twice fires them twice, once per call. The
envelope: one positional tensor input that requires grad (any number of other arguments) and one tensor output
(or a tuple holding one that requires grad); more are refused when the module is called.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

from ..errors import NotSupportedError
from ..frontend.autograd import grad_mode
from ..frontend.tensor import Tensor


class BackwardHooks:
    """One call's backward hooks: ``inputs`` before the module's forward, ``output`` after it."""

    def __init__(self, module, hooks: list[Callable], pre_hooks: list[Callable]):
        self.module, self.hooks, self.pre_hooks = module, list(hooks), list(pre_hooks)
        self.grad_output: tuple | None = None
        self.n_inputs, self.wanted = 0, None  # the positional arguments, and the one whose gradient is wanted
        self.n_outputs, self.at = 1, 0  # the outputs, and the one whose gradient the hooks see

    def inputs(self, args: tuple) -> tuple:
        """``args`` with the tensor that requires grad replaced by a clone whose gradient the hooks see."""
        self.n_inputs = len(args)
        wanting = [k for k, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        if len(wanting) > 1:
            raise NotSupportedError(f"{type(self.module).__name__}: backward hooks of a module called with "
                                    f"{len(wanting)} tensors that require grad are not supported (one is); register "
                                    "hooks on the input tensors (tensor.register_hook) instead")
        if not wanting or not grad_mode.enabled:
            return args
        self.wanted = wanting[0]
        through = args[self.wanted].clone()
        through.register_hook(self._on_input)
        return (*args[:self.wanted], through, *args[self.wanted + 1:])

    def output(self, out):
        """``out`` with its tensor that requires grad replaced by a clone whose gradient the hooks see."""
        outputs = out if isinstance(out, tuple) else (out,)
        wanting = [k for k, o in enumerate(outputs) if isinstance(o, Tensor) and o.requires_grad]
        if len(wanting) > 1:
            raise NotSupportedError(f"{type(self.module).__name__}: backward hooks of a module with {len(wanting)} "
                                    "outputs that require grad are not supported (one is); register hooks on the "
                                    "output tensors (tensor.register_hook) instead")
        if not isinstance(out, Tensor | tuple):
            warnings.warn("For backward hooks to be called, module output should be a Tensor or a tuple of Tensors "
                          f"but received {type(out)}", UserWarning, stacklevel=4)
        if not wanting or not grad_mode.enabled:
            return out
        (k,) = wanting
        self.n_outputs, self.at = len(outputs), k
        through = outputs[k].clone()
        through.register_hook(self._on_output)
        return through if not isinstance(out, tuple) else (*out[:k], through, *out[k + 1:])

    def _on_output(self, grad: Tensor) -> Tensor:
        grad_output = _padded(self.at, grad, self.n_outputs)
        for hook in self.pre_hooks:
            changed = hook(self.module, grad_output)
            if changed is not None:
                grad_output = _checked(changed, grad_output, "Backward pre hook", "grad_output")
        if self.wanted is None:  # no input wants a gradient: the hooks fire now, as PyTorch's, and may change none
            self._without_inputs(grad_output)
        else:
            self.grad_output = grad_output
        return _or_zeros(grad_output[self.at], grad)

    def _on_input(self, grad: Tensor) -> Tensor:
        if self.grad_output is None:  # a gradient that did not pass through the module's output
            return grad
        grad_input = _padded(self.wanted, grad, self.n_inputs)
        for hook in self.hooks:
            changed = hook(self.module, grad_input, self.grad_output)
            if changed is not None:
                grad_input = _checked(changed, grad_input, "Backward hook", "grad_input")
        self.grad_output = None
        return _or_zeros(grad_input[self.wanted], grad)

    def _without_inputs(self, grad_output: tuple) -> None:
        if not self.hooks:
            return
        warnings.warn("Full backward hook is firing when gradients are computed with respect to module outputs since "
                      "no inputs require gradients.", UserWarning, stacklevel=2)
        for hook in self.hooks:
            changed = hook(self.module, (None,) * self.n_inputs, grad_output)
            if changed is not None and not (isinstance(changed, tuple) and all(g is None for g in changed)):
                raise RuntimeError("Backward hook for Modules where no input requires gradient should always return "
                                   "None or None for all gradients.")


def _padded(at: int, grad: Tensor, size: int) -> tuple:
    """``grad`` at position ``at`` of ``size`` entries, None elsewhere (the arguments without a gradient)."""
    return tuple(grad if k == at else None for k in range(size))


def _checked(changed, given: tuple, who: str, what: str) -> tuple:
    if not isinstance(changed, tuple | list) or len(changed) != len(given):
        raise RuntimeError(f"{who} returned an invalid number of {what}, got "
                           f"{len(changed) if isinstance(changed, tuple | list) else type(changed).__name__}, but "
                           f"expected {len(given)}")
    return tuple(changed)


def _or_zeros(grad: Tensor | None, like: Tensor) -> Tensor:
    """A hook's gradient, or zeros where it gave None (no gradient passes on)."""
    return like.new_zeros(like.shape) if grad is None else grad
