"""Cases of torch's utility functions: grids and block matrices (gradients summed over the copies), rsub,
frexp (gradient 2^−exponent), corrcoef (the clip at ±1 on the diagonal), cumulative_trapezoid, and the eager,
gradient-free ones (gcd, lcm, histogram, the spectral windows) against PyTorch's values."""

from tests.opinfo.spec import Case, arg

EAGER = {"grad": False, "fd": False, "compile": False}


def frexp(t, a):
    """frexp with the exponent as int64 (PyTorch's is int32; symnet has no int32)."""
    mantissa, exponent = t.frexp(a)
    return mantissa, exponent.long()


def window(name: str, length: int, **options) -> Case:
    return Case(f"{name}/{length}/{options}", lambda t, n=length: getattr(t, name)(n, dtype=t.float64, **options),
                [], dtypes=("float64",), **EAGER)


CASES = [
    Case("meshgrid/ij", lambda t, a, b, c: t.meshgrid(a, b, c, indexing="ij"), [arg(2), arg(3), arg(())]),
    Case("meshgrid/xy", lambda t, a, b, c: t.meshgrid([a, b, c], indexing="xy"), [arg(2), arg(3), arg(4)]),
    Case("block_diag", lambda t, a, b, c: t.block_diag(a, b, c), [arg(()), arg(3), arg(2, 2)]),
    Case("row_stack", lambda t, a, b: t.row_stack((a, b)), [arg(3), arg(2, 3)]),
    Case("t/function", lambda t, a: t.t(a), [arg(2, 3)]),
    Case("rsub/alpha", lambda t, a, b: t.rsub(a, b, alpha=2), [arg(2, 3), arg(3)]),
    Case("rsub/number", lambda t, a: t.rsub(a, 1.5), [arg(4)]),
    Case("rsub/int", lambda t, a, b: t.rsub(a, b, alpha=3), [arg(4, kind="int"), arg(4, kind="int")], **EAGER),
    Case("frexp", frexp, [arg(3, 4, kind="big")]),
    Case("frexp/method-small", lambda t, a: frexp(t, a * 1e-30), [arg(5)]),
    Case("corrcoef", lambda t, a: t.corrcoef(a), [arg(3, 6)]),
    Case("corrcoef/method-1d", lambda t, a: a.corrcoef(), [arg(5)]),
    Case("corrcoef/int", lambda t, a: t.corrcoef(a), [arg(2, 5, kind="int")], rtol={"float64": 1e-6},
         **EAGER),  # float32 results

    Case("cumulative_trapezoid/dx", lambda t, a: t.cumulative_trapezoid(a, dx=0.5), [arg(3, 4)]),
    Case("cumulative_trapezoid/x", lambda t, y, x: t.cumulative_trapezoid(y, x, dim=0), [arg(4, 2), arg(4)]),
    Case("cumulative_trapezoid/int", lambda t, y: t.cumulative_trapezoid(y), [arg(5, kind="int")], **EAGER),
    Case("gcd", lambda t, a, b: t.gcd(a, b), [arg(3, 4, kind="int"), arg(4, kind="int")], **EAGER),
    Case("lcm/method", lambda t, a, b: a.lcm(b), [arg(3, 4, kind="int"), arg((), kind="int")], **EAGER),
    Case("gcd/float-refused", lambda t, a, b: t.gcd(a, b), [arg(3), arg(3)], **EAGER),
    Case("histogram/bins", lambda t, a: t.histogram(a, bins=5), [arg(40)], **EAGER),
    Case("histogram/range-weight-density", lambda t, a, w: a.histogram(4, range=(-1.0, 1.0), weight=w, density=True),
         [arg(30), arg(30, kind="positive")], **EAGER),
    Case("histogram/edges", lambda t, a: t.histogram(a, bins=t.tensor([-2.0, -0.5, 0.0, 3.0], dtype=a.dtype)),
         [arg(25)], **EAGER),
    *(window(name, n) for name in ("hann_window", "hamming_window", "blackman_window", "bartlett_window",
                                   "kaiser_window") for n in (0, 1, 7)),
    window("hann_window", 6, periodic=False),
    Case("hamming_window/alpha-beta", lambda t: t.hamming_window(5, True, 0.5, 0.3, dtype=t.float64), [],
         dtypes=("float64",), **EAGER),
    window("kaiser_window", 8, periodic=False, beta=4.0),
    window("bartlett_window", 6, periodic=False),
    window("blackman_window", 10, periodic=False),
]
