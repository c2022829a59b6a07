"""``symnet.nn.utils``, as ``torch.nn.utils``: gradient clipping, a model's parameters as one flat vector, the
padding of variable-length sequences (``rnn``), parametrizations (``parametrize``, ``parametrizations``), the
older weight normalization and the folding of a BatchNorm into the layer before it (``fusion``)."""

from . import fusion, parametrizations, parametrize, rnn, stateless
from .clip_grad import clip_grad_norm, clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm
from .convert_parameters import parameters_to_vector, vector_to_parameters
from .fusion import fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval, fuse_linear_bn_weights
from .init import skip_init
from .weight_norm import remove_weight_norm, weight_norm

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "fuse_conv_bn_eval",
           "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights", "fusion", "get_total_norm",
           "parameters_to_vector", "parametrizations", "parametrize", "remove_weight_norm", "rnn", "skip_init",
           "stateless", "vector_to_parameters", "weight_norm"]
