"""codegen: tensor-expression definitions in, native CPU callables out (llvmlite).

It knows nothing about neural networks and depends on symnet's IR (``symnet.core.ir``), error types and lazy SymPy
(``symnet.core.lazy``) only: ``compile_graph(graph, repeat=None)`` takes an IR ``Graph`` and returns a
``CompiledGraph`` whose ``call`` runs every definition in one native call, and whose ``repeat`` runs it many times
(the driver). Pipeline: ``loops`` (schedules) → ``emit`` (LLVM IR, with ``gemm`` and ``mathlib``; ``driver`` for the
repeat) → ``jit`` (O3, MCJIT) with ``cache`` (objects on disk); ``parts`` splits large kernels across ``pool``'s
threads.
"""

from .jit import host_fingerprint
from .pool import get_num_threads, set_num_threads
from .runtime import CompiledGraph

compile_graph = CompiledGraph

__all__ = ["CompiledGraph", "compile_graph", "get_num_threads", "host_fingerprint", "set_num_threads"]
