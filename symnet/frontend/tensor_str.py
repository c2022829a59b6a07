"""Tensors printed as PyTorch prints them (``torch/_tensor_str.py``'s rules): four decimals, ``5.`` for whole
floats, scientific notation when magnitudes span more than 10³ (or pass 10⁸, or fall below 10⁻⁴), one width
per tensor, summarized beyond 1000 elements — so a ported script prints the numbers its tutorial shows."""

from __future__ import annotations

import math
import sys

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


def _float_format(values: np.ndarray):
    """The formatter of one float tensor's elements, as PyTorch's ``_Formatter``: from the elements shown, the
    nonzero finite ones decide one mode (whole, fixed or scientific) and one width."""
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
    return lambda v: text(float(v)).rjust(width)


def _shown(values: np.ndarray) -> np.ndarray:
    """The elements a print shows: all of them, or a summary's edges beyond the threshold."""
    return values if values.size <= OPTIONS["threshold"] else _edges(values)


def _edges(values: np.ndarray) -> np.ndarray:
    """The elements a summarized print shows (the first and last ``EDGE_ITEMS`` along every dimension)."""
    edge = int(OPTIONS["edgeitems"])
    for axis, n in enumerate(values.shape):
        if n > 2 * edge:
            keep = np.r_[0:edge, n - edge:n]
            values = np.take(values, keep, axis=axis)
    return values


def format_values(values: np.ndarray) -> str:
    """The body of ``repr(tensor)``: the elements, bracketed and wrapped as PyTorch does."""
    if values.dtype.kind == "f":
        formatter = {"float_kind": _float_format(values)}
    elif values.dtype.kind == "b":  # as wide as the widest shown: NumPy pads True for a False it may not show
        width = 4 if _shown(values).all() else 5
        formatter = {"bool": lambda v: str(bool(v)).rjust(width)}
    else:
        formatter = None
    threshold = OPTIONS["threshold"]
    text = np.array2string(values, separator=", ", prefix="tensor(", formatter=formatter,
                           threshold=sys.maxsize if threshold == math.inf else int(threshold),
                           edgeitems=int(OPTIONS["edgeitems"]),
                           # PyTorch fits elements of width + 2 in linewidth − indent; NumPy counts the line's trailing
                           # comma against its limit: one more column wraps the two alike
                           max_line_width=int(OPTIONS["linewidth"]) + 1)
    return text.replace(", ..., ", ",  ..., ")  # PyTorch's row summary: the ellipsis padded as an element
