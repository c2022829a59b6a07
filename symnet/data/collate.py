"""Collation (``torch.utils.data._utils.collate``): a list of samples becomes one batch of the same structure.

Tensors stack along a new first dimension, NumPy arrays and scalars become tensors, Python floats float64,
ints int64 and bools bool; strings and bytes stay as they are. Mappings, namedtuples and sequences are
collated field by field (a tuple sample gives a list, as in PyTorch). ``default_collate_fn_map`` is the table
of leaf rules, one row per type, extensible as PyTorch's is. symnet keeps float32, float64, int64 and bool:
other integer dtypes (uint8, int32) become int64, float16 is refused.
"""

from __future__ import annotations

import collections.abc
import copy
import re
from collections.abc import Callable

import numpy as np

from ..frontend.creation import from_numpy, tensor
from ..frontend.shaping import stack
from ..frontend.tensor import Tensor

_STRINGS = re.compile(r"[SaUO]")  # NumPy dtype codes of strings and objects: not numbers
_ERROR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _as_tensor(value) -> Tensor:
    """``torch.as_tensor``: an array of a supported dtype is shared, anything else copied."""
    if isinstance(value, np.ndarray) and value.dtype in (np.float32, np.float64, np.int64, np.bool_):
        return from_numpy(value)
    return tensor(np.asarray(value))


def _collate_tensors(batch, *, collate_fn_map=None) -> Tensor:
    for k, t in enumerate(batch):
        if t.shape != batch[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(batch[0].shape)} at "
                               f"entry 0 and {list(t.shape)} at entry {k}")
    if any(t.requires_grad for t in batch) or any(t.dtype != batch[0].dtype for t in batch):
        return stack(batch)  # in the graph, or promoted as torch.stack promotes
    value = np.stack([t._array() for t in batch])
    return Tensor(value, value.shape, batch[0].dtype)


def _collate_arrays(batch, *, collate_fn_map=None) -> Tensor:
    if _STRINGS.search(batch[0].dtype.str) is not None:
        raise TypeError(_ERROR.format(batch[0].dtype))
    return collate([_as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def _collate_numpy_scalars(batch, *, collate_fn_map=None) -> Tensor:
    return _as_tensor(np.asarray(batch))


def _collate_floats(batch, *, collate_fn_map=None) -> Tensor:
    return tensor(batch, dtype=np.float64)


def _collate_ints(batch, *, collate_fn_map=None) -> Tensor:
    return tensor(batch)


def _collate_strings(batch, *, collate_fn_map=None):
    return batch


#: leaf rules, looked up by exact type first, then in order by isinstance (``bool`` goes by ``int``)
default_collate_fn_map: dict[type | tuple[type, ...], Callable] = {
    Tensor: _collate_tensors,
    np.ndarray: _collate_arrays,
    (np.bool_, np.number, np.object_): _collate_numpy_scalars,
    float: _collate_floats,
    int: _collate_ints,
    str: _collate_strings,
    bytes: _collate_strings,
}


def collate(batch, *, collate_fn_map: dict | None = None):
    """Collate ``batch`` (a list of samples) with the leaf rules of ``collate_fn_map``, recursing through
    mappings, namedtuples and sequences."""
    elem = batch[0]
    if collate_fn_map is not None:
        if type(elem) in collate_fn_map:
            return collate_fn_map[type(elem)](batch, collate_fn_map=collate_fn_map)
        for kind, rule in collate_fn_map.items():
            if isinstance(elem, kind):
                return rule(batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        fields = {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map) for key in elem}
        return _rebuild_mapping(elem, fields)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch, strict=True)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch, strict=True)]
        return fields if isinstance(elem, tuple) else _rebuild_sequence(elem, fields)
    raise TypeError(_ERROR.format(type(elem)))


def _rebuild_mapping(elem, fields: dict):
    """A mapping of the sample's own type (a copy for mutable ones), else a dict."""
    try:
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(fields)
            return clone
        return type(elem)(fields)
    except TypeError:
        return fields


def _rebuild_sequence(elem, fields: list):
    """A sequence of the sample's own type (a copy for mutable ones), else a list."""
    try:
        if isinstance(elem, collections.abc.MutableSequence):
            clone = copy.copy(elem)
            for k, field in enumerate(fields):
                clone[k] = field
            return clone
        return type(elem)(fields)
    except TypeError:
        return fields


def default_collate(batch: list):
    """Samples into a batch: tensors, arrays and numbers stacked into tensors with a new first dimension,
    containers collated field by field.

    >>> default_collate([(1, 2.0), (3, 4.0)])
    [tensor([1, 3]), tensor([2., 4.], dtype=symnet.float64)]
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)


def default_convert(data):
    """One sample (no batching, ``batch_size=None``): NumPy arrays and scalars become tensors, containers are
    converted field by field, anything else is left as it is."""
    if isinstance(data, Tensor):
        return data
    if type(data).__module__ == "numpy" and not isinstance(data, np.str_ | np.bytes_):
        if isinstance(data, np.ndarray) and _STRINGS.search(data.dtype.str) is not None:
            return data
        return _as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, str | bytes):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data
