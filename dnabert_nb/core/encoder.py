"""BERT encoder passes that compute only what the caller needs.

``predict`` reads only the [CLS] vector of the last layer, and DNABERT-viz reads only
the [CLS] query row of one layer's attention. Computing that layer for the [CLS]
query alone skips the other queries' attention and feed-forward work and never
builds a (heads x L x L) attention matrix. A mean-pooled head reads every k-mer
query instead: its attention is the mean of their rows, one layer's matrix only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def supports_cls_pass(network: nn.Module) -> bool:
    """True for BERT encoders whose attention this module reproduces (absolute positions, no decoder)."""
    config = network.config
    return getattr(config, "position_embedding_type", "absolute") == "absolute" and not config.is_decoder


def additive_mask(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(batch, 1, 1, length) mask to add to attention scores: 0 for tokens, a large negative for padding."""
    return ((1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min).to(dtype)


def kmer_token_weights(attention_mask: torch.Tensor) -> torch.Tensor:
    """(batch, length) 1 at k-mer tokens, 0 at [CLS], [SEP] and padding (unpadded inputs: [CLS] k-mers [SEP])."""
    tokens = attention_mask.clone()
    tokens[:, 0] = 0
    tokens[torch.arange(len(tokens)), attention_mask.sum(dim=1) - 1] = 0  # [SEP]
    return tokens


def _heads(linear: nn.Linear, hidden: torch.Tensor, n_heads: int) -> torch.Tensor:
    batch, length, _ = hidden.shape
    return linear(hidden).view(batch, length, n_heads, -1).transpose(1, 2)


def _attention_probabilities(query: torch.Tensor, key: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Scaled dot-product attention probabilities (batch, heads, queries, keys), padding masked."""
    return (query @ key.transpose(-1, -2) * query.shape[-1] ** -0.5 + mask).softmax(dim=-1)


def _finish_layer(layer: nn.Module, context: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
    """Attention output projection, feed-forward block, their dropouts and residual LayerNorms."""
    projected = layer.attention.output.dropout(layer.attention.output.dense(context))
    attended = layer.attention.output.LayerNorm(projected + residual)
    inner = layer.intermediate.intermediate_act_fn(layer.intermediate.dense(attended))
    return layer.output.LayerNorm(layer.output.dropout(layer.output.dense(inner)) + attended)


def layer_forward(layer: nn.Module, hidden: torch.Tensor, mask: torch.Tensor, n_heads: int) -> torch.Tensor:
    """One BERT layer, every position (SDPA attention); dropout applies in training mode."""
    attention = layer.attention.self
    query, key, value = (_heads(lin, hidden, n_heads) for lin in (attention.query, attention.key, attention.value))
    dropout = attention.dropout.p if attention.training else 0.0
    context = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=dropout)
    return _finish_layer(layer, context.transpose(1, 2).flatten(2), hidden)


def cls_layer_forward(
    layer: nn.Module, hidden: torch.Tensor, mask: torch.Tensor, n_heads: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """One BERT layer computed for the [CLS] query only.

    Returns
    -------
    cls_hidden : Tensor (batch, hidden)
        The layer's output at [CLS].
    probabilities : Tensor (batch, heads, length)
        The [CLS] row of the layer's attention probabilities, per head.
    """
    attention = layer.attention.self
    query = _heads(attention.query, hidden[:, :1], n_heads)
    key, value = (_heads(lin, hidden, n_heads) for lin in (attention.key, attention.value))
    probabilities = _attention_probabilities(query, key, mask)
    context = (attention.dropout(probabilities) @ value).transpose(1, 2).flatten(2)
    return _finish_layer(layer, context, hidden[:, :1])[:, 0], probabilities[:, :, 0]


def cls_pass(
    encoder: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor, layer: int = -1
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run a BertModel up to ``layer`` and compute that layer for the [CLS] query only.

    Parameters
    ----------
    encoder
        A transformers ``BertModel`` in eval mode.
    input_ids, attention_mask
        (batch, length) model inputs.
    layer
        Which transformer layer: -1 the last, 0 the first.

    Returns
    -------
    cls_hidden : Tensor (batch, hidden)
    probabilities : Tensor (batch, heads, length)
        As :func:`cls_layer_forward`.
    """
    block, hidden, mask = _input_of_layer(encoder, input_ids, attention_mask, layer)
    return cls_layer_forward(block, hidden, mask, encoder.config.num_attention_heads)


def mean_query_attention(
    encoder: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor, layer: int = -1
) -> torch.Tensor:
    """The attention a mean-pooled head reads in ``layer``: the mean of the k-mer queries' rows, per head.

    The mean of the k-mer tokens' attention outputs is this row's weighting of the values, as the
    [CLS] output is the [CLS] row's; so it plays the [CLS] row's part in DNABERT-viz.

    Parameters
    ----------
    encoder, input_ids, attention_mask, layer
        As :func:`cls_pass`.

    Returns
    -------
    Tensor (batch, heads, length)
        Attention probabilities over the keys, averaged over the k-mer queries.
    """
    block, hidden, mask = _input_of_layer(encoder, input_ids, attention_mask, layer)
    attention, n_heads = block.attention.self, encoder.config.num_attention_heads
    query, key = (_heads(linear, hidden, n_heads) for linear in (attention.query, attention.key))
    probabilities = _attention_probabilities(query, key, mask)
    weights = kmer_token_weights(attention_mask).to(probabilities.dtype)
    summed = (probabilities * weights[:, None, :, None]).sum(dim=2)
    return summed / weights.sum(dim=1).clamp(min=1)[:, None, None]


def _input_of_layer(
    encoder: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor, layer: int
) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """``layer``'s module, its input hidden states (every layer before it run in full) and the additive mask."""
    layers = encoder.encoder.layer
    index = layer % len(layers)
    hidden = encoder.embeddings(input_ids=input_ids)
    mask = additive_mask(attention_mask, hidden.dtype)
    for block in layers[:index]:
        hidden = layer_forward(block, hidden, mask, encoder.config.num_attention_heads)
    return layers[index], hidden, mask
