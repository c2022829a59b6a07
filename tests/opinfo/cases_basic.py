"""Cases of the ops that predate the table: arithmetic with broadcasting, matmul, reductions, softmax."""

from tests.opinfo.spec import Case, arg

CASES = [
    Case("add/broadcast", lambda t, a, b: a + b, [arg(3, 1), arg(4)]),
    Case("mul/scalar", lambda t, a: a * 2.5 - 1, [arg(2, 3)]),
    Case("div/nonzero", lambda t, a, b: a / b, [arg(2, 3), arg(3, kind="nonzero")]),
    Case("matmul/batched", lambda t, a, b: a @ b, [arg(2, 3, 4), arg(4, 5)]),
    Case("sum/negative-dim", lambda t, a: a.sum(-1), [arg(2, 3, 4)]),
    Case("max/dim-ties", lambda t, a: a.max(1), [arg(3, 5, kind="ties")], fd=False),
    Case("softmax/negative-dim", lambda t, a: t.softmax(a, -1), [arg(2, 5)]),
    Case("logsumexp/big", lambda t, a: t.logsumexp(a, 1), [arg(3, 4, kind="big")], fd=False),
    Case("relu/kinks", lambda t, a: t.relu(a), [arg(6, kind="kinks")], fd=False),
    Case("sum/empty", lambda t, a: a.sum(0), [arg(0, 3)]),
    Case("exp/0-d", lambda t, a: a.exp(), [arg(())]),
    Case("matmul/mixed-dtypes", lambda t, a, b: a @ b, [arg(2, 3), arg(3, dtype="float32")], dtypes=("float64",)),
]
