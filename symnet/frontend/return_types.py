"""The named tuples ops return, as ``torch.return_types``: one type per op, named after it, printed as PyTorch
prints them (``symnet.return_types.max(values=…, indices=…)`` over lines), indexable and unpackable as tuples."""

from __future__ import annotations

from collections import namedtuple


def _repr(self) -> str:
    fields = ",\n".join(f"{name}={value!r}" for name, value in zip(self._fields, self, strict=True))
    return f"symnet.return_types.{type(self).__name__}(\n{fields})"


def _structseq(name: str, fields: tuple[str, ...]) -> type:
    kind = namedtuple(name, fields, module=__name__)
    kind.__repr__ = _repr
    return kind


_VALUES = ("values", "indices")

max = _structseq("max", _VALUES)  # noqa: A001 - torch.return_types.max
min = _structseq("min", _VALUES)  # noqa: A001 - torch.return_types.min
cummax = _structseq("cummax", _VALUES)
cummin = _structseq("cummin", _VALUES)
median = _structseq("median", _VALUES)
nanmedian = _structseq("nanmedian", _VALUES)
mode = _structseq("mode", _VALUES)
kthvalue = _structseq("kthvalue", _VALUES)
sort = _structseq("sort", _VALUES)
topk = _structseq("topk", _VALUES)
aminmax = _structseq("aminmax", ("min", "max"))
frexp = _structseq("frexp", ("mantissa", "exponent"))
histogram = _structseq("histogram", ("hist", "bin_edges"))

#: the type of each op's result, by the op's name
BY_OP = {kind.__name__: kind for kind in (max, min, cummax, cummin, median, nanmedian, mode, kthvalue, sort, topk,
                                          aminmax, frexp, histogram)}
