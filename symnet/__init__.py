"""symnet: a symbolic-differentiation compiler for small neural networks.

>>> import symnet as sn
>>> w = sn.tensor([1.0], requires_grad=True, name="w")
>>> x = sn.tensor([2.0], requires_grad=True, name="x")
>>> y = (x + w) * (w + 1)
>>> y.backward()
>>> w.grad
tensor([5.])
>>> sn.grad(y, w)
x + 2*w + 1
"""

import atexit as _atexit
import gc as _gc
import inspect

import numpy as _np

from . import accelerator, amp, autograd, backend, backends, cuda, data, func, nn, optim, special, testing, utils
from .amp import autocast
from .backend import get_num_threads, set_num_threads
from .checkpoint import load, save
from .core import dtypes as _dtypes
from .core.dtypes import bool_, float32, float64, get_default_dtype, int64, set_default_dtype
from .errors import DimensionError, DTypeError, GradError, IndexRangeError, NotSupportedError, ShapeError, SymnetError
from .errors import no_attribute as _no_attribute
from .export import export
from .frontend import counting as _counting
from .frontend import indexing as _indexing
from .frontend import inplace as _inplace
from .frontend import linalg as _linalg
from .frontend import ordering as _ordering
from .frontend import pointwise as _pointwise
from .frontend import reductions as _reductions
from .frontend import return_types
from .frontend import sampling as _sampling
from .frontend import shaping as _shaping
from .frontend import surface as _surface
from .frontend import utilities as _utilities
from .frontend.autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .frontend.base import method_as_function
from .frontend.creation import (
    BoolTensor,
    DoubleTensor,
    FloatTensor,
    IntTensor,
    LongTensor,
    arange,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    logspace,
    manual_seed,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    tril_indices,
    triu_indices,
    vander,
    zeros,
    zeros_like,
)
from .frontend.device import DeviceError, device, get_default_device, set_default_device, sparse_coo, strided
from .frontend.device import Layout as layout
from .frontend.outputs import with_out
from .frontend.size import Size
from .frontend.tensor import Tensor
from .frontend.trace import Traced
from .frontend.trace import trace as _trace_structure
from .gradcheck import GradcheckReport, check_grads
from .nn import toplevel as _toplevel
from .printing import Formulas, formulas, grad, hessian, show
from .settings import *  # noqa: F403 - torch's process-wide switches
from .settings import __all__ as _settings_all
from .sweep import sweep
from .train import CompiledStep, Objective, compile, objective
from .version import __version__ as __version__  # the package's version, re-exported

vmap = func.vmap  # torch.vmap is torch.func.vmap
float = float32  # noqa: A001 - torch.float
dtype = _np.dtype  # torch.dtype: what the dtypes are (isinstance(x, symnet.dtype))
double = float64
long = int64
bool = bool_  # noqa: A001 - torch.bool
# PyTorch's other dtypes, named so code comparing with them runs; asking for one is a DTypeError naming it
int32, int16, int8, uint8, float16, complex64, complex128 = map(_np.dtype, _dtypes.UNSTORED)
int, short, half, cfloat, cdouble = int32, int16, float16, complex64, complex128  # noqa: A001 - torch's aliases
bfloat16 = _dtypes.bfloat16


# the function form of tensor methods and the groups' own functions, as each method group lists them
_FUNCTIONS, _out_forms = [], {}
for _group in (_pointwise, _reductions, _ordering, _counting, _shaping, _linalg, _indexing, _inplace, _surface,
               _sampling, _utilities):
    for _name in _group.FUNCTIONS:
        globals()[_name] = with_out(method_as_function(_name, number_first=_pointwise.NUMBER_FIRST.get(_name)))
    for _name in _group.PUBLIC:
        _public = getattr(_group, _name)  # an alias (concat, cat) stays the same function
        globals()[_name] = _out_forms.setdefault(_public, with_out(_public)) if inspect.isfunction(_public) else _public
    _FUNCTIONS += [*_group.FUNCTIONS, *_group.PUBLIC]
globals().update(_toplevel.FUNCTIONS)  # torch's top-level forms of torch.nn.functional's functions
_FUNCTIONS += list(_toplevel.FUNCTIONS)

__all__ = [
    "Tensor", "Size",
    "tensor", "from_numpy", "zeros", "ones", "zeros_like", "ones_like", "full", "arange", "linspace",
    "randn", "rand", "manual_seed", "trace", "Traced", "device", "DeviceError", "NotSupportedError", "no_grad",
    "is_grad_enabled", "enable_grad", "set_grad_enabled", "grad", "hessian", "formulas", "func", "special", "export",
    "sweep",
    "Formulas", "show", "check_grads", "GradcheckReport", "backend", "backends", "cuda", "accelerator", "amp",
    "autocast",
    "nn", "optim", "data", "autograd", "utils", "testing", "set_default_device", "get_default_device", "dtype",
    "compile", "CompiledStep", "set_num_threads", "get_num_threads", "return_types",
    "objective", "Objective", "save", "load", "float32", "float64", "int64", "bool_", "float", "double", "long",
    "bool", "get_default_dtype", "set_default_dtype", "SymnetError", "ShapeError", "DimensionError", "DTypeError",
    "IndexRangeError", "GradError", *_FUNCTIONS,
    "empty", "empty_like", "full_like", "eye", "normal", "rand_like", "randn_like", "randint", "randint_like",
    "randperm", "FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "BoolTensor",
    "logspace", "tril_indices", "triu_indices", "vander", "vmap", "layout", "strided", "sparse_coo", *_settings_all,
]


# At exit the interpreter's last collections walk every object alive (numpy's, LLVM's and symnet's modules: ~20 ms
# of a short script's run); frozen first, they are skipped. Python never promises finalizers at exit, and nothing
# is frozen while the program runs.
_atexit.register(_gc.freeze)


def trace(outputs):
    """``torch.trace(matrix)`` for a tensor (the sum of its diagonal); for a list of output tensors, the
    structure the pipeline derives from (the pipeline's first stage)."""
    if isinstance(outputs, Tensor):
        return outputs.trace()
    return _trace_structure(outputs)


def __getattr__(name: str):
    """``symnet.distributions``, imported on first use: ``import symnet`` does not pay for what a program may not
    use (a new process's first step from the disk cache is a measured target)."""
    if name == "distributions":
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise _no_attribute(__name__, name)
