"""token_contributions: what each k-mer adds to a mean-pooled task head's output, spread to nucleotides.

A mean-pooled head reads ``pooled = mean_i h_i`` of the k-mer tokens' last hidden states (or, for a
``"layers_mean"`` head, of each token's hidden states averaged over every layer or over those its config's
``classifier_layers`` lists). To first order
around ``pooled`` its output ``z`` changes by ``g · (h_i / n)`` for token ``i``, with ``g = ∂z/∂pooled``
(through the pooler's tanh and the classifier), so the tokens' contributions ``g · h_i / n`` add up to
``g · pooled``. It is the mean head's counterpart of the [CLS] row of attention: where the pooled vector
that the head reads comes from, per position and signed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .._docs import shared_docs
from ..core.encoder import kmer_token_weights
from ..core.inference import (
    DEFAULT_BATCH_SIZE,
    WindowOutputs,
    average_windows,
    run_windows,
    to_probabilities,
    token_mean,
    token_vectors,
)
from ..core.model import TOKEN_MEAN_POOLINGS, DNABERTModel, head_pooling
from ..core.predict import target_column
from ..dna.errors import ModelTaskError
from ..io.sequences import SequencesLike
from .attention import window_nucleotide_scores


def _contribution_rows(width: int, task: str):
    """A batch function: per input, the head's outputs, then every output's token contributions (``width`` each).

    For a class, the contribution is to its logit minus the mean logit of all classes (softmax is blind to a
    shift shared by every class); for a label or a regression output, to its own logit or value.
    """

    def contribute(network: torch.nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = token_vectors(network, input_ids, attention_mask).float()
        pooled = token_mean(hidden, attention_mask)
        weights = kmer_token_weights(attention_mask).float()
        shares = weights / weights.sum(dim=1, keepdim=True).clamp(min=1)  # each k-mer's share of the pooled vector
        dense, classifier = network.bert.pooler.dense, network.classifier
        activated = torch.tanh(pooled @ dense.weight.float().T + dense.bias.float())
        outputs = activated @ classifier.weight.float().T + classifier.bias.float()
        directions = classifier.weight.float()  # (outputs, hidden): ∂z/∂activated
        if task == "classification":
            directions = directions - directions.mean(dim=0, keepdim=True)
        # ∂z/∂pooled per input and output: (batch, outputs, hidden)
        gradients = ((1 - activated**2)[:, None, :] * directions[None]) @ dense.weight.float()
        contributions = torch.einsum("bth,boh->bot", hidden, gradients) * shares[:, None, :]
        contributions = torch.nn.functional.pad(contributions, (0, width - contributions.shape[2]))
        return torch.cat([outputs, contributions.flatten(start_dim=1)], dim=1)

    return contribute


def require_mean_head(model: DNABERTModel) -> None:
    """Raise :class:`ModelTaskError` unless ``model`` has a mean-pooled task head."""
    if model.task is None:
        raise ModelTaskError("token_contributions needs a model with a task head; fine-tune one first (dn.finetune).")
    if head_pooling(model.network) not in TOKEN_MEAN_POOLINGS:
        raise ModelTaskError(
            "token_contributions reads a mean-pooled task head (finetune's default); this model's head reads [CLS]: "
            "use dn.attention_scores, which reads the [CLS] row."
        )


@dataclass(frozen=True)
class ContributionRun:
    """One pass of a mean-pooled head over sequences: every output's token contributions, per window.

    ``probabilities`` is each sequence's output averaged over its windows (what ``predict`` reports);
    :meth:`nucleotide_scores` spreads the chosen output's contributions to nucleotides.
    """

    window_outputs: WindowOutputs
    per_output: np.ndarray  # (windows, outputs, tokens)
    probabilities: np.ndarray  # (sequences, outputs)
    k: int

    def nucleotide_scores(self, chosen: np.ndarray) -> list[np.ndarray]:
        """Per-nucleotide contributions to output ``chosen[i]`` of sequence ``i``."""
        per_window = chosen[self.window_outputs.windows.sequence_index]
        token_scores = self.per_output[np.arange(len(self.per_output)), per_window]
        return [s.astype(np.float32) for s in window_nucleotide_scores(self.window_outputs, token_scores, self.k)]


def contribution_run(
    model: DNABERTModel,
    sequences: SequencesLike,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    precision: str | None = None,
    window_overlap: int | None = None,
    progress: bool = True,
) -> ContributionRun:
    """Run a mean-pooled head once over ``sequences``, keeping every output's contributions (see
    :func:`token_contributions`)."""
    require_mean_head(model)
    width = model.tokenizer.max_kmers + 2
    n_outputs = len(model.labels)
    result = run_windows(
        model,
        sequences,
        _contribution_rows(width, model.task),
        batch_size=batch_size,
        precision=precision,
        window_overlap=window_overlap,
        progress=progress,
        description="contributions",
    )
    outputs, per_output = result.values[:, :n_outputs], result.values[:, n_outputs:].reshape(-1, n_outputs, width)
    probabilities = to_probabilities(model.task, outputs.astype(np.float64))
    averaged = average_windows(result.windows, probabilities, len(result.lengths))
    return ContributionRun(result, per_output, averaged, model.k)


@shared_docs
def token_contributions(
    model: DNABERTModel,
    sequences: SequencesLike,
    *,
    target: str | int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    precision: str | None = None,
    window_overlap: int | None = None,
    progress: bool = True,
) -> list[np.ndarray]:
    """How much each position adds to a mean-pooled head's output: the head's view of a sequence.

    Each k-mer token's share of the pooled vector, ``h_i / n``, times the gradient of the target output
    with respect to the pooled vector; each nucleotide gets the mean over the k-mers covering it, and
    windows of a long sequence are averaged where they overlap. For a class the target output is its logit
    minus the mean logit (so, for two classes, half the log-odds), and the contributions of one window
    add up to it to first order. Positive: the position pushes towards the target.

    Parameters
    ----------
    model
        A :class:`DNABERTModel` with a mean-pooled task head (``finetune``'s default).
    {sequences}
    target
        A class name or index (classification, multi-label) or output name (regression). None: the class
        the model predicts for each sequence (regression: the first output).
    {batch_size}
    {precision}
    {window_overlap}
    {progress}

    Returns
    -------
    list of ndarray
        One float32 array per sequence, as long as the sequence (units of the target output).
    """
    require_mean_head(model)
    column = target_column(model, target)
    run = contribution_run(
        model, sequences, batch_size=batch_size, precision=precision, window_overlap=window_overlap, progress=progress
    )
    n_sequences = len(run.probabilities)
    chosen = run.probabilities.argmax(axis=1) if column is None else np.full(n_sequences, column)
    return run.nucleotide_scores(chosen)
