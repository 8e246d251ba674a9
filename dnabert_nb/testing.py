"""Reference pipeline and checkpoint builders for checking dnabert_nb against DNABERT.

The reference is what DNABERT's own scripts do: space-separated k-mers through
``transformers.BertTokenizer(vocab.txt, do_lower_case=False)`` and a plain
``BertForSequenceClassification`` in fp32. Tests and benchmarks compare against it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import BertConfig, BertForMaskedLM, BertForSequenceClassification, BertTokenizer

from .core.tokenizer import KmerTokenizer

TINY_SIZES = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}


def short_context_config(**fields: object) -> BertConfig:
    """A tiny 4-mer BERT config with 32 positions: one model input holds 33 nt, so short test sequences need
    several windows."""
    return BertConfig(vocab_size=261, max_position_embeddings=32, **{**TINY_SIZES, **fields})


def official_config(k: int, **sizes: int) -> dict:
    """The fields of the official DNABERT-k ``config.json`` (BertForMaskedLM, BERT-base), with ``sizes`` overriding."""
    fields = {
        "architectures": ["BertForMaskedLM"],
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": 768,
        "initializer_range": 0.02,
        "intermediate_size": 3072,
        "max_position_embeddings": 512,
        "num_attention_heads": 12,
        "num_hidden_layers": 12,
        "type_vocab_size": 2,
        "vocab_size": KmerTokenizer(k).vocab_size,
    }
    fields.update(sizes)
    return fields


def write_checkpoint(
    folder: str | os.PathLike,
    config: dict,
    *,
    num_labels: int | None = None,
    seed: int = 0,
    weights: str = "pytorch_model.bin",
    vocab: Sequence[str] | None = None,
) -> Path:
    """Write a randomly initialised checkpoint in the official DNABERT folder format.

    Parameters
    ----------
    folder
        Where to write ``config.json``, ``vocab.txt`` and the weights.
    config
        ``config.json`` fields, e.g. from :func:`official_config`.
    num_labels
        None: a pre-trained masked-LM checkpoint; else a fine-tuned
        ``BertForSequenceClassification`` checkpoint with this many outputs (DNABERT-Prom style).
    seed
        Seed of the random weights.
    weights
        ``"pytorch_model.bin"`` (a torch.save state dict, as the official releases) or ``"model.safetensors"``.
    vocab
        Tokens of ``vocab.txt``; default the official vocabulary for the config's size.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fields = dict(config)
    if num_labels is not None:
        fields["architectures"] = ["BertForSequenceClassification"]
        fields["num_labels"] = num_labels
        fields["finetuning_task"] = "dnaprom"
    torch.manual_seed(seed)
    bert_config = BertConfig.from_dict(fields)
    network = (BertForMaskedLM if num_labels is None else BertForSequenceClassification)(bert_config)
    state = {key: value.contiguous().clone() for key, value in network.state_dict().items()}
    if num_labels is None:  # the official pre-trained checkpoints carry a pooler, as BERT-base did
        hidden = fields["hidden_size"]
        state["bert.pooler.dense.weight"] = torch.randn(hidden, hidden) * fields["initializer_range"]
        state["bert.pooler.dense.bias"] = torch.zeros(hidden)
    (folder / "config.json").write_text(json.dumps(fields, indent=2))
    if vocab is None:
        vocab = KmerTokenizer(KmerTokenizer.k_for_vocab_size(fields["vocab_size"])).tokens
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    if weights == "model.safetensors":
        from safetensors.torch import save_file

        save_file(state, str(folder / weights))
    else:
        torch.save(state, folder / weights)
    return folder


def reference_tokenizer(folder: str | os.PathLike) -> BertTokenizer:
    """DNABERT's tokenizer as its scripts build it: BertTokenizer on the checkpoint's vocab.txt, no lower-casing."""
    return BertTokenizer(str(Path(folder) / "vocab.txt"), do_lower_case=False)


def reference_kmer_text(sequence: str, k: int) -> str:
    """A sequence as DNABERT's data files hold it: uppercase k-mers separated by spaces."""
    sequence = sequence.upper()
    return " ".join(sequence[i : i + k] for i in range(len(sequence) - k + 1))


def reference_predict(
    folder: str | os.PathLike, sequences: Sequence[str], k: int, *, batch_size: int = 32
) -> np.ndarray:
    """Class probabilities from the reference pipeline (fp32, transformers defaults).

    Returns
    -------
    ndarray of float32, shape (n_sequences, num_labels)
    """
    tokenizer = reference_tokenizer(folder)
    network = BertForSequenceClassification.from_pretrained(str(folder)).eval()
    rows = []
    with torch.no_grad():
        for first in range(0, len(sequences), batch_size):
            texts = [reference_kmer_text(s, k) for s in sequences[first : first + batch_size]]
            batch = tokenizer(texts, padding=True, return_tensors="pt")
            rows.append(torch.softmax(network(**batch).logits, dim=-1))
    return torch.cat(rows).numpy()


def tiny_checkpoint(num_labels: int | None = None, *, k: int = 4, seed: int = 0) -> Path:
    """A tiny random DNABERT-k checkpoint (:data:`TINY_SIZES`) in a new temporary folder: for demos and tests.

    ``num_labels`` None gives a pre-trained (masked-LM) checkpoint, else a classifier with that many outputs.
    """
    import tempfile

    config = official_config(k, **TINY_SIZES)
    return write_checkpoint(tempfile.mkdtemp(), config, num_labels=num_labels, seed=seed, weights="model.safetensors")
