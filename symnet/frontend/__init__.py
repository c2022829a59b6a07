"""The user's side of the pipeline: tensors that record cheap nodes, tracing them into structures, and eager
autograd (backward, no_grad) on top of the pipeline."""
