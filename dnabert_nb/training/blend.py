"""finetune's model blended with its k-mer baseline: the share of each chosen on valid.

A weighted mean of the model's and the k-mer count regression's class probabilities (the network's share of
:data:`SHARES`, the one that scores best on valid). On TF-binding tasks with genomic backgrounds, k-mer composition
carries signal a small model learns only in part; where it adds nothing the share is 1 and the model is returned as
it is. The blend lives on the network (:mod:`dnabert_nb.core.kmer_blend`), so every verb runs it and it saves and
loads with the model.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from ..core.inference import DEFAULT_BATCH_SIZE, average_windows, head_outputs, run_windows
from ..core.kmer_blend import KmerBlend, attach, blend_of, kmer_blend, mixed_probabilities
from ..core.model import DNABERTModel
from .baseline import KmerBaseline
from .evaluate import EvaluationOutputs, output_scores
from .metrics import LOWER_IS_BETTER
from .targets import LabelledTask

#: The network's shares of the blend tried, from the model alone to the k-mer counts alone; on a tie on valid, the
#: larger share of the model.
SHARES = (1.0, 0.75, 0.5, 0.25, 0.0)
#: Where a kept blend is saved under ``output_dir``.
BLEND_FOLDER = "kmer-blend"


def baseline_blend(model: DNABERTModel, baseline: KmerBaseline, share: float) -> KmerBlend | None:
    """``baseline``'s regression as a :class:`KmerBlend` for ``model``'s tokens; None where its k-mers are longer
    than the tokens."""
    if baseline.k > model.tokenizer.k:
        return None
    counts, regression = baseline.pipeline[0], baseline.pipeline[-1]
    kmers = list(counts.get_feature_names_out())
    return kmer_blend(model.tokenizer, kmers, regression.coef_, regression.intercept_, share).to(model.device)


def blend_outputs(
    model: DNABERTModel, blend: KmerBlend, sequences: list[str], precision: str | None
) -> dict[float, EvaluationOutputs]:
    """The outputs on ``sequences`` of ``model`` blended with ``blend`` at each of :data:`SHARES`, window by
    window as the blended model computes them, from one pass over the windows."""

    def both(network: torch.nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        own = head_outputs(network, input_ids, attention_mask).float()
        return torch.cat([own, blend.kmer_logits(input_ids, attention_mask)], dim=1)

    result = run_windows(
        model,
        sequences,
        both,
        batch_size=DEFAULT_BATCH_SIZE,
        precision=precision,
        window_overlap=None,
        progress=False,
        description="k-mer blend",
    )
    values, n_classes = torch.from_numpy(result.values), len(model.labels)
    outputs = {}
    for share in SHARES:
        mixed = mixed_probabilities(values[:, :n_classes], values[:, n_classes:], share)
        outputs[share] = EvaluationOutputs(
            average_windows(result.windows, mixed.log().numpy(), len(result.ids)),
            average_windows(result.windows, mixed.numpy(), len(result.ids)),
        )
    return outputs


class BlendChoice(NamedTuple):
    """What :func:`choose_blend` chose: the network's ``share``, the blend's ``outputs`` on valid (None at share 1,
    the model as it was) and the ``metric`` on valid at every share tried."""

    share: float
    outputs: EvaluationOutputs | None
    valid_scores: dict[float, float]


def choose_blend(
    model: DNABERTModel, baseline: KmerBaseline, data: LabelledTask, metric: str, precision: str | None
) -> BlendChoice:
    """Blend ``model`` with ``baseline`` at the share of :data:`SHARES` that scores ``metric`` best on ``data``'s valid
    rows: put on its network, with the blend's valid scores as ``.metrics``, where the share is below 1. A model
    already blended, or a baseline with k-mers longer than the model's tokens, is left as it is (share 1)."""
    blend = None if blend_of(model.network) is not None else baseline_blend(model, baseline, 1.0)
    if blend is None:
        return BlendChoice(1.0, None, {})
    sequences, targets = data.evaluation
    outputs = blend_outputs(model, blend, sequences, precision)
    scores = {share: output_scores(data.task, targets, outputs[share], data.names) for share in SHARES}
    sign = -1 if metric in LOWER_IS_BETTER else 1
    share = max(SHARES, key=lambda s: (sign * scores[s][metric], s))
    if share < 1.0:
        blend.share = share
        attach(model.network, blend)
        model.metrics = scores[share]
    return BlendChoice(share, outputs[share] if share < 1.0 else None, {s: scores[s][metric] for s in SHARES})
