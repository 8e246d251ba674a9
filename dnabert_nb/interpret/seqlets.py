"""Motifs from seqlets: the stretches of each positive that its scores mark most, grouped by enriched k-mers.

DNABERT's method (:func:`~.motifs.find_motifs`) counts exact repeats of high-scoring regions, and a degenerate
binding site rarely repeats exactly in a few dozen sequences: on the 50 test peaks of ``ctcf_peaks`` a mean-pooled
head's attention puts the CTCF site among the top 5 % of a peak's windows in 74 % of the peaks, yet no region
repeats often enough to pass (BENCHMARKS.md, "Motifs with the default head"). Here, as TF-MoDISco and STREME do
in their ways, the scores only pick the stretches to look at, and inexact sites are pooled around shared k-mers:

1. **Seqlets**: in each positive, windows of ``seqlet`` nt whose score sum is above the
   :data:`SEQLET_QUANTILE` quantile of the negatives' window sums, taken greedily and without overlap.
2. **Seeds**: k-mers (with ``both_strands``, a k-mer and its reverse complement are one) found in more seqlets than
   windows of the same size cut from the negatives would hold: a hypergeometric test, Benjamini–Hochberg adjusted,
   kept below ``pval_cutoff``.
3. **Motifs**: the most significant seed first; every seqlet that holds it and is in no motif yet gives an instance,
   a ``window``-nt stretch of its sequence centred on the seed and read on the seed's strand. A seed with at least
   ``min_instances`` instances becomes a motif, with the PFM of its instances.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..dna.alphabet import reverse_complement
from ..dna.pfm import BASES, site_pfm
from .enrichment import INSTANCE_COLUMNS, enrichment, no_motifs

#: A seqlet's score sum must pass this quantile of the negatives' window sums (a 5 % false-positive rate a window).
SEQLET_QUANTILE = 0.95
#: Motifs returned at most.
MAX_MOTIFS = 10


def window_sums(scores: np.ndarray, width: int) -> np.ndarray:
    """Sums of ``scores`` over every window of ``width`` positions (empty where the scores are shorter)."""
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) < width:  # np.convolve would swap the two and still return a sum
        return np.empty(0)
    return np.convolve(scores, np.ones(width), "valid")


def find_seqlets(scores: Sequence[np.ndarray], width: int, threshold: float) -> list[tuple[int, int]]:
    """``(sequence index, start)`` of every seqlet: the best window above ``threshold``, then the best one not
    overlapping it, and so on, in each sequence."""
    seqlets = []
    for index, score in enumerate(scores):
        sums = window_sums(score, width)
        while len(sums) and sums.max() > threshold:
            start = int(np.argmax(sums))
            seqlets.append((index, start))
            sums[max(0, start - width + 1) : start + width] = -np.inf
    return seqlets


def seqlet_motifs(
    positives: Sequence[str],
    scores: Sequence[np.ndarray],
    negatives: Sequence[str],
    negative_scores: Sequence[np.ndarray],
    *,
    ids: Sequence[object] | None = None,
    window: int = 24,
    seqlet: int = 12,
    k: int = 6,
    pval_cutoff: float = 0.005,
    min_instances: int = 3,
    both_strands: bool = True,
) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """Motifs from the seqlets of ``positives`` (see the module's description).

    Parameters
    ----------
    positives, scores
        The sequences (upper case) and a score a position for each (attention, contributions...).
    negatives, negative_scores
        Background sequences; the scores of some of them (any number) set the seqlets' threshold.
    ids
        Names of the positives in ``instances`` (default: their positions).
    window, seqlet, k, pval_cutoff, min_instances, both_strands
        Instance width, seqlet width, seed length, adjusted p-value cutoff, fewest instances, whether a seed and
        its reverse complement are one.

    Returns
    -------
    motifs, pfms, instances
        As :func:`~.motifs.find_motifs` returns them (``core`` is the seed, ``n_pos`` the seqlets holding it,
        ``n_neg`` the background windows holding it).
    """
    ids = list(range(len(positives))) if ids is None else list(ids)
    background_sums = [window_sums(score, seqlet) for score in negative_scores]
    threshold = float(np.quantile(np.concatenate(background_sums), SEQLET_QUANTILE))
    seqlets = find_seqlets(scores, seqlet, threshold)
    texts = [positives[index][start : start + seqlet] for index, start in seqlets]
    background = [text[i : i + seqlet] for text in negatives for i in range(0, len(text) - seqlet + 1, seqlet // 2)]

    def key(kmer: str) -> str:
        return min(kmer, reverse_complement(kmer)) if both_strands else kmer

    def seeds_in(text: str) -> set[str]:
        return {key(text[i : i + k]) for i in range(len(text) - k + 1) if set(text[i : i + k]) <= set(BASES)}

    in_seqlets, in_background = Counter(), Counter()
    for text in texts:
        in_seqlets.update(seeds_in(text))
    for text in background:
        in_background.update(seeds_in(text))
    candidates = [seed for seed, count in in_seqlets.items() if count >= min_instances]
    if not candidates:
        return no_motifs()
    n_pos = np.array([in_seqlets[seed] for seed in candidates])
    n_neg = np.array([in_background[seed] for seed in candidates])
    p_values, p_adj = enrichment(n_pos, n_neg, len(texts), len(background))
    order = [i for i in np.argsort(p_values, kind="stable") if p_adj[i] < pval_cutoff]
    used: set[int] = set()
    rows, pfms, instance_rows = [], {}, []
    for i in order:
        seed = candidates[i]
        instances = []
        for number, (index, start) in enumerate(seqlets):
            if number in used:
                continue
            placed = place_seed(positives[index], start, seqlet, seed, k, window, both_strands)
            if placed is not None:
                instances.append((number, index, *placed))
        if len(instances) < min_instances:
            continue
        used.update(number for number, *_ in instances)
        motif_id = f"motif_{len(rows) + 1}"
        pfm = pfms[motif_id] = site_pfm([text for *_, text in instances], id=motif_id, name=seed)
        rows.append(
            {
                "id": motif_id,
                "consensus": "".join(pfm.idxmax(axis=1)),
                "core": seed,
                "n_instances": len(instances),
                "n_pos": int(n_pos[i]),
                "n_neg": int(n_neg[i]),
                "p_adj": float(p_adj[i]),
            }
        )
        instance_rows += [
            {"motif": motif_id, "sequence_id": ids[index], "start": first, "end": first + window, "strand": strand}
            | {"sequence": text}
            for _, index, first, strand, text in instances
        ]
        if len(rows) == MAX_MOTIFS:
            break
    if not rows:
        return no_motifs()
    return pd.DataFrame(rows), pfms, pd.DataFrame(instance_rows, columns=INSTANCE_COLUMNS)


def place_seed(
    sequence: str, start: int, seqlet: int, seed: str, k: int, window: int, both_strands: bool
) -> tuple[int, str, str] | None:
    """Where the seqlet at ``start`` holds ``seed``: the ``window``-nt instance centred on it as ``(start, strand,
    text read on the seed's strand)``, or None (no seed there, or the window would leave the sequence)."""
    text = sequence[start : start + seqlet]
    for pattern, strand in ((seed, "+"), (reverse_complement(seed), "-")):
        at = text.find(pattern)
        if at < 0:
            if not both_strands:
                return None
            continue
        first = start + at + k // 2 - window // 2
        if first < 0 or first + window > len(sequence):
            return None
        stretch = sequence[first : first + window]
        return first, strand, stretch if strand == "+" else reverse_complement(stretch)
    return None
