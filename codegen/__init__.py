"""codegen: tensor-expression definitions in, native CPU callables out (llvmlite).

It knows nothing about neural networks: ``compile_graph(graph)`` takes a ``symnet.core.ir.Graph`` and returns a
``CompiledGraph`` whose call runs every definition in one native call. Pipeline: ``loops`` (schedules) →
``emit`` (LLVM IR, with ``mathlib`` for vectorizable transcendentals) → ``jit`` (O3, MCJIT) with ``cache``.
"""

from .emit import LoopSpec
from .runtime import CompiledGraph

compile_graph = CompiledGraph

__all__ = ["CompiledGraph", "compile_graph", "LoopSpec"]
