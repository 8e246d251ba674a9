"""DNABERT's masked-language-model objective: k-span masking, the masked-only loss, the [CLS] summary term."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from transformers import BertForMaskedLM

from ..core.tokenizer import CLS_ID, MASK_ID, SEP_ID, SPECIAL_TOKENS, UNK_ID

MASK_PROBABILITY = 0.15


def mask_tokens(
    kmer_ids: np.ndarray, rng: np.random.Generator, k: int, vocab_size: int, probability: float = MASK_PROBABILITY
) -> tuple[np.ndarray, np.ndarray]:
    """DNABERT masking: contiguous spans of k k-mers, ~``probability`` of tokens, 80/10/10 replacement.

    Parameters
    ----------
    kmer_ids
        (batch, n_kmers) token ids without specials.
    rng
        Random generator (advanced in place).
    k
        Span length in tokens (the k-mer size: a span of k tokens hides a whole nucleotide).
    vocab_size
        For the random-replacement tokens.

    Returns
    -------
    input_ids : ndarray (batch, n_kmers + 2)
        ``[CLS]`` masked ids ``[SEP]``.
    labels : ndarray (batch, n_kmers + 2)
        The original id at masked positions (not [UNK] ones), -100 elsewhere.
    """
    batch, length = kmer_ids.shape
    start_probability = 1 - (1 - probability) ** (1 / k)  # so that a token is covered with `probability`
    starts = rng.random((batch, length)) < start_probability
    masked = np.zeros_like(starts)
    for shift in range(k):
        masked[:, shift:] |= starts[:, : length - shift]
    labels = np.where(masked & (kmer_ids != UNK_ID), kmer_ids, -100)
    draw = rng.random((batch, length))
    random_ids = rng.integers(len(SPECIAL_TOKENS), vocab_size, size=(batch, length))
    inputs = np.where(masked & (draw < 0.8), MASK_ID, kmer_ids)
    inputs = np.where(masked & (draw >= 0.8) & (draw < 0.9), random_ids, inputs)
    cls, sep, ignore = (np.full((batch, 1), value) for value in (CLS_ID, SEP_ID, -100))
    return np.hstack([cls, inputs, sep]), np.hstack([ignore, labels, ignore])


def masked_lm_step(
    network: BertForMaskedLM, input_ids: torch.Tensor, labels: torch.Tensor, cls_summary: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Loss over masked positions only: the vocabulary-wide decoder runs on those rows alone.

    With ``cls_summary`` > 0 the loss adds that weight times :func:`cls_summary_loss`.

    Returns
    -------
    loss, n_correct, n_masked : Tensors (scalars)
    """
    hidden = network.bert(input_ids=input_ids).last_hidden_state
    chosen = labels != -100
    logits = network.cls(hidden[chosen]).float()
    targets = labels[chosen]
    loss = F.cross_entropy(logits, targets)
    if cls_summary:
        loss = loss + cls_summary * cls_summary_loss(hidden)
    return loss, (logits.argmax(dim=-1) == targets).sum(), chosen.sum()


def cls_summary_loss(hidden: torch.Tensor) -> torch.Tensor:
    """Mean squared distance of each window's [CLS] output from the mean of its k-mer outputs.

    The mean is a fixed target (no gradient): only [CLS] moves towards it. Masked-LM training alone
    never trains [CLS], and a classification head on an untrained [CLS] fine-tunes poorly; this
    term makes [CLS] start as a summary of the whole window. Windows are unpadded: [CLS] k-mers [SEP].
    """
    summary = hidden[:, 1:-1].float().mean(dim=1).detach()
    return F.mse_loss(hidden[:, 0].float(), summary)


class MaskedLMObjective(torch.nn.Module):
    """:func:`masked_lm_step` as a module, so that data-parallel wrappers see its forward pass."""

    def __init__(self, network: BertForMaskedLM, cls_summary: float = 0.0):
        super().__init__()
        self.network = network
        self.cls_summary = cls_summary

    def forward(self, input_ids: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return masked_lm_step(self.network, input_ids, labels, self.cls_summary)
