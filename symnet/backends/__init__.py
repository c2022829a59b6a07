"""``symnet.backends``: PyTorch's backend switches (``torch.backends.cudnn.benchmark = True``,
``torch.backends.mps.is_available()``), accepted so training scripts run unchanged. None of them applies to the
native CPU code symnet compiles (its own compute backend is ``symnet.backend``)."""

from . import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "mps"]
