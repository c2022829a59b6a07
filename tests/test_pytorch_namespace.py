"""What PyTorch programs print and begin with runs unchanged: the device lines (no CUDA, MPS or accelerator: symnet
compiles for the host CPU; flags accepted; what needs a CUDA device refused by name), ``torch.Size`` and
``grad_fn``'s names."""

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
