"""``symnet.nn.utils.stateless``, as ``torch.nn.utils.stateless``: its ``functional_call``, deprecated by PyTorch
in favour of ``torch.func.functional_call``, which it calls."""

from __future__ import annotations

import warnings

from ... import func

__all__ = ["functional_call"]


def functional_call(module, parameters_and_buffers, args=None, kwargs=None, *, tie_weights: bool = True,
                    strict: bool = False):
    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and will be removed in "
                  "a future version of PyTorch. Please use `torch.func.functional_call` instead which is a drop-in "
                  "replacement.", FutureWarning, stacklevel=2)
    args = () if args is None else args if isinstance(args, tuple) else (args,)
    return func.functional_call(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights, strict=strict)
