"""Tensors printed as PyTorch prints them (``torch/_tensor_str.py``'s rules): four decimals, ``5.`` for whole
floats, scientific notation when magnitudes span more than 10³ (or pass 10⁸, or fall below 10⁻⁴), one width
per tensor, summarized beyond 1000 elements — so a ported script prints the numbers its tutorial shows."""

from __future__ import annotations

import math

import numpy as np

PRECISION, THRESHOLD, EDGE_ITEMS, LINE_WIDTH = 4, 1000, 3, 80


def _float_format(values: np.ndarray):
    """The formatter of one float tensor's elements: all share one mode and one width."""
    finite = values[np.isfinite(values)]
    magnitudes = np.abs(finite[finite != 0]).astype(np.float64)
    whole = bool(np.all(finite == np.ceil(finite)))
    sci = False
    if magnitudes.size:
        low, high = magnitudes.min(), magnitudes.max()
        sci = high / low > 1000 or high > 1e8 or (not whole and low < 1e-4)

    def text(v: float) -> str:
        if sci:
            return f"{v:.{PRECISION}e}"
        if whole:
            return f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
        return f"{v:.{PRECISION}f}"

    shown = values if values.size <= THRESHOLD else _edges(values)
    width = max((len(text(float(v))) for v in shown.flat), default=1)
    return lambda v: text(float(v)).rjust(width)


def _edges(values: np.ndarray) -> np.ndarray:
    """The elements a summarized print shows (the first and last ``EDGE_ITEMS`` along every dimension)."""
    for axis, n in enumerate(values.shape):
        if n > 2 * EDGE_ITEMS:
            keep = np.r_[0:EDGE_ITEMS, n - EDGE_ITEMS:n]
            values = np.take(values, keep, axis=axis)
    return values


def format_values(values: np.ndarray) -> str:
    """The body of ``repr(tensor)``: the elements, bracketed and wrapped as PyTorch does."""
    if values.dtype.kind == "f":
        formatter = {"float_kind": _float_format(values)}
    else:
        formatter = None
    return np.array2string(values, separator=", ", prefix="tensor(", formatter=formatter, threshold=THRESHOLD,
                           edgeitems=EDGE_ITEMS, max_line_width=LINE_WIDTH)
