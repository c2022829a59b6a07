"""Edges an op-by-op probe against PyTorch found: a Python number before a tensor (``torch.add(2, t)``), a number
or anything else where a function takes tensors only, bool operands of fmod and of ``|``, an integer division of
an empty tensor, the median of an empty integer tensor, a 0-d tensor's dims, ``angle``, the ``dtype`` of sums,
means and softmax, ``where`` with a condition alone, ``type(symnet.FloatTensor)``, ``f"{loss:.4f}"``, floats
beyond int64 converted; and bad arguments refused with PyTorch's error class (a RuntimeError where PyTorch raises
one; symnet's errors are ValueErrors and TypeErrors too), never a number. Each scenario runs on symnet and on
PyTorch (where installed) against PyTorch's stored values."""

from __future__ import annotations

from .scenarios import scenario_tests


def result(t) -> list:
    """A tensor as its dtype's name and its values."""
    return [str(t.dtype).split(".")[-1], t.tolist()]


def raised(call, kind: type[Exception]) -> str:
    """Which error ``call`` raised, if it is a ``kind``."""
    try:
        call()
    except kind as error:
        return f"raises {kind.__name__}" + (" (other)" if "other" in str(error) else "")
    return "returned"


def add_number_first(lib):
    ints, floats = lib.tensor([1, 2]), lib.tensor([1.5, -2.0], dtype=lib.float64)
    return [result(lib.add(2, ints)), result(lib.add(2.5, ints)), result(lib.add(True, lib.tensor([True, False]))),
            result(lib.add(2, ints, alpha=3)), result(lib.add(0.1, floats)),
            raised(lambda: lib.add(2, ints, alpha=2.5), RuntimeError)]


def sub_mul_number_first(lib):
    ints, floats = lib.tensor([1, 2]), lib.tensor([1.5, -2.0])
    return [result(lib.sub(2, ints, alpha=2)), result(lib.subtract(2.5, floats)), result(lib.mul(3, floats)),
            result(lib.multiply(True, ints)), raised(lambda: lib.sub(True, lib.tensor([True])), RuntimeError)]


def division_number_first(lib):
    ints, floats = lib.tensor([2, -3, 5]), lib.tensor([3.0, -7.0, 0.5])
    return [result(lib.div(7, ints)), result(lib.divide(1, floats)), result(lib.true_divide(7.5, ints)),
            result(lib.div(7, ints, rounding_mode="floor")), result(lib.div(7, ints, rounding_mode="trunc")),
            result(lib.floor_divide(-7, ints)), result(lib.remainder(-7, ints)), result(lib.remainder(2.5, floats)),
            result(lib.bitwise_and(True, lib.tensor([True, False])))]


def only_tensors_first(lib):
    t = lib.tensor([1.0, 2.0])
    return [raised(lambda: lib.maximum(2, t), TypeError), raised(lambda: lib.atan2(2, t), TypeError),
            raised(lambda: lib.exp(2.0), TypeError), raised(lambda: lib.sum([1.0, 2.0]), TypeError),
            raised(lambda: lib.hypot(2, t), TypeError), raised(lambda: t.flip(), TypeError)]


def logical_functions_take_tensors(lib):
    t = lib.tensor([True, False])
    return [raised(lambda: lib.logical_and(t, True), TypeError), raised(lambda: lib.logical_or(t, 1), TypeError),
            raised(lambda: lib.logical_xor(t, 0.5), TypeError), result(t & True), result(t | False),
            result(False ^ t), result(True | t), result(lib.logical_or(t, lib.tensor(False)))]


def fmod_of_bools(lib):
    flags = lib.tensor([True, False, True])
    return [result(lib.fmod(flags, lib.tensor([1.5, 2.0, -0.75]))), result(lib.fmod(flags, 2.5)),
            result(lib.fmod(lib.tensor([5, -5]), lib.tensor(True))),
            raised(lambda: lib.fmod(flags, lib.tensor(True)), RuntimeError)]


def integer_division_of_nothing(lib):
    empty = lib.tensor([], dtype=lib.int64)
    return [result(lib.remainder(empty, 0)), result(lib.floor_divide(empty, lib.tensor(0))),
            result(lib.fmod(empty, lib.tensor([0]))), result(lib.zeros(2, 0, dtype=lib.int64) % 0),
            raised(lambda: lib.remainder(lib.tensor([1]), 0), RuntimeError)]


def median_of_nothing(lib):
    return [result(lib.median(lib.tensor([], dtype=lib.int64))),
            result(lib.nanmedian(lib.zeros(2, 0, dtype=lib.int64))), result(lib.median(lib.tensor([])))]


def dims_of_a_zero_d_tensor(lib):
    x = lib.tensor(3.0)
    return [result(lib.argsort(x, 0)), result(lib.argsort(x, -1)), raised(lambda: lib.argsort(x, 1), IndexError),
            raised(lambda: lib.sort(x, 1), IndexError), raised(lambda: x.cumsum(-2), IndexError)]


def angle(lib):
    x = lib.tensor([-1.0, 0.0, 2.0, float("nan"), -0.0, float("-inf")], requires_grad=True)
    y = lib.angle(x)
    y.sum().backward()
    return [result(y.detach()), result(x.grad), result(lib.angle(lib.tensor([-3, 0, 4]))),
            result(lib.tensor([True]).angle()), result(lib.tensor([-2.0], dtype=lib.float64).angle())]


def reductions_in_a_dtype(lib):
    ints, x = lib.tensor([[1, 2], [3, 4]]), lib.tensor([0.1, 0.2, float("nan")])
    F = lib.nn.functional
    return [result(lib.sum(ints, dtype=lib.float64)), result(ints.sum(1, dtype=lib.float32)),
            result(ints.mean(dtype=lib.float64)), result(lib.mean(ints, (0, 1), keepdim=True, dtype=lib.float32)),
            result(x.nansum(dtype=lib.float64)), result(x.nanmean(dtype=lib.float64)),
            result(F.softmax(ints.float(), 1, dtype=lib.float64)), result(F.log_softmax(ints, 0, dtype=lib.float32)),
            result(F.softmin(lib.tensor([3, 4]), 0, dtype=lib.float32)), result(ints.softmax(1, lib.float64)),
            raised(lambda: F.softmin(lib.tensor([True, False]), 0, dtype=lib.float32), RuntimeError)]


def where_with_a_condition_alone(lib):
    x = lib.tensor([[0.0, 2.0], [3.0, 0.0]])
    return [[result(t) for t in lib.where(x > 1)], [result(t) for t in lib.where(x)],
            [result(t) for t in lib.where(lib.tensor(True))], result(lib.where(x > 1, x, -1.0))]


def bad_sizes_and_ranges(lib):
    return [raised(lambda: lib.zeros(-1), RuntimeError), raised(lambda: lib.randn(2, -3), RuntimeError),
            raised(lambda: lib.ones((2, -1)), RuntimeError), raised(lambda: lib.eye(-1), RuntimeError),
            raised(lambda: lib.linspace(0, 1, -2), RuntimeError), raised(lambda: lib.randperm(-1), RuntimeError),
            raised(lambda: lib.arange(0, 5, -1), RuntimeError), raised(lambda: lib.arange(5, 0), RuntimeError),
            raised(lambda: lib.arange(0, float("inf")), RuntimeError),
            raised(lambda: lib.arange(0, 5, 0), RuntimeError),
            result(lib.arange(5, 0, -1.5)), result(lib.arange(2, 2)), result(lib.randperm(0))]


def bad_arguments_are_runtime_errors(lib):
    x = lib.zeros(2, 3)
    return [raised(lambda: x + lib.zeros(3, 2), RuntimeError), raised(lambda: x @ x, RuntimeError),
            raised(lambda: x.item(), RuntimeError), raised(lambda: x.chunk(0), RuntimeError),
            raised(lambda: lib.normal(0.0, -1.0, (2,)), RuntimeError),
            raised(lambda: lib.randint(5, 2, (3,)), RuntimeError),
            raised(lambda: lib.nn.functional.one_hot(lib.tensor([3]), 2), RuntimeError),
            raised(lambda: x.clamp(), RuntimeError), raised(lambda: lib.zeros(2).scatter(0, lib.tensor([5]), 1.0),
                                                         RuntimeError),
            raised(lambda: lib.zeros(2, dtype=lib.int64).add_(1.5), RuntimeError),
            raised(lambda: lib.nn.BCELoss()(lib.tensor([0.5]), lib.tensor([2.0])), RuntimeError),
            raised(lambda: lib.nn.BCELoss()(lib.tensor([1.5]), lib.tensor([1.0])), RuntimeError)]


def module_assignments(lib):
    m = lib.nn.Linear(2, 2)
    refused = [raised(lambda: setattr(m, "weight", lib.zeros(2, 2)), TypeError),
               raised(lambda: setattr(lib.nn.Sequential(m), "0", 3), TypeError),
               raised(lambda: m.load_state_dict({}), RuntimeError),
               raised(lambda: m.load_state_dict({**m.state_dict(), "extra": lib.zeros(1)}), RuntimeError)]
    m.weight = lib.nn.Parameter(lib.ones(2, 2))
    m.bias = None
    m.scale = lib.zeros(1)  # a new plain attribute: not a parameter
    return [*refused, sorted(name for name, _ in m.named_parameters()), result(m(lib.ones(1, 2)).detach())]


def legacy_types(lib):
    t = lib.tensor([1, 2])
    return [result(t.type(lib.FloatTensor)), result(t.type("torch.DoubleTensor")),
            result(lib.tensor([1.5, -2.5]).type(lib.LongTensor)), t.type(lib.float64).type()[-12:]]


def python_protocols(lib):
    """A 0-d tensor in an f-string (``f"{loss:.4f}"``), an integer tensor as an index or a range."""
    loss, k = lib.tensor(1.23456), lib.tensor(2)
    return [f"{loss:.4f}", f"{loss:>9.2e}", f"{k:03d}", f"{k}", f"{lib.tensor([1.0, 2.0])}", [10, 20, 30][k],
            list(range(lib.tensor(3))), [1, 2, 3, 4][lib.tensor(1):k], raised(lambda: f"{lib.tensor([1.5]):.2f}",
                                                                             TypeError),
            raised(lambda: [1, 2][lib.tensor(1.0)], TypeError)]


PI = 3.141592653589793
NAN = float("nan")
def out_of_range_conversions_and_zero_strides(lib):
    """A float outside int64 (NaN, ±inf, 1e20) converts to int64's least value, as x86's conversion gives; a
    pooling layer's stride 0 is refused (None means the kernel size, 0 does not)."""
    values = [float("inf"), float("-inf"), float("nan"), 1e20, -1e20, 2.5]
    return [result(lib.tensor(values).long()), result(lib.tensor(values, dtype=lib.float64).long()),
            raised(lambda: lib.nn.MaxPool2d(2, stride=0)(lib.ones(1, 1, 4, 4)), RuntimeError),
            raised(lambda: lib.nn.AvgPool1d(2, stride=0)(lib.ones(1, 1, 4)), RuntimeError),
            list(lib.nn.MaxPool1d(2, stride=None)(lib.ones(1, 1, 4)).shape)]


PYTORCH = {
    add_number_first: [["int64", [3, 4]], ["float32", [3.5, 4.5]], ["bool", [True, True]], ["int64", [5, 8]],
                       ["float64", [1.6, -1.9]], "raises RuntimeError"],
    sub_mul_number_first: [["int64", [0, -2]], ["float32", [1.0, 4.5]], ["float32", [4.5, -6.0]],
                           ["int64", [1, 2]], "raises RuntimeError"],
    division_number_first: [["float32", [3.5, -2.3333332538604736, 1.399999976158142]],
                            ["float32", [0.3333333432674408, -0.1428571492433548, 2.0]],
                            ["float32", [3.75, -2.5, 1.5]], ["int64", [3, -3, 1]], ["int64", [3, -2, 1]],
                            ["int64", [-4, 2, -2]], ["int64", [1, -1, 3]], ["float32", [2.5, -4.5, 0.0]],
                            ["bool", [True, False]]],
    only_tensors_first: ["raises TypeError"] * 6,
    logical_functions_take_tensors: ["raises TypeError (other)"] * 3 + [
        ["bool", [True, False]], ["bool", [True, False]], ["bool", [True, False]], ["bool", [True, True]],
        ["bool", [True, False]]],
    fmod_of_bools: [["float32", [1.0, 0.0, 0.25]], ["float32", [1.0, 0.0, 1.0]], ["int64", [0, 0]],
                    "raises RuntimeError"],
    integer_division_of_nothing: [["int64", []], ["int64", []], ["int64", []], ["int64", [[], []]],
                                  "raises RuntimeError"],
    median_of_nothing: [["int64", -9223372036854775808], ["int64", -9223372036854775808], ["float32", NAN]],
    dims_of_a_zero_d_tensor: [["int64", 0], ["int64", 0], "raises IndexError", "raises IndexError",
                              "raises IndexError"],
    angle: [["float32", [PI, 0.0, 0.0, NAN, 0.0, PI]], ["float32", [0.0] * 6], ["float32", [PI, 0.0, 0.0]],
            ["float32", [0.0]], ["float64", [PI]]],
    reductions_in_a_dtype: [["float64", 10.0], ["float32", [3.0, 7.0]], ["float64", 2.5], ["float32", [[2.5]]],
                            ["float64", 0.30000000000000004], ["float64", 0.15000000000000002],
                            ["float64", [[0.2689414213699951, 0.7310585786300049], [0.2689414213699951,
                                                                                  0.7310585786300049]]],
                            ["float32", [[-2.1269280910491943, -2.1269280910491943],
                                         [-0.12692804634571075, -0.12692804634571075]]],
                            ["float32", [0.7310585975646973, 0.2689414322376251]],
                            ["float64", [[0.2689414213699951, 0.7310585786300049],
                                         [0.2689414213699951, 0.7310585786300049]]], "raises RuntimeError"],
    bad_sizes_and_ranges: ["raises RuntimeError"] * 10 + [["float32", [5.0, 3.5, 2.0, 0.5]], ["int64", []],
                                                          ["int64", []]],
    bad_arguments_are_runtime_errors: ["raises RuntimeError"] * 12,
    module_assignments: ["raises TypeError"] * 2 + ["raises RuntimeError"] * 2 + [["weight"], ["float32", [[2.0,
                                                                                                          2.0]]]],
    legacy_types: [["float32", [1.0, 2.0]], ["float64", [1.0, 2.0]], ["int64", [1, -2]], "DoubleTensor"],
    python_protocols: ["1.2346", " 1.23e+00", "002", "2", "tensor([1., 2.])", 30, [0, 1, 2], [2], "raises TypeError",
                       "raises TypeError"],
    out_of_range_conversions_and_zero_strides: [["int64", [-9223372036854775808] * 5 + [2]]] * 2 + [
        "raises RuntimeError"] * 2 + [[1, 1, 2]],
    where_with_a_condition_alone: [[["int64", [0, 1]], ["int64", [1, 0]]], [["int64", [0, 1]], ["int64", [1, 0]]],
                                   [["int64", [0]]], ["float32", [[-1.0, 2.0], [3.0, -1.0]]]],
}

test_symnet_gives_pytorchs_values, test_the_stored_values_are_pytorchs = scenario_tests(PYTORCH, rtol=1e-6)
