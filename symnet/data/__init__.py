"""The data pipeline, shaped like ``torch.utils.data`` (also importable as ``symnet.utils.data``): datasets,
samplers, collation and the DataLoader with its worker pool, plus local-file datasets. Nothing is downloaded,
ever."""

from .collate import collate, default_collate, default_collate_fn_map, default_convert
from .dataloader import DataLoader
from .dataset import (
                      ChainDataset,
                      ConcatDataset,
                      Dataset,
                      IterableDataset,
                      StackDataset,
                      Subset,
                      TensorDataset,
                      random_split,
)
from .files import digits, load_idx, mnist
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler, WeightedRandomSampler
from .worker import WorkerInfo, get_worker_info

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "ConcatDataset", "ChainDataset", "Subset",
           "random_split", "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "DataLoader", "default_collate", "default_convert", "collate",
           "default_collate_fn_map", "get_worker_info", "WorkerInfo", "load_idx", "mnist", "digits"]
