"""PyTorch's deprecated module names, kept so that programs written against them run: each is its replacement and
warns as PyTorch's does."""

from __future__ import annotations

import warnings

from ..frontend.tensor import Tensor
from .loss import NLLLoss


class NLLLoss2d(NLLLoss):
    """``NLLLoss`` under its old name for (N, C, H, W) inputs, which ``NLLLoss`` takes itself."""

    def __init__(self, weight: Tensor | None = None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean"):
        warnings.warn("`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a drop-in replacement and see "
                      "https://pytorch.org/docs/main/nn.html#torch.nn.NLLLoss for more details.", FutureWarning,
                      stacklevel=2)
        super().__init__(weight, size_average, ignore_index, reduce, reduction)
