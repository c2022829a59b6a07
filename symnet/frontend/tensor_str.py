"""Tensors printed as PyTorch prints them (``torch/_tensor_str.py``'s rules): four decimals, ``5.`` for whole
floats, scientific notation when magnitudes span more than 10³ (or pass 10⁸, or fall below 10⁻⁴), one width
per tensor, summarized beyond 1000 elements — so a ported script prints the numbers its tutorial shows."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

#: ``torch.set_printoptions``' profiles; the options in force start as the default one
PROFILES = {"default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
            "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
            "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80}}
OPTIONS: dict = {**PROFILES["default"], "sci_mode": None}


def set_printoptions(precision: int | None = None, threshold: float | None = None, edgeitems: int | None = None,
                     linewidth: int | None = None, profile: str | None = None, sci_mode: bool | None = None) -> None:
    """How tensors print, as ``torch.set_printoptions``: a ``profile`` ("default", "short", "full") first, then
    each option given; ``sci_mode`` True or False forces scientific or fixed notation, None (as every call
    without it) lets the values choose.

    >>> set_printoptions(precision=2); tensor([1.2345]); set_printoptions(profile="default")  # doctest: +SKIP
    tensor([1.23])
    """
    if profile is not None:
        if profile not in PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of {sorted(PROFILES)}, got {profile!r}")
        OPTIONS.update(PROFILES[profile])
    given = {"precision": precision, "threshold": threshold, "edgeitems": edgeitems, "linewidth": linewidth}
    for name, value in given.items():
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"set_printoptions: {name} must be a non-negative number, got {value!r}")
            OPTIONS[name] = value
    OPTIONS["sci_mode"] = sci_mode


def _float_format(values: np.ndarray) -> tuple[Callable[[float], str], int]:
    """The formatter of one float tensor's elements and its width, as PyTorch's ``_Formatter``: from the elements
    shown, the nonzero finite ones decide one mode (whole, fixed or scientific) and one width."""
    shown = _shown(values)
    decisive = shown[np.isfinite(shown) & (shown != 0)].astype(np.float64)
    magnitudes = np.abs(decisive)
    whole = bool(np.all(decisive == np.ceil(decisive)))
    sci, precision = False, OPTIONS["precision"]
    if magnitudes.size:
        low, high = magnitudes.min(), magnitudes.max()
        sci = high / low > 1000 or high > 1e8 or (not whole and low < 1e-4)
    if OPTIONS["sci_mode"] is not None:
        sci = bool(OPTIONS["sci_mode"])

    def text(v: float) -> str:
        if sci:
            return f"{v:.{precision}e}"
        if whole:
            return f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
        return f"{v:.{precision}f}"

    width = max((len(text(float(v))) for v in decisive), default=1)
    return (lambda v: text(float(v)).rjust(width)), width


def _formatter(values: np.ndarray) -> tuple[Callable, int]:
    """Each element's text (padded to one width) and that width: floats by ``_float_format``, integers and bools
    as Python writes them."""
    if values.dtype.kind == "f":
        return _float_format(values)
    width = max((len(str(v)) for v in _shown(values).ravel().tolist()), default=1)
    return (lambda v: str(v).rjust(width)), width


def _shown(values: np.ndarray) -> np.ndarray:
    """The elements the formatter sees: all of them, or a summary's beyond the threshold."""
    return values if values.size <= OPTIONS["threshold"] else _summarized(values)


def _summarized(values: np.ndarray) -> np.ndarray:
    """The first and last ``edgeitems`` along every dimension, as PyTorch's ``get_summarized_data`` (where a row's
    last zero items, ``row[-0:]``, are the whole row, and more dimensions with no edge items are none)."""
    if values.ndim == 0:
        return values
    edge, n = int(OPTIONS["edgeitems"]), len(values)
    if values.ndim == 1:
        return np.concatenate((values[:edge], values[-edge:])) if n > 2 * edge else values
    if not edge:
        return values[(slice(0, 0),) * values.ndim]
    rows = (*range(edge), *range(n - edge, n)) if n > 2 * edge else range(n)
    return np.stack([_summarized(values[k]) for k in rows])


#: ``repr``'s opening, whose width indents the rows under the first
PREFIX = "tensor("


def format_values(values: np.ndarray) -> str:
    """The body of ``repr(tensor)``: the elements bracketed and wrapped by ``torch/_tensor_str.py``'s rules (rows
    of as many elements of the formatter's width + 2 as fit the line width after the indent, a summary's
    ellipsis one of them)."""
    if values.size == 0:
        return "[]"
    text, width = _formatter(values)
    return _nested(values, len(PREFIX), values.size > OPTIONS["threshold"], text, width)


def _nested(values: np.ndarray, indent: int, summarize: bool, text: Callable, width: int) -> str:
    if values.ndim == 0:
        return text(values.item())
    edge = int(OPTIONS["edgeitems"])
    if values.ndim == 1:
        if summarize and not edge:
            items = ["..."]
        elif summarize and len(values) > 2 * edge:
            items = [*map(text, values[:edge].tolist()), " ...", *map(text, values[len(values) - edge:].tolist())]
        else:
            items = list(map(text, values.tolist()))
        per_line = max(1, math.floor((OPTIONS["linewidth"] - indent) / (width + 2)))
        lines = [", ".join(items[k:k + per_line]) for k in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    n = len(values)
    rows = range(n) if not (summarize and n > 2 * edge) else [*range(edge), None, *range(n - edge, n)]
    parts = ["..." if k is None else _nested(values[k], indent + 1, summarize, text, width) for k in rows]
    return "[" + ("," + "\n" * (values.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def with_suffixes(body: str, suffixes: list[str]) -> str:
    """``tensor(body, suffix, …)``: each suffix after a comma, or on a line of its own (indented under the
    body) where it would pass the line width, as PyTorch's ``_add_suffixes``."""
    text, indent = PREFIX + body, len(PREFIX)
    parts, last_line = [text], len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > OPTIONS["linewidth"]:
            parts.append(",\n" + " " * indent + suffix)
            last_line = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line += len(suffix) + 2
    return "".join(parts) + ")"
