"""One derivation with a symbolic batch size N serves every batch size, the short last batch included."""

import numpy as np
import pytest

import symnet as sn
import symnet.nn.functional as F
from symnet import trace
from symnet.core import autodiff, simplify
from symnet.core.ir import BATCH
from symnet.core.reference import evaluate
from symnet.pipeline import lower


def _position(nodes, tensor):
    return next(p for p, t in enumerate(nodes) if t is tensor)


def mlp_loss(X, Y, W1, b1, W2, b2):
    return F.cross_entropy((X @ W1.T + b1).tanh() @ W2.T + b2, Y)


def make(rng, batch):
    X = sn.tensor(rng.standard_normal((batch, 4)), dtype=sn.float64, name="X")
    Y = sn.tensor(rng.integers(0, 3, batch), name="Y")
    params = [sn.tensor(rng.standard_normal(s) * 0.5, dtype=sn.float64, requires_grad=True, name=n)
              for n, s in [("W1", (5, 4)), ("b1", (5,)), ("W2", (3, 5)), ("b2", (3,))]]
    return X, Y, params


def symbolic_program(X, Y, params):
    """Lower the traced graph with the batch dimension of X and Y replaced by the symbol N."""
    traced = trace([mlp_loss(X, Y, *params)])
    specs, nodes = traced.specs, traced.tensors
    batch_leaves = {id(X), id(Y)}
    specs = tuple(
        s._replace(shape=(BATCH, *s.shape[1:])) if id(t) in batch_leaves else s
        for s, t in zip(specs, nodes, strict=True)
    )
    prog = lower(specs, (len(specs) - 1,))
    forward = simplify.simplify(prog.graph)
    wrt = [prog.names[p] for p, t in enumerate(nodes) if t.requires_grad and t.node is None]
    grad, _ = autodiff.gradient(forward, prog.names[-1], wrt)
    grad.outputs = [prog.names[-1], *grad.outputs]
    return simplify.simplify(grad), prog, nodes


@pytest.mark.parametrize("batch", [1, 3, 7])
def test_symbolic_batch_matches_concrete(batch, rng):
    X0, Y0, params = make(rng, 5)
    graph, prog, nodes = symbolic_program(X0, Y0, params)
    assert any(d.shape and d.shape[0] == BATCH for d in graph.defs)
    X, Y, _ = make(rng, batch)
    arrays = {prog.names[p]: t.numpy() for p, t in enumerate(nodes) if t.node is None}
    arrays[prog.names[_position(nodes, X0)]] = X.numpy()
    arrays[prog.names[_position(nodes, Y0)]] = Y.numpy()
    result = evaluate(graph, arrays)
    loss = mlp_loss(X, Y, *params)
    loss.backward()
    np.testing.assert_allclose(result[graph.outputs[0]], loss.numpy(), rtol=1e-12)
    for out, p in zip(graph.outputs[1:], params, strict=True):
        np.testing.assert_allclose(result[out], p.grad.numpy(), rtol=1e-10, atol=1e-14)
        p.grad = None


def test_batch_sizes_must_agree(rng):
    X0, Y0, params = make(rng, 4)
    graph, prog, nodes = symbolic_program(X0, Y0, params)
    arrays = {prog.names[p]: t.numpy() for p, t in enumerate(nodes) if t.node is None}
    arrays[prog.names[_position(nodes, Y0)]] = np.zeros(3, dtype=np.int64)
    with pytest.raises(sn.ShapeError, match="N is 4 elsewhere but 3 here"):
        evaluate(graph, arrays)
