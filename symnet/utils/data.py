"""``torch.utils.data``'s names (``TensorDataset``, ``DataLoader``, ``random_split``, …): ``symnet.data``."""

from ..data import DataLoader, Subset, TensorDataset, digits, load_idx, mnist, random_split

Dataset = object  # PyTorch's abstract base: any class with __len__ and __getitem__ serves

__all__ = ["Dataset", "DataLoader", "Subset", "TensorDataset", "random_split", "load_idx", "mnist", "digits"]
