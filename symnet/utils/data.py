"""``torch.utils.data``'s names: the same objects as ``symnet.data``."""

from ..data import *  # noqa: F403
from ..data import __all__  # noqa: F401
