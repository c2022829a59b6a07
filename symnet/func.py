"""``symnet.func``, as ``torch.func``: function transforms that compose (``grad(grad(f))``, ``jacfwd(jacrev(f))``).

A transform calls the function on fresh aliases of its arguments (``clone()`` of a tensor that already
requires grad, so an outer transform still differentiates through them; a detached copy otherwise) and
derives with ``autograd.grad``. Inside another transform (an argument requires grad) it keeps the graph
(``create_graph``): its results are tensors whose graph reaches the arguments, so the next transform out
differentiates them again — symbolically, each order a derived program. At the outermost level the results
are plain values computed by the derived program, as torch.func gives.

``jvp`` and ``jacfwd`` run in forward mode: every definition's directional derivative, derived symbolically
(no transpose, no double reverse). ``vmap`` re-indexes the traced graph over the batch: one program, no Python
loop over samples.

>>> import symnet as sn
>>> from symnet import func
>>> func.grad(func.grad(lambda x: x.sin() * x))(sn.tensor(0.0))
tensor(2.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np

from .core.dtypes import is_float
from .errors import GradError
from .frontend.autograd import assemble, batched, detached, enable_grad
from .frontend.autograd import grad as _grad
from .frontend.autograd import jvp as _forward
from .frontend.tensor import Tensor

Argnums = int | tuple[int, ...]


def _alias(t: Tensor) -> Tensor:
    """A tensor to differentiate by: connected to ``t`` when ``t`` is itself being differentiated."""
    if not isinstance(t, Tensor):
        raise TypeError(f"expected a tensor argument to differentiate by, got {type(t).__name__}")
    return t.clone() if t.requires_grad else t.detach().requires_grad_(True)


def _flatten(tree) -> tuple[list, Callable[[list], object]]:
    """The tensors of a tree of tuples, lists and dicts, and how to rebuild the tree from new ones."""
    if isinstance(tree, Mapping):
        keys = list(tree)
        parts = [_flatten(tree[k]) for k in keys]
    elif isinstance(tree, tuple | list):
        keys = None
        parts = [_flatten(t) for t in tree]
    else:
        return [tree], lambda leaves: leaves[0]
    sizes = [len(p[0]) for p in parts]

    def rebuild(leaves: list):
        items, at = [], 0
        for (_, build), size in zip(parts, sizes, strict=True):
            items.append(build(leaves[at:at + size]))
            at += size
        return dict(zip(keys, items, strict=True)) if keys is not None else type(tree)(items)

    return [t for p in parts for t in p[0]], rebuild


def _select(args: tuple, argnums: Argnums) -> tuple[list, tuple[int, ...]]:
    """The arguments with the differentiated ones (tensors, or trees of them) replaced by aliases, and the
    positions of those."""
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums:
        raise ValueError("argnums must be non-empty")
    for n in nums:
        if not -len(args) <= n < len(args):
            raise ValueError(f"Got argnums={n} but only {len(args)} positional inputs")
    nums = tuple(n % len(args) for n in nums)
    args = list(args)
    for n in nums:
        leaves, rebuild = _flatten(args[n])
        args[n] = rebuild([_alias(t) for t in leaves])
    return args, nums


def _by_argument(args: list, nums: tuple[int, ...], derive: Callable[[list[Tensor]], Sequence]) -> list:
    """``derive`` of the tensors of the differentiated arguments, regrouped as those arguments are."""
    flat = [_flatten(args[n]) for n in nums]
    results = list(derive([t for leaves, _ in flat for t in leaves]))
    grouped, at = [], 0
    for leaves, rebuild in flat:
        grouped.append(rebuild(results[at:at + len(leaves)]))
        at += len(leaves)
    return grouped


def _outermost(args) -> bool:
    """Whether a transform is called from outside any other (no argument is being differentiated)."""
    return not any(t.requires_grad for t in _flatten(args)[0] if isinstance(t, Tensor))


def _plain(outermost: bool, tree):
    """Results at the outermost transform are values; inside another transform they keep their graph."""
    if not outermost:
        return tree
    leaves, rebuild = _flatten(tree)
    tensors = [t for t in leaves if isinstance(t, Tensor)]
    values = iter(detached(tensors))
    return rebuild([next(values) if isinstance(t, Tensor) else t for t in leaves])


def _split_aux(out, has_aux: bool, fn: str):
    if not has_aux:
        return out, None
    if not isinstance(out, tuple | list) or len(out) != 2:
        raise ValueError(f"{fn}(f)(*args): output of function f should be a tuple: (output, aux) if has_aux is True")
    return out[0], out[1]


def _gradients(output: Tensor | Sequence[Tensor], inputs: Sequence[Tensor], cotangents,
               create_graph: bool) -> tuple[Tensor, ...]:
    """∂output/∂inputs (with a graph inside another transform), zeros where an input is unused (as torch.func)."""
    outputs = [output] if isinstance(output, Tensor) else list(output)
    cotangents = [cotangents] if isinstance(cotangents, Tensor) or cotangents is None else list(cotangents)
    live = [k for k, o in enumerate(outputs) if o.requires_grad]
    if not live:
        return tuple(Tensor(np.zeros(t.shape, t.dtype), t.shape, t.dtype) for t in inputs)
    return _grad([outputs[k] for k in live], list(inputs), [cotangents[k] for k in live], create_graph=create_graph,
                 materialize_grads=True)


def grad_and_value(func: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """``f ↦ (x ↦ (∂f/∂x, f(x)))`` for a function with one element (``torch.func.grad_and_value``)."""
    def transformed(*args, **kwargs):
        outermost = _outermost(args)
        with enable_grad():
            args, nums = _select(args, argnums)
            output, aux = _split_aux(func(*args, **kwargs), has_aux, "grad_and_value")
            if not isinstance(output, Tensor) or output.numel() != 1:
                shape = list(output.shape) if isinstance(output, Tensor) else type(output).__name__
                raise GradError(f"grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got {shape}")
            grads = _by_argument(args, nums, lambda leaves: _gradients(output, leaves, None, not outermost))
        grads = grads[0] if isinstance(argnums, int) else tuple(grads)
        value = (output, aux) if has_aux else output
        return _plain(outermost, grads), _plain(outermost, value)

    return transformed


def grad(func: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """``f ↦ ∂f/∂x`` for a function with one element (``torch.func.grad``); with ``has_aux``, ``(∂f/∂x, aux)``."""
    both = grad_and_value(func, argnums, has_aux)

    def transformed(*args, **kwargs):
        grads, value = both(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    return transformed


def vjp(func: Callable, *primals, has_aux: bool = False):
    """``(f(primals), vjp_fn)`` where ``vjp_fn(cotangents)`` is the tuple ``cotangentsᵀ·∂f/∂primals``
    (``torch.func.vjp``)."""
    outermost = _outermost(primals)
    with enable_grad():
        args, _ = _select(primals, tuple(range(len(primals))))
        output, aux = _split_aux(func(*args), has_aux, "vjp")

    def vjp_fn(cotangents):
        with enable_grad():
            return _plain(outermost, _gradients(output, args, cotangents, not outermost))

    value = _plain(outermost, output)
    return (value, vjp_fn, aux) if has_aux else (value, vjp_fn)


def jvp(func: Callable, primals: Sequence[Tensor], tangents: Sequence[Tensor], has_aux: bool = False):
    """``(f(primals), ∂f/∂primals·tangents)`` in forward mode: every definition's directional derivative,
    derived symbolically (``torch.func.jvp``)."""
    if not isinstance(primals, tuple | list) or not isinstance(tangents, tuple | list):
        raise ValueError("jvp(f, primals, tangents): Expected primals and tangents to be tuples")
    if len(primals) != len(tangents):
        raise ValueError("jvp(f, primals, tangents): Expected primals and tangents to have the same length")
    outermost = _outermost((*primals, *tangents))
    with enable_grad():
        args, _ = _select(tuple(primals), tuple(range(len(primals))))
        output, aux = _split_aux(func(*args), has_aux, "jvp")
        products = _forward([output] if isinstance(output, Tensor) else list(output), args, list(tangents),
                            create_graph=not outermost)
    products = products[0] if isinstance(output, Tensor) else tuple(products)
    result = (_plain(outermost, output), _plain(outermost, products))
    return (*result, aux) if has_aux else result


def _jacobian_transform(func: Callable, argnums: Argnums, has_aux: bool, name: str,
                        blocks_of: Callable[[list[Tensor], list[Tensor], bool], list[list[Tensor]]]) -> Callable:
    """jacrev or jacfwd: ``blocks_of(outputs, inputs, create_graph)[k][n]`` is ∂output_k/∂input_n."""
    def transformed(*args, **kwargs):
        outermost = _outermost(args)
        with enable_grad():
            args, nums = _select(args, argnums)
            output, aux = _split_aux(func(*args, **kwargs), has_aux, name)
            outputs = [output] if isinstance(output, Tensor) else list(output)
            blocks = blocks_of(outputs, [args[n] for n in nums], not outermost)
        blocks = tuple(b[0] if isinstance(argnums, int) else tuple(b) for b in blocks)
        jac = blocks[0] if isinstance(output, Tensor) else blocks
        return (_plain(outermost, jac), _plain(outermost, aux)) if has_aux else _plain(outermost, jac)

    return transformed


def jacrev(func: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """``f ↦ ∂f/∂x`` of shape ``f(x).shape + x.shape``, one vector-Jacobian product per output element
    (``torch.func.jacrev``)."""
    return _jacobian_transform(func, argnums, has_aux, "jacrev",
                               lambda outputs, inputs, create_graph: [_rows(o, inputs, create_graph) for o in outputs])


def _rows(output: Tensor, inputs: list[Tensor], create_graph: bool) -> list[Tensor]:
    """The blocks ∂output/∂input, each of shape ``output.shape + input.shape``: one vector-Jacobian product per
    output element."""
    rows = []
    for j in range(output.numel()):
        unit = np.zeros(output.numel(), output.dtype)
        unit[j] = 1
        rows.append(_gradients(output, inputs, Tensor(unit.reshape(output.shape), output.shape, output.dtype),
                               create_graph))
    return [assemble([r[n] for r in rows], 0, (*output.shape, *t.shape), t.dtype, create_graph)
            for n, t in enumerate(inputs)]


def jacfwd(func: Callable, argnums: Argnums = 0, has_aux: bool = False, *, randomness: str = "error") -> Callable:
    """``f ↦ ∂f/∂x`` of shape ``f(x).shape + x.shape``, one Jacobian-vector product (forward mode) per input
    element (``torch.func.jacfwd``)."""
    def blocks_of(outputs: list[Tensor], inputs: list[Tensor], create_graph: bool) -> list[list[Tensor]]:
        per_input = [_columns(outputs, t, create_graph) for t in inputs]
        return [list(b) for b in zip(*per_input, strict=True)]

    return _jacobian_transform(func, argnums, has_aux, "jacfwd", blocks_of)


def _columns(outputs: list[Tensor], t: Tensor, create_graph: bool) -> list[Tensor]:
    """The blocks ∂output/∂t for each output, shaped ``output.shape + t.shape``: one derivative along each of
    ``t``'s unit directions."""
    columns = []
    for j in range(t.numel()):
        unit = np.zeros(t.numel(), t.dtype)
        unit[j] = 1
        columns.append(_forward(outputs, [t], [Tensor(unit.reshape(t.shape), t.shape, t.dtype)], create_graph))
    return [assemble([c[k] for c in columns], -1, (*o.shape, *t.shape), o.dtype, create_graph)
            for k, o in enumerate(outputs)]


def hessian(func: Callable, argnums: Argnums = 0) -> Callable:
    """``f ↦ ∂²f/∂x²`` as ``jacfwd(jacrev(f))`` (``torch.func.hessian``)."""
    return jacfwd(jacrev(func, argnums), argnums)


def vmap(func: Callable, in_dims: int | None | tuple = 0, out_dims: int | tuple = 0, randomness: str = "error", *,
         chunk_size: int | None = None) -> Callable:
    """``f ↦ (batch ↦ f applied to each sample)`` (``torch.func.vmap``): ``f`` runs once, on per-sample tensors,
    and its graph is re-indexed over the batch (every definition that depends on a sample gains a batch index),
    so the batch is a loop inside one program, never a Python loop; it composes with the other transforms
    (``vmap(grad(f))`` gives per-sample gradients)."""
    def transformed(*args):
        dims = tuple(in_dims) if isinstance(in_dims, tuple | list) else (in_dims,) * len(args)
        if len(dims) != len(args):
            raise ValueError(f"vmap(f, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with the "
                             f"structure of `inputs`: {len(dims)} in_dims for {len(args)} inputs")
        mapped = [n for n, d in enumerate(dims) if d is not None]
        if not mapped:
            raise ValueError(f"vmap(f, in_dims={in_dims}, ...)(<inputs>): at least one input must be mapped over "
                             "(got in_dims=None for every input)")
        batches = []
        for n in mapped:
            if not isinstance(args[n], Tensor) or not args[n].dim():
                raise ValueError(f"vmap(f, in_dims={in_dims}, ...)(<inputs>): Got in_dim={dims[n]} for an input "
                                 "that is not a Tensor with a dimension to map over")
            batches.append(args[n].movedim(dims[n], 0))
        sizes = sorted({b.shape[0] for b in batches})
        if len(sizes) > 1:
            raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                             f"{sizes} for the mapped dimension")
        samples = [_sample(b) for b in batches]
        args = list(args)
        for n, sample in zip(mapped, samples, strict=True):
            args[n] = sample
        with enable_grad():
            leaves, rebuild = _flatten(func(*args))
        results = batched(leaves, samples, batches)
        outs = out_dims if isinstance(out_dims, tuple | list) else (out_dims,) * len(results)
        return rebuild([r.movedim(0, d) for r, d in zip(results, outs, strict=True)])

    return transformed


def _sample(batch: Tensor) -> Tensor:
    """A per-sample stand-in for a batch (its first row's values), requiring grad where it can, so transforms
    inside ``vmap`` keep their graph back to it."""
    value = np.array(batch._array()[0]) if batch.shape[0] else np.zeros(batch.shape[1:], batch.dtype)
    sample = Tensor(value, value.shape, batch.dtype)
    return sample.requires_grad_(True) if is_float(batch.dtype) else sample


@contextlib.contextmanager
def _swapped(module, tensors: Mapping[str, Tensor]) -> Iterator[None]:
    """``module`` with the parameters and buffers named in ``tensors`` replaced for the block."""
    saved = []
    try:
        for dotted, value in tensors.items():
            owner, _, name = dotted.rpartition(".")
            sub = module.get_submodule(owner) if owner else module
            saved.append((sub, name, getattr(sub, name)))
            object.__setattr__(sub, name, value)  # read by forward, not registered: the registry stays as it was
        yield
    finally:
        for sub, name, value in reversed(saved):
            object.__setattr__(sub, name, value)


def functional_call(module, parameter_and_buffer_dicts: Mapping[str, Tensor] | Sequence[Mapping[str, Tensor]],
                    args=(), kwargs: Mapping | None = None, *, tie_weights: bool = True, strict: bool = False):
    """``module(*args, **kwargs)`` with the given tensors in place of its parameters and buffers, by their
    ``state_dict`` names (``torch.func.functional_call``): a model as a function of its weights."""
    dicts = [parameter_and_buffer_dicts] if isinstance(parameter_and_buffer_dicts, Mapping) \
        else list(parameter_and_buffer_dicts)
    tensors: dict[str, Tensor] = {}
    for d in dicts:
        for key, value in d.items():
            if key in tensors:
                raise ValueError(f"functional_call got multiple values for keys ['{key}'], which are used for "
                                 "both parameters and buffers")
            tensors[key] = value
    known = {name for name, _ in module.named_parameters()} | {name for name, _ in module.named_buffers()}
    unknown = sorted(set(tensors) - known)
    if unknown:
        raise RuntimeError(f"Unexpected key(s): {', '.join(repr(k) for k in unknown)}.")
    if strict and known - set(tensors):
        raise RuntimeError(f"Missing key(s): {', '.join(repr(k) for k in sorted(known - set(tensors)))}.")
    args = args if isinstance(args, tuple) else (args,)
    with _swapped(module, tensors):
        return module(*args, **(kwargs or {}))


__all__ = ["functional_call", "grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp", "vjp", "vmap"]
