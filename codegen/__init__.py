"""codegen: tensor-expression definitions in, native CPU callables out (llvmlite).

It knows nothing about neural networks and depends on symnet's IR (``symnet.core.ir``), error types and lazy SymPy
(``symnet.core.lazy``) only: ``compile_graph(graph, repeat=None)`` takes an IR ``Graph`` and returns a
``CompiledGraph`` whose ``call`` runs every definition in one native call, and whose ``repeat`` runs it many times
(the driver). Pipeline: ``loops`` (schedules) → ``emit`` (LLVM IR, with ``gemm`` and ``mathlib``; ``driver`` for the
repeat) → ``jit`` (O3, MCJIT) with ``cache`` (objects on disk); ``parts`` splits large kernels across ``pool``'s
threads; the pool and the strided GEMM kernels are ``library`` modules, compiled once per host and linked by every
graph.
"""

from llvmlite.ir import values as _llvm_values

# llvmlite fills the table that escapes metadata strings on first use, unlocked: a thread that starts using it
# while another is filling it finds a character missing (KeyError). Fill it now, under the import lock.
_llvm_values._escape_string(b"")

from .jit import host_fingerprint  # noqa: E402
from .pool import get_num_threads, set_num_threads  # noqa: E402
from .runtime import CompiledGraph  # noqa: E402

compile_graph = CompiledGraph

__all__ = ["CompiledGraph", "compile_graph", "get_num_threads", "host_fingerprint", "set_num_threads"]
