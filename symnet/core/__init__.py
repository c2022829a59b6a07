"""The core: the tensor-expression IR and everything that only needs the IR — element functions, op
definitions, symbolic differentiation, rewrites and the NumPy reference evaluator. Nothing here knows about
tensors a user holds, training, or native code."""
