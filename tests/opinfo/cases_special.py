"""Cases of the special functions: erfc, lgamma, digamma, polygamma (orders 1–3, function and method), i0 —
over negative non-integers, small and large arguments; gradients are the next function of the family."""

from tests.opinfo.spec import Case, arg

F64 = ("float64",)


def unary(name: str, kind: str = "normal", scale: float = 1.0, **options) -> Case:
    """``t.<name>(scale·a)`` over an odd shape."""
    return Case(f"{name}/{kind}/x{scale:g}", lambda t, a: getattr(t, name)(a * scale), [arg(3, 5, kind=kind)],
                **options)


CASES = [
    *(unary(n) for n in ("erfc", "lgamma", "digamma", "i0")),
    *(unary(n, "positive") for n in ("lgamma", "digamma")),
    unary("erfc", scale=4.0),  # out to erfc ≈ 1e-30, where 1 − erf is 0
    unary("lgamma", scale=8.0),  # both recurrences, Stirling's series and the reflection
    unary("digamma", scale=8.0),
    unary("i0", scale=15.0, dtypes=F64),  # the power series and Hankel's expansion
    *(Case(f"polygamma/{n}", lambda t, a, n=n: t.polygamma(n, a * 3), [arg(3, 5)]) for n in (1, 2, 3)),
    Case("polygamma/method", lambda t, a: a.polygamma(2), [arg(4, kind="positive")]),
    Case("polygamma/0-is-digamma", lambda t, a: t.polygamma(0, a), [arg(4, kind="nonzero")]),
    Case("lgamma/0-d", lambda t, a: t.lgamma(a), [arg((), kind="positive")]),
]
