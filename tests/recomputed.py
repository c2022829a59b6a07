"""Comparing a fixture PyTorch recomputes now with the stored one."""

from __future__ import annotations

import numpy as np

#: (rtol, atol) by the precision PyTorch computed in: another CPU's BLAS (or vector width) sums in another
#: order, so PyTorch's own results move in the last bits between machines
TOLERANCE = {"float64": (1e-12, 1e-14), "float32": (1e-5, 1e-6)}


def assert_recomputed(stored, live, key: str) -> None:
    """Equal exactly for integers, booleans and text; floats within the last bits of the precision they were
    computed in (the array's, or float32 when the key names it: a float32 run's losses kept as doubles)."""
    stored, live = np.asarray(stored), np.asarray(live)
    if stored.dtype.kind != "f":
        np.testing.assert_array_equal(stored, live, err_msg=key)
        return
    assert stored.dtype == live.dtype and stored.shape == live.shape, key
    precision = "float32" if stored.dtype != np.float64 or "float32" in key else "float64"
    rtol, atol = TOLERANCE[precision]
    np.testing.assert_allclose(live, stored, rtol=rtol, atol=atol, err_msg=key)
