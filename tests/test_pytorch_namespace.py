"""What PyTorch programs print and begin with runs unchanged: the device lines (no CUDA, MPS or accelerator: symnet
compiles for the host CPU; flags accepted; what needs a CUDA device refused by name), ``torch.Size`` and
``grad_fn``'s names."""

import importlib
import importlib.metadata

import pytest

import symnet as sn
import symnet.backends.cudnn as cudnn


def test_the_tutorials_device_choice_picks_the_cpu():
    device = sn.device("cuda" if sn.cuda.is_available() else "cpu")
    assert device == sn.device("cpu")
    chosen = sn.accelerator.current_accelerator().type if sn.accelerator.is_available() else "cpu"
    assert chosen == "cpu"
    mps = "mps" if sn.backends.mps.is_available() else "cpu"
    assert sn.ones(2, device=mps).device == sn.device("cpu")
    assert sn.ones(2).to(sn.accelerator.current_accelerator() or "cpu").device.type == "cpu"


def test_cuda_answers_as_a_cpu_only_pytorch():
    assert (sn.cuda.device_count(), sn.cuda.is_initialized(), sn.cuda.is_bf16_supported()) == (0, False, False)
    assert sn.cuda.manual_seed(0) is None and sn.cuda.manual_seed_all(0) is None
    assert sn.cuda.empty_cache() is None and sn.cuda.memory_allocated() == sn.cuda.max_memory_allocated() == 0
    for needs_a_device in (sn.cuda.synchronize, sn.cuda.current_device, sn.cuda.get_device_name):
        with pytest.raises(sn.DeviceError, match="no CUDA device"):
            needs_a_device()
    assert (sn.accelerator.device_count(), sn.accelerator.current_accelerator(check_available=True)) == (0, None)
    with pytest.raises(sn.DeviceError, match="no accelerator"):
        sn.accelerator.synchronize()


def test_backend_flags_are_settable_and_report_nothing_built(monkeypatch):
    monkeypatch.setattr(cudnn, "benchmark", True)
    monkeypatch.setattr(sn.backends.cudnn, "deterministic", True)
    assert sn.backends.cudnn.benchmark and cudnn.deterministic and not cudnn.is_available()
    assert cudnn.version() is None and not sn.backends.mps.is_built() and not sn.backends.cuda.is_built()
    monkeypatch.setattr(sn.backends.cuda.matmul, "allow_tf32", True)


def test_version_is_the_installed_distributions():
    assert sn.__version__ == importlib.metadata.version("symnet")


def test_size_prints_and_behaves_as_torch_size():
    size = sn.ones(3, 784).size()
    assert repr(size) == "symnet.Size([3, 784])" and size == (3, 784) and size.numel() == 2352
    assert isinstance(size[1:], sn.Size) and size[0] == 3 and sn.Size([2, 3]) == sn.Size((2, 3))
    with pytest.raises(TypeError):
        sn.Size([1.5])
    y = sn.ones(2, requires_grad=True)
    assert repr((y + 1).grad_fn).startswith("<AddBackward0 object at 0x") and (y * y).grad_fn.name() == "MulBackward0"


def test_pytorchs_other_dtypes_are_named_and_asking_for_one_is_refused_by_name():
    assert (sn.int, sn.short, sn.half, sn.cfloat) == (sn.int32, sn.int16, sn.float16, sn.complex64)
    assert sn.ones(2).dtype != sn.int32 and repr(sn.bfloat16) == "symnet.bfloat16"
    for dtype in (sn.int32, sn.uint8, sn.int8, sn.float16, sn.bfloat16, sn.complex128):
        with pytest.raises(sn.DTypeError, match="is not supported"):
            sn.zeros(2, dtype=dtype)
    with pytest.raises(sn.DTypeError, match="stores integers as int64"):
        sn.tensor([1, 2]).to(sn.int32)
    import numpy as np

    assert sn.tensor(np.array([1, 2], np.int32)).dtype == sn.int64  # NumPy data widens: every value kept
    assert (sn.tensor([1, 2]) + np.array([1, 2], np.uint8)).dtype == sn.int64


def test_the_default_device_is_the_cpu_and_only_the_cpu():
    """``torch.set_default_device`` / ``with torch.device(...)`` from PyTorch's device recipe; dtypes are
    ``symnet.dtype`` instances."""
    sn.set_default_device("cpu")
    sn.set_default_device(None)
    assert sn.get_default_device() == sn.device("cpu")
    with sn.device("cpu") as where:
        assert where.type == "cpu" and sn.nn.Linear(2, 2).weight.device == sn.device("cpu")
    for refuse in (lambda: sn.set_default_device("cuda"), lambda: sn.device("cuda:0").__enter__()):
        with pytest.raises(sn.DeviceError, match="CPU only"):
            refuse()
    assert isinstance(sn.float32, sn.dtype) and isinstance(sn.ones(1).dtype, sn.dtype)


#: PyTorch 2.13's messages for the same comparisons (``torch`` renamed)
MISMATCHES = [
    (sn.tensor([1.0, 2.0, 3.0]), sn.tensor([1.0, 2.1, 3.0]), {}, AssertionError,
     "Tensor-likes are not close!\n\nMismatched elements: 1 / 3 (33.3%)\nGreatest absolute difference: "
     "0.09999990463256836 at index (1,) (up to 1e-05 allowed)\nGreatest relative difference: 0.04761900380253792 at "
     "index (1,) (up to 1.3e-06 allowed)"),
    (1.0, 1.1, {}, AssertionError, "Scalars are not close!\n\nExpected 1.1 but got 1.0.\nAbsolute difference: "
     "0.10000000000000009 (up to 1e-07 allowed)\nRelative difference: 0.09090909090909098 (up to 1e-07 allowed)"),
    (sn.tensor([1.0, 2.0]), sn.tensor([1.0, 2.0], dtype=sn.float64), {}, AssertionError,
     "The values for attribute 'dtype' do not match: symnet.float32 != symnet.float64."),
    (sn.tensor([1.0, 2.0]), sn.tensor([1.0, 2.0, 3.0]), {}, AssertionError,
     "The values for attribute 'shape' do not match: symnet.Size([2]) != symnet.Size([3])."),
    (sn.tensor([1.0]), 1.0, {}, TypeError, "No comparison pair was able to handle inputs of type"),
    ([1.0, 2.0], [1.0, 2.5], {}, AssertionError, "Scalars are not close!\n\nExpected 2.5 but got 2.0.\nAbsolute "
     "difference: 0.5 (up to 1e-07 allowed)\nRelative difference: 0.2 (up to 1e-07 allowed)\n\nThe failure occurred "
     "for item [1]"),
    (sn.tensor([1, 2]), sn.tensor([1, 3]), {}, AssertionError, "Tensor-likes are not equal!\n\nMismatched elements: "
     "1 / 2 (50.0%)\nGreatest absolute difference: 1 at index (1,)\n"),
    ({"a": sn.tensor(1.0)}, {"a": sn.tensor(2.0)}, {}, AssertionError, "Scalars are not close!\n\nExpected 2.0 but "
     "got 1.0.\nAbsolute difference: 1.0 (up to 1e-05 allowed)\nRelative difference: 0.5 (up to 1.3e-06 allowed)"
     "\n\nThe failure occurred for item ['a']"),
    (sn.tensor([1.0]), sn.tensor([1.0]), {"rtol": 0.1}, ValueError,
     "Both 'rtol' and 'atol' must be either specified or omitted, but got no atol."),
]


@pytest.mark.parametrize(("actual", "expected", "options", "error", "message"), MISMATCHES)
def test_assert_close_says_what_pytorchs_says(actual, expected, options, error, message):
    with pytest.raises(error) as raised:
        sn.testing.assert_close(actual, expected, **options)
    assert str(raised.value).startswith(message)


def test_assert_close_passes_within_the_dtypes_tolerance():
    sn.testing.assert_close(sn.tensor([1.0, 2.0]), sn.tensor([1.0, 2.0 + 1e-6]))  # float32: atol 1e-5
    sn.testing.assert_close(sn.tensor([float("nan"), 1.0]), sn.tensor([float("nan"), 1.0]), equal_nan=True)
    sn.testing.assert_close({"w": [sn.ones(2), 3]}, {"w": [sn.ones(2), 3]})
    sn.testing.assert_close(sn.tensor([1.0]), sn.tensor([1.5]), rtol=0.0, atol=0.5)
    sn.testing.assert_close(sn.ones(2), sn.ones(2, dtype=sn.float64), check_dtype=False)
    with pytest.raises(AssertionError, match="^custom$"):
        sn.testing.assert_close(1, 2, msg="custom")


@pytest.mark.parametrize("module,name", [("symnet", "fft"), ("symnet.nn", "AdaptiveLogSoftmaxWithLoss"),
                                         ("symnet.optim", "SparseAdam"), ("symnet.distributions", "Dirichlet")])
def test_a_pytorch_name_symnet_lacks_is_an_attribute_error_that_says_so(module, name):
    """``nn.CTCLoss`` and the like: an AttributeError (``hasattr`` stays False) naming PyTorch's feature as not
    supported yet, not the bare one a typo gets."""
    namespace = importlib.import_module(module)
    with pytest.raises(AttributeError, match=f"PyTorch's {name} is not supported by symnet yet"):
        getattr(namespace, name)
    assert not hasattr(namespace, name)
    with pytest.raises(AttributeError, match=r"no attribute 'Typo'$"):
        namespace.Typo  # noqa: B018 - the lookup is the test
