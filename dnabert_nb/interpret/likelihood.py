"""Variant scores without labels: a pre-trained (masked-LM) model's log-likelihood ratio of the alternative allele.

Every k-mer token that holds a changed nucleotide is masked (DNABERT masks spans of k tokens in pre-training, so
this is the input it learned to fill); the masked input is then the same for both alleles, and one pass gives each
allele's log-probability at those tokens. The score is their sum for the alternative allele less that for the
reference: below zero where the model finds the alternative less likely in its context.
"""

from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import BertForMaskedLM

from ..core.model import DNABERTModel
from ..core.runtime import resolve_precision
from ..core.tokenizer import MASK_ID, pack_inputs
from ..dna.errors import InputFormatError, ModelTaskError

#: What variant_effects and mutagenesis score: the task head's outputs, or a pre-trained model's masked-LM likelihood.
SCORES = ("head", "likelihood")


def check_score(score: str, model: DNABERTModel, verb: str) -> None:
    """Refuse a ``score`` that is not one of :data:`SCORES`, and a model that cannot give it: ``"likelihood"`` needs a
    masked-LM head, ``"head"`` a task head (``verb`` names the caller in the message)."""
    if score not in SCORES:
        raise InputFormatError(f"score = {score!r}; use 'head' (the task head) or 'likelihood' (no labels needed).")
    if score == "likelihood":
        require_masked_lm(model)
    elif model.task is None:
        raise ModelTaskError(
            f"{verb} needs a model with a task head; fine-tune one first (dn.finetune), or score a pre-trained "
            "model's masked-LM likelihood with score='likelihood'."
        )


def require_masked_lm(model: DNABERTModel) -> None:
    """Refuse a model without its masked-LM head, saying which models have one."""
    if not isinstance(model.network, BertForMaskedLM):
        raise ModelTaskError(
            "score='likelihood' reads a pre-trained model's masked-LM head, and this model has "
            f"{'a task head' if model.task else 'no masked-LM head'}; use dn.load() (the embedded model) or an "
            "official pre-trained DNABERT folder, or score='head' with a fine-tuned model."
        )


def masked_llr(
    model: DNABERTModel,
    references: list[str],
    alternatives: list[str],
    offsets: list[int],
    lengths: list[int],
    *,
    batch_size: int,
    precision: str | None,
    progress: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The log-likelihood ratio of each variant's alternative allele, and the stretch the masked tokens cover.

    Parameters
    ----------
    model
        A model with its masked-LM head (:func:`require_masked_lm`).
    references, alternatives
        Each variant's reference and alternative window, of equal length.
    offsets, lengths
        Where the changed nucleotides start in the window (0-based), and how many there are.
    batch_size, precision, progress
        As for :func:`dnabert_nb.predict`.

    Returns
    -------
    tuple of ndarray
        ``llr`` (natural log, alternative less reference, summed over the masked tokens), and the 0-based,
        end-exclusive window coordinates of the nucleotides the masked tokens cover.
    """
    tokenizer, k = model.tokenizer, model.tokenizer.k
    reference_ids, bounds = tokenizer.kmer_ids(references)
    alternative_ids, _ = tokenizer.kmer_ids(alternatives)
    counts = np.diff(bounds)
    first = np.maximum(0, np.asarray(offsets) - k + 1)
    last = np.minimum(counts - 1, np.asarray(offsets) + np.asarray(lengths) - 1)  # inclusive token index
    network = model.inference_network(resolve_precision(precision or model.precision, model.device))
    llr = np.zeros(len(references))
    rows = range(0, len(references), batch_size)
    with torch.inference_mode():
        for start in tqdm(rows, desc="likelihood", unit="batch", disable=not progress, leave=False):
            batch = np.arange(start, min(start + batch_size, len(references)))
            inputs = pack_inputs(reference_ids, bounds[batch], counts[batch])
            input_ids = torch.from_numpy(inputs["input_ids"])
            masked = [(row, token) for row, i in enumerate(batch) for token in range(first[i], last[i] + 1)]
            places = torch.tensor(masked, dtype=torch.long).reshape(-1, 2)
            input_ids[places[:, 0], places[:, 1] + 1] = MASK_ID  # + 1: [CLS] comes first
            hidden = network.bert(
                input_ids=input_ids.to(model.device),
                attention_mask=torch.from_numpy(inputs["attention_mask"]).to(model.device),
            ).last_hidden_state[places[:, 0], places[:, 1] + 1]
            # the masked-LM head in fp32 whatever the encoder's precision: the log-probabilities of thousands of
            # k-mers need more than bf16's three significant digits to tell two alleles apart
            log_p = torch.log_softmax(model.network.cls(hidden.float()), dim=-1).cpu()
            token_at = bounds[batch][places[:, 0].numpy()] + places[:, 1].numpy()
            gain = log_p[torch.arange(len(places)), torch.from_numpy(alternative_ids[token_at].astype(np.int64))]
            loss = log_p[torch.arange(len(places)), torch.from_numpy(reference_ids[token_at].astype(np.int64))]
            np.add.at(llr, batch[places[:, 0].numpy()], (gain - loss).numpy())
    return llr, first, last + k
