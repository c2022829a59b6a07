"""codegen: tensor-expression definitions in, native CPU callables out (llvmlite).

It knows nothing about neural networks. Until it lands, symnet runs every graph on its NumPy reference
evaluator (``symnet.reference``), which stays the oracle compiled code is tested against.
"""
