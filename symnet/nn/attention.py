"""Attention: ``scaled_dot_product_attention``, ``multi_head_attention_forward`` and ``MultiheadAttention``, with
PyTorch's names, arguments, defaults, mask conventions and initialization.

Every form is the one formula ``softmax(Q·Kᵀ·scale + M)·V`` composed of tensor ops (a batched matmul, an additive
mask, symnet's max-shifted softmax), so its gradients are derived like any other. Two mask conventions meet here,
as in PyTorch: ``scaled_dot_product_attention``'s bool masks say which keys take part (True = attend), the
``MultiheadAttention`` masks which are left out (True = masked); float masks are added to the scores in both.
A query whose mask leaves out every key gives zeros in ``scaled_dot_product_attention`` (PyTorch's safe
softmax), but NaN in the attention weights of ``MultiheadAttention(need_weights=True)``, which takes a plain
softmax — both as PyTorch 2.13 does.
"""

from __future__ import annotations

import math

from ..core.dtypes import bool_, is_float
from ..errors import DTypeError, NotSupportedError, ShapeError
from ..frontend.creation import ones, zeros
from ..frontend.pointwise import where
from ..frontend.shaping import cat
from ..frontend.tensor import Tensor
from . import init
from .dropout import dropout
from .layers import Linear, linear
from .module import Module, Parameter
from .sliding import pad

_NEG_INF = float("-inf")


def _check_qkv(query: Tensor, key: Tensor, value: Tensor) -> None:
    if min(query.dim(), key.dim(), value.dim()) < 2:
        raise ShapeError(f"scaled_dot_product_attention: expected query, key and value to be at least 2-d, got "
                         f"shapes {query.shape}, {key.shape} and {value.shape}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ShapeError(f"scaled_dot_product_attention: query (…, L, E) {query.shape}, key (…, S, E) {key.shape} "
                         f"and value (…, S, Ev) {value.shape} disagree on E or S")


def _grouped_heads(query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor]:
    """Key and value heads repeated so each serves Hq/Hkv query heads (grouped-query attention, dim −3)."""
    if min(query.dim(), key.dim(), value.dim()) < 3:
        raise ShapeError(f"scaled_dot_product_attention: enable_gqa needs heads at dim -3, got shapes "
                         f"{query.shape}, {key.shape} and {value.shape}")
    heads, kv_heads = query.shape[-3], key.shape[-3]
    if kv_heads != value.shape[-3] or heads % kv_heads:
        raise ShapeError(f"scaled_dot_product_attention: number of heads in key ({kv_heads}) and value "
                         f"({value.shape[-3]}) must be equal and divide the number of heads in query ({heads})")
    groups = heads // kv_heads
    return key.repeat_interleave(groups, dim=-3), value.repeat_interleave(groups, dim=-3)


def _masked(scores: Tensor, attn_mask: Tensor) -> Tensor:
    """The scores with a mask applied: a bool mask keeps the scores where True (−∞ elsewhere), a float mask adds."""
    if attn_mask.dtype == bool_:
        return where(attn_mask, scores, _NEG_INF)
    if not is_float(attn_mask.dtype):
        raise DTypeError(f"Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                         f"attn_mask.dtype: {attn_mask.dtype} and query.dtype: {scores.dtype} instead.")
    return scores + attn_mask.to(scores.dtype)


def _attend(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None, dropout_p: float,
            scale: float, safe: bool) -> tuple[Tensor, Tensor]:
    """``(A·V, A)`` with ``A = softmax(Q·Kᵀ·scale + M)`` over keys, dropped out with ``dropout_p``. ``safe``: a row
    whose every score is −∞ gets weights 0 (softmax would give 0/0); its scores are zeroed first so that no NaN
    reaches the gradient either."""
    scores = (query * scale) @ key.transpose(-2, -1)
    if attn_mask is not None:
        scores = _masked(scores, attn_mask)
    if safe:
        excluded = (scores == _NEG_INF).all(-1, keepdim=True)
        weights = where(excluded, 0.0, where(excluded, 0.0, scores).softmax(-1))
    else:
        weights = scores.softmax(-1)
    weights = dropout(weights, dropout_p, training=True)
    return weights @ value, weights


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(Q·Kᵀ/√E + M)·V`` over (…, L, E) queries, (…, S, E) keys and (…, S, Ev) values, the leading
    dims broadcast (``torch.nn.functional.scaled_dot_product_attention``). ``attn_mask``: bool (True = take
    part) or float (added); ``is_causal``: query i sees keys j ≤ i; dropout applies whenever ``dropout_p > 0``.

    >>> q = sn.ones(1, 2, 4)  # doctest: +SKIP
    >>> scaled_dot_product_attention(q, q, q).shape  # doctest: +SKIP
    (1, 2, 4)
    """
    _check_qkv(query, key, value)
    if is_causal and attn_mask is not None:
        raise ValueError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    if enable_gqa:
        key, value = _grouped_heads(query, key, value)
    if is_causal:
        attn_mask = ones(query.shape[-2], key.shape[-2], dtype=bool_).tril()
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    return _attend(query, key, value, attn_mask, dropout_p, scale, safe=True)[0]


def _canonical_mask(mask: Tensor | None, name: str, dtype) -> Tensor | None:
    """A ``MultiheadAttention`` mask as the float mask added to the scores: bool True (left out) becomes −∞."""
    if mask is None or is_float(mask.dtype):
        return mask
    if mask.dtype != bool_:
        raise DTypeError(f"only bool and floating types of {name} are supported, got {mask.dtype}")
    return where(mask, _NEG_INF, zeros(mask.shape, dtype=dtype))


def _check_mha_shapes(query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None,
                      attn_mask: Tensor | None, num_heads: int) -> bool:
    """Whether the inputs are batched (3-d, else 2-d), checked as PyTorch's ``_mha_shape_check``."""
    batched = query.dim() == 3
    if query.dim() not in (2, 3):
        raise ShapeError(f"query should be unbatched 2D or batched 3D tensor but received {query.dim()}-D query "
                         f"tensor")
    if key.dim() != query.dim() or value.dim() != query.dim():
        raise ShapeError(f"For {query.dim()}-D `query`, expected `key` and `value` to be {query.dim()}-D but found "
                         f"{key.dim()}-D and {value.dim()}-D tensors respectively")
    if key_padding_mask is not None and key_padding_mask.dim() != query.dim() - 1:
        raise ShapeError(f"expected `key_padding_mask` to be `None` or {query.dim() - 1}-D but found "
                         f"{key_padding_mask.dim()}-D tensor instead")
    if attn_mask is not None and attn_mask.dim() not in (2, 3):
        raise ShapeError(f"expected `attn_mask` to be `None`, 2-D or 3-D but found {attn_mask.dim()}-D tensor")
    if attn_mask is not None and not batched and attn_mask.dim() == 3:
        expected = (num_heads, query.shape[0], key.shape[0])
        if attn_mask.shape != expected:
            raise ShapeError(f"Expected `attn_mask` shape to be {expected} but got {attn_mask.shape}")
    return batched


def _pad_key(mask: Tensor | None) -> Tensor | None:
    """A float mask with one more key (a 0 column: the appended key takes part)."""
    return None if mask is None else cat([mask, zeros(*mask.shape[:-1], 1, dtype=mask.dtype)], -1)


def _append_key(x: Tensor, row: Tensor | None = None) -> Tensor:
    """(…, T, C) keys with one more, ``row`` (C features at the end of dim −2) or zeros: a zero pad plus ``row``
    broadcast over the leading dims, so a compiled step's symbolic batch dim needs no concrete size."""
    padded = pad(x, (0, 0, 0, 1))
    if row is None:
        return padded
    return padded + cat([zeros(x.shape[-2], x.shape[-1], dtype=row.dtype), row], 0)


def multi_head_attention_forward(
        query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
        in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, bias_k: Tensor | None, bias_v: Tensor | None,
        add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor, out_proj_bias: Tensor | None,
        training: bool = True, key_padding_mask: Tensor | None = None, need_weights: bool = True,
        attn_mask: Tensor | None = None, use_separate_proj_weight: bool = False, q_proj_weight: Tensor | None = None,
        k_proj_weight: Tensor | None = None, v_proj_weight: Tensor | None = None, static_k: Tensor | None = None,
        static_v: Tensor | None = None, average_attn_weights: bool = True, is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention over (L, N, E) queries and (S, N, Ekv) keys and values (or unbatched (L, E)):
    ``out = concat_h(softmax(Q_h·K_hᵀ/√d + M)·V_h)·W_oᵀ + b_o`` with ``Q = query·W_qᵀ + b_q`` etc.
    (``torch.nn.functional.multi_head_attention_forward``). Returns the output and, if ``need_weights``, the
    attention weights (N, L, S) averaged over heads, or (N, H, L, S)."""
    if static_k is not None or static_v is not None:
        raise NotSupportedError("multi_head_attention_forward: static_k and static_v are not supported")
    batched = _check_mha_shapes(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        key_padding_mask = None if key_padding_mask is None else key_padding_mask.unsqueeze(0)
    # batch first inside, as a compiled step's symbolic batch dim is the first
    query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
    tgt_len, embed_dim, src_len = query.shape[1], query.shape[2], key.shape[1]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise ValueError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                         "method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # PyTorch trusts the hint and lets scaled_dot_product_attention build the causal mask
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", query.dtype)
        is_causal = is_causal and key_padding_mask is None
    if embed_dim != embed_dim_to_check:
        raise ShapeError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise ShapeError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if key.shape[:2] != value.shape[:2] or (not use_separate_proj_weight and key.shape != value.shape):
        raise ShapeError(f"key shape {key.shape} does not match value shape {value.shape}")

    if use_separate_proj_weight:
        weights = (q_proj_weight, k_proj_weight, v_proj_weight)
        if any(w is None for w in weights):
            raise ValueError("use_separate_proj_weight is True but q_proj_weight, k_proj_weight or v_proj_weight "
                             "is None")
    else:
        weights = in_proj_weight.chunk(3)
    biases = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
    q, k, v = (linear(x, w, b) for x, w, b in zip((query, key, value), weights, biases, strict=True))

    if attn_mask is not None:
        if attn_mask.dim() == 2 and attn_mask.shape != (tgt_len, src_len):
            raise ShapeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be "
                             f"{(tgt_len, src_len)}.")
        if attn_mask.dim() == 3:
            if attn_mask.shape[1:] != (tgt_len, src_len) or attn_mask.shape[0] != query.shape[0] * num_heads:
                raise ShapeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                                 f"{(query.shape[0] * num_heads, tgt_len, src_len)}.")
            attn_mask = attn_mask.reshape(-1, num_heads, tgt_len, src_len)
    if (bias_k is None) != (bias_v is None):
        raise ValueError("bias_k and bias_v must be given together")
    if bias_k is not None:
        k, v = _append_key(k, bias_k.reshape(1, embed_dim)), _append_key(v, bias_v.reshape(1, embed_dim))
        attn_mask, key_padding_mask = _pad_key(attn_mask), _pad_key(key_padding_mask)
    # (N, T, E) → (N, H, T, d); a reshape keeps a compiled step's symbolic batch N (given as its own size), and
    # is not ambiguous for an empty sequence (as -1 would be)
    q, k, v = (x.reshape(x.shape[0], x.shape[1], num_heads, head_dim).transpose(1, 2) for x in (q, k, v))
    if add_zero_attn:
        k, v = _append_key(k), _append_key(v)
        attn_mask, key_padding_mask = _pad_key(attn_mask), _pad_key(key_padding_mask)
    src_len = k.shape[2]
    if key_padding_mask is not None:
        if key_padding_mask.shape != (k.shape[0], src_len):
            raise ShapeError(f"expecting key_padding_mask shape of {(k.shape[0], src_len)}, but got "
                             f"{key_padding_mask.shape}")
        padding = key_padding_mask.unsqueeze(1).unsqueeze(1)  # (N, 1, 1, S)
        attn_mask = padding if attn_mask is None else attn_mask + padding
    dropout_p = dropout_p if training else 0.0

    if need_weights:
        out, attn = _attend(q, k, v, attn_mask, dropout_p, math.sqrt(1.0 / head_dim), safe=False)
    else:
        out, attn = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal), None
    out = out.transpose(1, 2).reshape(out.shape[0], tgt_len, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).transpose(0, 1)  # (L, N, E)
    if attn is not None and average_attn_weights:
        attn = attn.mean(1)
    if not batched:
        out = out.squeeze(1)
        attn = None if attn is None else attn.squeeze(0)
    return out, attn


class NonDynamicallyQuantizableLinear(Linear):
    """``MultiheadAttention.out_proj``: a Linear under PyTorch's name for it (which shows in ``repr``)."""


class MultiheadAttention(Module):
    """Attention of ``num_heads`` heads of embed_dim/num_heads features each; the projections are
    xavier_uniform, their biases zero, as PyTorch initializes them (``out_proj.weight`` keeps Linear's init)."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device=None, dtype=None):
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and "
                             f"num_heads={num_heads} instead")
        super().__init__()
        self.embed_dim, self.num_heads, self.dropout, self.batch_first = embed_dim, num_heads, dropout, batch_first
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise ValueError("embed_dim must be divisible by num_heads")
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(zeros(3 * embed_dim, embed_dim, dtype=dtype))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(zeros(embed_dim, embed_dim, dtype=dtype))
            self.k_proj_weight = Parameter(zeros(embed_dim, self.kdim, dtype=dtype))
            self.v_proj_weight = Parameter(zeros(embed_dim, self.vdim, dtype=dtype))
            self.register_parameter("in_proj_weight", None)
        self.in_proj_bias = Parameter(zeros(3 * embed_dim, dtype=dtype)) if bias else None
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k = Parameter(zeros(1, 1, embed_dim, dtype=dtype))
            self.bias_v = Parameter(zeros(1, 1, embed_dim, dtype=dtype))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        for w in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
            if w is not None:
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        for b in (self.bias_k, self.bias_v):
            if b is not None:
                init.xavier_normal_(b)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None = None,
                need_weights: bool = True, attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        """(attn_output, attn_weights): the output (L, N, E) — (N, L, E) if ``batch_first`` — and the weights
        (N, L, S), per head (N, H, L, S) unless ``average_attn_weights``, None unless ``need_weights``."""
        batched = query.dim() == 3
        if self.batch_first and batched:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        out, weights = multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight, self.in_proj_bias,
            self.bias_k, self.bias_v, self.add_zero_attn, self.dropout, self.out_proj.weight, self.out_proj.bias,
            training=self.training, key_padding_mask=key_padding_mask, need_weights=need_weights,
            attn_mask=attn_mask, use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight, v_proj_weight=self.v_proj_weight,
            average_attn_weights=average_attn_weights, is_causal=is_causal)
        return (out.transpose(0, 1) if self.batch_first and batched else out), weights
