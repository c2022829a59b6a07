"""The process-wide switches PyTorch scripts set (deterministic algorithms, float32 matmul precision, inter-op
threads, flush denormal, warn always), ``torch.typename``, ``torch.vmap``, the small Tensor methods every real
tensor answers trivially (``conj``, ``resolve_neg``, ``is_conj``, ``narrow_copy``, the ``unsafe_`` splits,
``addr``), the legacy ``Tensor.new``, ``apply_``/``map_``/``map2_``, layouts and pinned memory — each scenario
on symnet against the values PyTorch 2.13 gave."""

import warnings

import numpy as np
import pytest

import symnet as sn
from tests.scenarios import scenario_tests


def _error(call) -> str:
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - the class and message are the result
        return f"{type(exc).__name__}: {exc}"
    return "no error"


def switches(lib):
    try:
        lib.use_deterministic_algorithms(True, warn_only=True)
        seen = [lib.are_deterministic_algorithms_enabled(), lib.is_deterministic_algorithms_warn_only_enabled(),
                lib.get_deterministic_debug_mode()]
        lib.set_deterministic_debug_mode("error")
        seen += [lib.get_deterministic_debug_mode(), lib.is_deterministic_algorithms_warn_only_enabled()]
        lib.set_deterministic_debug_mode(0)
        seen.append(lib.are_deterministic_algorithms_enabled())
        lib.set_float32_matmul_precision("medium")
        seen.append(lib.get_float32_matmul_precision())
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lib.set_float32_matmul_precision("low")  # a warning, and no change
        seen += [lib.get_float32_matmul_precision(), any("has no effect" in str(w.message) for w in caught)]
        lib.set_warn_always(True)
        seen.append(lib.is_warn_always_enabled())
    finally:
        lib.use_deterministic_algorithms(False)
        lib.set_float32_matmul_precision("highest")
        lib.set_warn_always(False)
    return seen


def refusals(lib):
    return [_error(lambda: lib.use_deterministic_algorithms(1)).split(":")[0],
            _error(lambda: lib.set_deterministic_debug_mode("loud")),
            _error(lambda: lib.set_deterministic_debug_mode(3)),
            _error(lambda: lib.set_num_interop_threads(0))]


def typenames(lib):
    return [lib.typename(o).replace(lib.__name__, "lib") for o in (lib.ones(2), lib.ones(2, dtype=lib.float64), 3,
                                                                   len, [1], lib.zeros(1, dtype=lib.long))]


def trivial_methods(lib):
    x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    return [x.conj() is x, x.conj_physical() is x, lib.resolve_conj(x) is x, x.resolve_neg() is x, x.is_conj(),
            lib.is_neg(x), x.narrow_copy(1, 1, 1).tolist(), [t.tolist() for t in x.unsafe_chunk(2, 1)],
            [t.tolist() for t in lib.unsafe_split(x, 1)], [t.tolist() for t in x.unsafe_split_with_sizes([1, 1])],
            isinstance(x.data_ptr(), int), lib.vmap(lambda v: v * 2)(lib.ones(2, 3)).tolist()]


def outer_product_updates(lib):
    x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    v1, v2 = lib.tensor([1.0, -1.0]), lib.tensor([0.5, 2.0])
    y = x.addr(v1, v2, beta=2, alpha=3)
    y.sum().backward()
    w = lib.zeros(2, 2)
    w.addr_(v1, v2, alpha=2)
    mixed = [lib.addr(lib.ones(2, 2, dtype=a), lib.tensor([1, 2], dtype=b), lib.tensor([3, 4], dtype=c), beta=2,
                      alpha=3) for a, b, c in ((lib.float32, lib.float32, lib.int64), (lib.int64,) * 3,
                                               (lib.int64, lib.float64, lib.float32))]
    return [y.tolist(), x.grad.tolist(), w.tolist(), *[(str(m.dtype).split(".")[-1], m.tolist()) for m in mixed]]


#: scenario: what PyTorch 2.13 gives
PYTORCH = {
    switches: [True, True, 1, 2, False, False, "medium", "medium", True, True],
    refusals: ["TypeError",
               "RuntimeError: invalid value of debug_mode, expected one of `default`, `warn`, `error`, but got loud",
               "RuntimeError: invalid value of debug_mode, expected 0, 1, or 2, but got 3",
               "RuntimeError: set_num_interop_threads expects a positive integer"],
    typenames: ["lib.FloatTensor", "lib.DoubleTensor", "int", "len", "list", "lib.LongTensor"],
    trivial_methods: [True, True, True, True, False, False, [[2.0], [4.0]], [[[1.0], [3.0]], [[2.0], [4.0]]],
                      [[[1.0, 2.0]], [[3.0, 4.0]]], [[[1.0, 2.0]], [[3.0, 4.0]]], True, [[2.0] * 3] * 2],
    outer_product_updates: [[[3.5, 10.0], [4.5, 2.0]], [[2.0, 2.0], [2.0, 2.0]], [[1.0, 4.0], [-1.0, -4.0]],
                            ("float32", [[11.0, 14.0], [20.0, 26.0]]), ("int64", [[11, 14], [20, 26]]),
                            ("float64", [[11.0, 14.0], [20.0, 26.0]])],
}

test_symnet_gives_pytorchs_values, test_the_stored_values_are_pytorchs = scenario_tests(PYTORCH, rtol=0)


def test_flush_denormal_answers_that_symnet_keeps_subnormals():
    assert sn.set_flush_denormal(True) is False and sn.set_flush_denormal(False) is True
    assert sn.tensor([1e-310], dtype=sn.float64).tolist() == [1e-310]


@pytest.mark.parametrize("threads", [1, 3])
def test_interop_threads_are_recorded(threads):
    before = sn.get_num_interop_threads()
    sn.set_num_interop_threads(threads)
    try:
        assert sn.get_num_interop_threads() == threads
    finally:
        sn.set_num_interop_threads(before)


def legacy_new(lib):
    x, whole = lib.ones(2), lib.ones(2, dtype=lib.long)
    out = [(tuple(x.new().shape), str(x.new().dtype).split(".")[-1]), tuple(x.new(2, 3).shape), x.new([1, 2]).tolist(),
           tuple(x.new((2,)).shape), tuple(whole.new(lib.Size([2, 2])).shape)]
    out += [(str(r.dtype).split(".")[-1], r.tolist()) for r in (whole.new([1.5]), whole.new(np.array([1.0, 2.0])))]
    out += [_error(lambda: whole.new(2.5)).split(":")[0], _error(lambda: whole.new(lib.tensor([1.0]))).split(":")[0]]
    t = lib.tensor([1.0, 2.0])
    alias = x.new(t)
    t.mul_(3)
    return [*out, alias is t, alias.tolist()]


PYTORCH_NEW = {legacy_new: [((0,), "float32"), (2, 3), [1.0, 2.0], (1,), (2, 2), ("int64", [1]), ("int64", [1, 2]),
                            "TypeError", "TypeError", False, [3.0, 6.0]]}

test_new_gives_pytorchs_values, test_the_stored_new_values_are_pytorchs = scenario_tests(PYTORCH_NEW, rtol=0)


def test_new_of_a_shape_holds_zeros():
    assert sn.ones(2).new(2, 3).tolist() == [[0.0] * 3] * 2  # PyTorch leaves the memory unset


def python_maps_and_layouts(lib):
    x = lib.tensor([1.0, 2.0, 3.0])
    out = [x.clone().apply_(lambda v: v * 2 + 1).tolist()]
    y = x.clone()
    out += [y.map_(lib.tensor([10.0, 20.0, 30.0]), lambda a, b: a + b) is y, y.tolist()]
    out.append(lib.tensor([1.0, 2.0]).map2_(lib.tensor([1.0, 1.0]), lib.tensor([2.0, 3.0]),
                                             lambda a, b, c: a * b + c).tolist())
    out += [lib.tensor([1, 2]).apply_(lambda v: v * 1.7).tolist(), lib.tensor([]).apply_(lambda v: v).tolist(),
            lib.tensor([[1.0], [2.0]]).map_(lib.tensor([5.0]), lambda a, b: a * b).tolist()]
    v = lib.tensor([1.0, 2.0, 3.0])
    v[1:].apply_(lambda a: -a)  # through a view, into its base
    out.append(v.tolist())
    out += [_error(lambda: lib.tensor([1.0], requires_grad=True).apply_(abs)), _error(x.pin_memory),
            _error(lambda: lib.zeros(2, pin_memory=True))]
    return [*out, x.is_pinned(), x.layout == lib.strided, lib.zeros(2, layout=lib.strided).tolist()]


PYTORCH_MAPS = {python_maps_and_layouts: [
    [3.0, 5.0, 7.0], True, [11.0, 22.0, 33.0], [3.0, 5.0], [1, 3], [], [[5.0], [10.0]], [1.0, -2.0, -3.0],
    "RuntimeError: Can't call apply_() on Variable that requires grad. Use var.detach().apply_() instead.",
    "RuntimeError: Cannot access accelerator device when none is available.",
    "RuntimeError: pin_memory=True requires a CUDA or other accelerator backend; no pinned memory allocator is "
    "available on this system.", False, True, [0.0, 0.0]]}

test_maps_give_pytorchs_values, test_the_stored_map_values_are_pytorchs = scenario_tests(PYTORCH_MAPS, rtol=0)


def test_a_sparse_layout_is_refused_by_name():
    with pytest.raises(sn.NotSupportedError, match="sparse layouts are not supported"):
        sn.zeros(2, layout=sn.sparse_coo)
