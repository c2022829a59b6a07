"""Cases of the alias group's new math: scatter_reduce and index_reduce with every reduction (ties among the
``ties`` operands exercise amax/amin's even split, zeros prod's exact gradient), put and fill_diagonal_."""

from tests.opinfo.spec import Case, arg

REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _ints(t, values):
    return t.tensor(values, dtype=t.int64)


#: two index rows with repeats (positions 0 and 2 get several entries, 1 none in some columns)
_SCATTER_INDEX = [[0, 2, 0, 2], [2, 2, 0, 0]]
_INDEX = [0, 2, 0, 2, 3]

CASES = [
    *(Case(f"scatter_reduce/{reduce}/{'self' if include else 'no-self'}{'/ties' * (kind == 'ties')}",
           lambda t, a, s, reduce=reduce, include=include: a.scatter_reduce(0, _ints(t, _SCATTER_INDEX), s, reduce,
                                                                            include_self=include),
           [arg(4, 5, kind=kind), arg(2, 4, kind=kind)], fd=kind == "normal")
      for reduce in REDUCTIONS for include in (True, False)
      for kind in (["normal", "ties"] if reduce in ("amax", "amin") else ["normal"])
      if kind == "normal" or include),
    Case("scatter_reduce/dim1", lambda t, a, s: t.scatter_reduce(a, 1, _ints(t, [[1, 1, 0], [2, 0, 2]]), s, "mean"),
         [arg(3, 4), arg(2, 3)]),
    *(Case(f"index_reduce/{reduce}/{'self' if include else 'no-self'}",
           lambda t, a, s, reduce=reduce, include=include: a.index_reduce(1, _ints(t, _INDEX), s, reduce,
                                                                          include_self=include),
           [arg(3, 4), arg(3, 5)])
      for reduce in ("prod", "mean", "amax", "amin") for include in (True, False)),
    Case("put/duplicates-accumulate", lambda t, a, s: a.put(_ints(t, [[0, 5], [-1, 0]]), s, accumulate=True),
         [arg(2, 3), arg(4)]),
    # put without accumulate: PyTorch's is nondeterministic, refused under the fixtures' deterministic mode
    # (tests/test_aliases.py compares it)
    Case("fill_diagonal_/wrap", lambda t, a: (a * 1).fill_diagonal_(2.5, wrap=True), [arg(7, 3)]),
    Case("fill_diagonal_/cube", lambda t, a: (a * 1).fill_diagonal_(-1.0), [arg(3, 3, 3)]),
]
