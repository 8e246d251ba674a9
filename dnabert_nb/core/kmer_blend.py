"""A network blended with k-mer counts: ``share`` of its class probabilities, the rest from a logistic regression on
the k-mer counts of the same window, read from its tokens.

``finetune`` attaches one (``network.kmer_blend``) where such a mean scores higher on valid than the network alone
(:mod:`dnabert_nb.training.blend`). Every verb that runs the model's head (predict, evaluate, scan, variant effects,
mutagenesis, design) goes through :func:`dnabert_nb.core.inference.logits`, which applies it; attention maps, token
contributions and the motifs found from them read the network alone. The regression's weights are buffers of the
network, saved and loaded with it; ``config.kmer_blend`` holds the share and k.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from ..dna.alphabet import NUCLEOTIDES
from ..dna.errors import CheckpointError
from .encoder import kmer_token_weights
from .tokenizer import KmerTokenizer

#: Where ``network.config`` keeps a blend's settings: ``{"share": float, "k": int}``.
CONFIG_KEY = "kmer_blend"
#: The attribute (and state-dict prefix) of the blend on the network.
MODULE_NAME = "kmer_blend"


class KmerBlend(torch.nn.Module):
    """``share`` × the network's class probabilities + (1 − ``share``) × a k-mer count logistic regression's.

    The regression reads the overlapping ``k``-mers of each window (``k`` at most the tokenizer's), computed from the
    window's tokens: a token's first ``k`` letters (``per_token``), and the last token's later ``k``-mers
    (``last_token``). A token that holds a letter other than A, C, G, T ([UNK]) adds no k-mer.

    Parameters
    ----------
    vocab_size, num_labels
        The tokenizer's vocabulary size and the head's number of classes.
    share, k
        The network's share of the probabilities (0 to 1) and the regression's k-mer length.
    """

    def __init__(self, vocab_size: int, num_labels: int, share: float, k: int):
        super().__init__()
        self.share, self.k = float(share), int(k)
        self.register_buffer("per_token", torch.zeros(vocab_size, num_labels))
        self.register_buffer("last_token", torch.zeros(vocab_size, num_labels))
        self.register_buffer("bias", torch.zeros(num_labels))

    def extra_repr(self) -> str:
        return f"share={self.share}, k={self.k}"

    def kmer_logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(batch, classes) fp32 log-odds of the regression on each window's k-mer counts."""
        weights = kmer_token_weights(attention_mask).float()
        counts = torch.zeros(len(input_ids), self.per_token.shape[0], device=input_ids.device)
        counts.scatter_add_(1, input_ids, weights)
        last = input_ids[torch.arange(len(input_ids)), (attention_mask.sum(dim=1) - 2).clamp(min=0)]
        return counts @ self.per_token.float() + self.last_token.float()[last] + self.bias.float()

    def forward(
        self, network_logits: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor:
        """Log class probabilities of the blend (fp32): what a softmax turns into its probabilities."""
        return torch.log(mixed_probabilities(network_logits, self.kmer_logits(input_ids, attention_mask), self.share))


def mixed_probabilities(network_logits: torch.Tensor, kmer_logits: torch.Tensor, share: float) -> torch.Tensor:
    """``share`` × the network's class probabilities + (1 − ``share``) × the regression's, in fp32 and kept above
    1e-12 so that their log stays finite."""
    network = torch.softmax(network_logits.float(), dim=-1)
    counts = torch.softmax(kmer_logits.float(), dim=-1)
    return (share * network + (1 - share) * counts).clamp(min=1e-12)


def kmer_blend(
    tokenizer: KmerTokenizer, kmers: list[str], coefficients: np.ndarray, intercepts: np.ndarray, share: float
) -> KmerBlend:
    """A :class:`KmerBlend` from a logistic regression on k-mer counts.

    Parameters
    ----------
    tokenizer
        The model's tokenizer; the regression's k-mers must be no longer than its k.
    kmers
        The regression's features, one k-mer each (all of one length); others (e.g. with N) are left out.
    coefficients, intercepts
        Shapes (classes, features) and (classes,); one row for two classes (log-odds of the second), as
        scikit-learn's ``LogisticRegression`` keeps them.
    share
        The network's share of the blended probabilities.
    """
    k = len(kmers[0])
    if k > tokenizer.k:
        raise ValueError(f"k-mers of {k} cannot be read from tokens of {tokenizer.k}")
    if len(coefficients) == 1:  # two classes: log-odds of the second
        coefficients, intercepts = np.vstack([np.zeros_like(coefficients), coefficients]), np.r_[0.0, intercepts]
    weight = {kmer: coefficients[:, i] for i, kmer in enumerate(kmers)}
    blend = KmerBlend(tokenizer.vocab_size, len(intercepts), share, k)
    zero = np.zeros(len(intercepts))
    for letters in itertools.product(NUCLEOTIDES, repeat=tokenizer.k):
        token = "".join(letters)
        row = tokenizer.vocab[token]
        blend.per_token[row] = torch.from_numpy(weight.get(token[:k], zero))
        later = [weight.get(token[i : i + k], zero) for i in range(1, tokenizer.k - k + 1)]
        blend.last_token[row] = torch.from_numpy(np.sum(later, axis=0) if later else zero)
    blend.bias[:] = torch.from_numpy(np.asarray(intercepts, dtype=np.float64))
    return blend


def blend_from_config(config: object, where: str) -> KmerBlend | None:
    """An empty :class:`KmerBlend` for a checkpoint whose config has ``kmer_blend`` (its weights load into it);
    None without one. A malformed entry is a :class:`~dnabert_nb.CheckpointError` naming ``where``."""
    settings = getattr(config, CONFIG_KEY, None)
    if settings is None:
        return None
    share, k = (settings.get(key) if isinstance(settings, dict) else None for key in ("share", "k"))
    if not (isinstance(share, (int, float)) and 0 <= share <= 1 and isinstance(k, int) and 1 <= k):
        raise CheckpointError(
            f"config.json in {where!r} has kmer_blend {settings!r}; give {{'share': a number from 0 to 1, 'k': a "
            "k-mer length}, or leave it out. Check that the checkpoint was written by dnabert_nb."
        )
    return KmerBlend(config.vocab_size, config.num_labels, share, k)


def attach(network: torch.nn.Module, blend: KmerBlend | None) -> None:
    """Put ``blend`` on ``network`` (``network.kmer_blend`` and its config), or take any off it with None."""
    if blend is None:
        if hasattr(network, MODULE_NAME):
            delattr(network, MODULE_NAME)
        if hasattr(network.config, CONFIG_KEY):
            delattr(network.config, CONFIG_KEY)
        return
    network.add_module(MODULE_NAME, blend)
    setattr(network.config, CONFIG_KEY, {"share": blend.share, "k": blend.k})


def cast_network(network: torch.nn.Module, dtype: torch.dtype) -> torch.nn.Module:
    """``network.to(dtype)`` with its k-mer blend kept in fp32: its weights are summed over every token of a window,
    where bf16 would move probabilities by about 1e-3."""
    blend = blend_of(network)
    if blend is not None:
        delattr(network, MODULE_NAME)
    network.to(dtype)
    if blend is not None:
        network.add_module(MODULE_NAME, blend)
    return network


def blend_of(network: torch.nn.Module) -> KmerBlend | None:
    """The network's :class:`KmerBlend`, or None."""
    return getattr(network, MODULE_NAME, None)
