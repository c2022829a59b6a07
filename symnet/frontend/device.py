"""``symnet.device``: PyTorch's device argument, accepted so code written for torch runs unchanged — symnet
compiles for the CPU it runs on, so ``"cpu"`` is the only device that holds tensors."""

from __future__ import annotations

import functools
from collections.abc import Callable

from ..core.dtypes import as_dtype
from ..errors import ArgumentError, DTypeError, NotSupportedError, SymnetError
from .base import TensorBase


class DeviceError(SymnetError, RuntimeError):
    """A device symnet does not run on (CUDA, MPS, …): symnet compiles native code for the host CPU."""


class device:  # noqa: N801 - torch.device
    """A device as PyTorch names one: ``device("cpu")``, ``device("cuda:0")``, ``device("cuda", 0)``.

    >>> device("cpu")
    device(type='cpu')
    """

    __slots__ = ("type", "index")

    def __init__(self, type: str | device, index: int | None = None):  # noqa: A002 - torch's name
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device(): expected a string or a device, got {type!r}")
        name, _, number = type.partition(":")
        if number:
            if index is not None:
                raise ArgumentError(f"device(): type {type!r} already has an index, got index={index} too")
            if not number.isdigit():
                raise ArgumentError(f"Invalid device string: {type!r}")
            index = int(number)
        if not name.isidentifier():
            raise ArgumentError(f"Invalid device string: {type!r}")
        if index is not None and index < 0:
            raise ArgumentError(f"Device index must not be negative, got {index}")
        self.type, self.index = name, index

    def __repr__(self) -> str:
        return f"device(type={self.type!r}" + (f", index={self.index})" if self.index is not None else ")")

    def __str__(self) -> str:
        return self.type + (f":{self.index}" if self.index is not None else "")

    def __eq__(self, other) -> bool:
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __enter__(self) -> device:
        """``with torch.device("cpu"):`` (the default device for the block): the CPU only, where symnet always is."""
        check_device(self)
        return self

    def __exit__(self, *exc) -> None:
        return None


CPU = device("cpu")


def set_default_device(where: str | device | None) -> None:
    """``torch.set_default_device``: the CPU (or None, PyTorch's reset) is accepted, any other device refused."""
    check_device(where)


def get_default_device() -> device:
    return CPU


def check_device(where: str | device | None) -> device:
    """The device a ``device=`` argument names, which must be the CPU (None means the CPU, as in PyTorch)."""
    if where is None:
        return CPU
    if isinstance(where, int):  # torch reads a bare int as a CUDA ordinal
        where = device("cuda", where)
    found = device(where)
    if found.type != "cpu":
        raise DeviceError(f"symnet runs on the CPU only (it compiles native code for this machine's processor); "
                          f"got device {str(found)!r}: use device='cpu' or leave it out")
    return found


class Layout:
    """``torch.layout``: symnet's tensors are dense and row-major (``strided``); ``sparse_coo`` is named so code
    comparing with it runs, and asking for it is refused."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"symnet.{self.name}"


strided, sparse_coo = Layout("strided"), Layout("sparse_coo")


def accepts_device(constructor: Callable) -> Callable:
    """Let a tensor constructor take PyTorch's ``device=`` (which must name the CPU), ``layout=`` (strided) and
    ``pin_memory=`` (False: pinned memory needs an accelerator, as PyTorch says on a machine without one)."""

    @functools.wraps(constructor)
    def construct(*args, device=None, layout=None, pin_memory=False, **kwargs):
        check_device(device)
        if layout is not None and layout is not strided:
            raise NotSupportedError(f"layout={layout!r}: symnet's tensors are dense (symnet.strided); sparse "
                                    "layouts are not supported")
        if pin_memory:
            raise RuntimeError("pin_memory=True requires a CUDA or other accelerator backend; no pinned memory "
                               "allocator is available on this system.")
        return constructor(*args, **kwargs)

    return construct


def to_arguments(args: tuple, kwargs: dict) -> tuple:
    """``to``'s overloads (of a tensor or a module) as (device, dtype)."""
    unknown = set(kwargs) - {"device", "dtype", "non_blocking"}
    if unknown or len(args) > 2:
        raise TypeError(f"to() received an invalid combination of arguments: {args}, {kwargs}")
    where, dtype = kwargs.get("device"), kwargs.get("dtype")
    for a in args:
        if isinstance(a, TensorBase):
            dtype = a.dtype
        elif isinstance(a, (device, int)) and not isinstance(a, bool) or isinstance(a, str) and not is_dtype_name(a):
            where = a
        else:
            dtype = a
    return where, dtype


def is_dtype_name(name: str) -> bool:
    """Whether a string names a dtype (``"float64"``: symnet accepts dtype names where torch takes dtypes)."""
    try:
        as_dtype(name)
    except (DTypeError, TypeError, ValueError):
        return False
    return True
