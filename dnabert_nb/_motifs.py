"""attention_motifs: DNABERT's motif discovery from attention, to PFMs matched against JASPAR."""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np
import pandas as pd
from scipy.stats import hypergeom

from ._alphabet import encode_nucleotides
from ._attention import attention_scores
from ._errors import InputFormatError
from ._io import SequencesLike, as_sequence_table
from ._model import DNABERTModel
from ._motif_compare import compare_motifs
from ._pwm import BASES
from ._shuffle import dinucleotide_shuffle


class MotifResult(NamedTuple):
    """What :func:`attention_motifs` found.

    Attributes
    ----------
    motifs : DataFrame
        One row per motif, most significant first.
    pfms : dict
        Motif id → PFM (positions × A C G T counts) of its instance windows.
    instances : DataFrame
        ``motif``, ``sequence_id``, ``start``, ``end`` (0-based, end-exclusive) and ``sequence``
        of each instance window.
    scores : list of ndarray
        The attention scores of the positive sequences.
    """

    motifs: pd.DataFrame
    pfms: dict
    instances: pd.DataFrame
    scores: list


def high_attention_regions(score: np.ndarray, *, min_len: int = 5) -> list[tuple[int, int]]:
    """Runs of positions whose score is above the mean and above 10 × the minimum, at least ``min_len`` long."""
    high = (score > score.mean()) & (score > 10 * score.min())
    edges = np.flatnonzero(np.diff(np.concatenate([[0], high.astype(np.int8), [0]])))
    return [(int(start), int(end)) for start, end in zip(edges[::2], edges[1::2]) if end - start >= min_len]


def count_containing(sequences: Sequence[str], motifs: Sequence[str]) -> np.ndarray:
    """How many sequences contain each motif as an exact substring.

    Vectorised per motif length: every window of that length in every sequence is hashed
    (base 5, in chunks of 20 bases), (sequence, window) pairs are made unique, and the
    motifs are looked up among them; no loop over sequences × motifs.
    """
    motifs = list(motifs)
    counts = np.zeros(len(motifs), dtype=np.int64)
    if not motifs or not len(sequences):
        return counts
    codes, offsets = encode_nucleotides([s.upper() for s in sequences])
    motif_codes, motif_offsets = encode_nucleotides([m.upper() for m in motifs])
    sequence_of = np.repeat(np.arange(len(sequences)), np.diff(offsets))
    lengths = np.diff(motif_offsets)
    for length in np.unique(lengths):
        if length > len(codes):
            continue
        windows = np.lib.stride_tricks.sliding_window_view(codes, length)
        inside = sequence_of[: len(windows)] == sequence_of[length - 1 :]
        hashes, owners = _hash_rows(windows[inside]), sequence_of[: len(windows)][inside]
        chosen = np.flatnonzero(lengths == length)
        wanted = _hash_rows(np.stack([motif_codes[motif_offsets[i] : motif_offsets[i + 1]] for i in chosen]))
        if hashes.shape[1] == 1 and 5.0**length * len(sequences) < 2.0**62:  # one int64 key per (sequence, window)
            distinct = np.unique(hashes[:, 0] * len(sequences) + owners) // len(sequences)
            present, per_key = np.unique(distinct, return_counts=True)
            index = np.minimum(np.searchsorted(present, wanted[:, 0]), len(present) - 1)
            index = np.where(present[index] == wanted[:, 0], index, -1)
        else:
            keys = np.unique(np.column_stack([owners, hashes]), axis=0)[:, 1:]  # each (sequence, window) once
            present, per_key = np.unique(keys, axis=0, return_counts=True)
            index = _find_rows(present, wanted)
        counts[chosen] = np.where(index >= 0, per_key[np.maximum(index, 0)], 0)
    return counts


def _hash_rows(windows: np.ndarray) -> np.ndarray:
    """Exact integer keys for rows of base codes (ambiguous bases kept distinct), 20 bases a column."""
    columns = []
    for first in range(0, windows.shape[1], 20):
        chunk = windows[:, first : first + 20].astype(np.int64)
        columns.append(chunk @ (5 ** np.arange(chunk.shape[1], dtype=np.int64)))
    return np.column_stack(columns)


def _find_rows(table: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Index of each of ``rows`` in ``table`` (sorted unique rows, as np.unique(axis=0) gives), or -1."""
    fields = [("", table.dtype)] * table.shape[1]
    view = np.ascontiguousarray(table).view(fields).ravel()
    query = np.ascontiguousarray(rows).view(fields).ravel()
    position = np.minimum(np.searchsorted(view, query), len(view) - 1)
    return np.where(view[position] == query, position, -1)


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values."""
    n = len(p_values)
    if n == 0:
        return p_values
    order = np.argsort(p_values)
    ranked = p_values[order] * n / np.arange(1, n + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    result = np.empty(n)
    result[order] = np.minimum(adjusted, 1)
    return result


def _shared_run(a: str, b: str) -> tuple[int, int]:
    """Longest exact common substring of ``a`` and ``b``: its length and the offset of ``b`` in ``a``'s frame."""
    best, offset = 0, 0
    for shift in range(-(len(b) - 1), len(a)):
        run = 0
        for i in range(max(0, shift), min(len(a), shift + len(b))):
            run = run + 1 if a[i] == b[i - shift] else 0
            if run > best:
                best, offset = run, shift
    return best, offset


def find_motifs(
    positives: Sequence[str],
    scores: Sequence[np.ndarray],
    negatives: Sequence[str],
    *,
    ids: Sequence[object] | None = None,
    window: int = 24,
    min_len: int = 5,
    pval_cutoff: float = 0.005,
    min_instances: int = 3,
) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """The DNABERT motif algorithm on given attention scores (the model-free part of :func:`attention_motifs`).

    1. High-attention regions of each positive (score > mean and > 10 × min, ≥ ``min_len`` long)
       give candidate motifs (their exact sequences).
    2. Candidates seen fewer than ``min_instances`` times are dropped; the rest are tested for
       enrichment in positives over negatives (hypergeometric, sequences containing the
       candidate), Benjamini–Hochberg adjusted, kept below ``pval_cutoff``.
    3. Candidates sharing an exact run of ≥ ``min_len`` bases are merged (most significant first).
    4. Every instance is widened to a ``window``-base window centred on the merged motif
       (windows leaving the sequence are dropped); motifs with ≥ ``min_instances`` windows are
       kept, each with the PFM of its windows.

    Returns
    -------
    motifs, pfms, instances
        As in :class:`MotifResult` (without the JASPAR columns).
    """
    positives = [s.upper() for s in positives]
    ids = list(range(len(positives))) if ids is None else list(ids)
    found: dict[str, list[tuple[int, int]]] = {}
    for index, (sequence, score) in enumerate(zip(positives, scores)):
        for start, end in high_attention_regions(np.asarray(score), min_len=min_len):
            found.setdefault(sequence[start:end], []).append((index, start))
    candidates = [motif for motif, places in found.items() if len(places) >= min_instances]
    empty = (pd.DataFrame(columns=["id", "consensus", "core", "n_instances", "n_pos", "n_neg", "p_adj"]), {},
             pd.DataFrame(columns=["motif", "sequence_id", "start", "end", "sequence"]))
    if not candidates:
        return empty
    n_pos = count_containing(positives, candidates)
    n_neg = count_containing([s.upper() for s in negatives], candidates)
    total, drawn = len(positives) + len(negatives), n_pos + n_neg
    p_values = hypergeom.sf(n_pos - 1, total, len(positives), drawn)
    p_adj = benjamini_hochberg(p_values)
    keep = np.flatnonzero(p_adj < pval_cutoff)
    order = keep[np.lexsort((-np.array([len(candidates[i]) for i in keep]), p_adj[keep]))]
    groups: list[dict] = []
    for i in order:
        motif = candidates[i]
        for group in groups:
            shared, offset = _shared_run(group["core"], motif)
            if shared >= min_len:
                group["places"] += [(seq, start - offset) for seq, start in found[motif]]
                group["members"].append(i)
                break
        else:
            groups.append({"core": motif, "places": list(found[motif]), "members": [i]})
    rows, pfms, instance_rows = [], {}, []
    for group in groups:
        centre = len(group["core"]) // 2
        windows = []
        for seq, start in sorted(set(group["places"])):
            first = start + centre - window // 2
            if 0 <= first and first + window <= len(positives[seq]):
                windows.append((seq, first, positives[seq][first : first + window]))
        windows = [w for w in windows if set(w[2]) <= set(BASES)]
        if len(windows) < min_instances:
            continue
        motif_id = f"motif_{len(rows) + 1}"
        letters = np.array([list(w[2]) for w in windows])
        pfm = pd.DataFrame({base: (letters == base).sum(axis=0) for base in BASES}).astype(float)
        pfm.index.name = "position"
        pfm.attrs = {"id": motif_id, "name": group["core"]}
        pfms[motif_id] = pfm
        best = min(group["members"], key=lambda m: p_adj[m])
        rows.append({"id": motif_id, "consensus": "".join(pfm.idxmax(axis=1)), "core": group["core"],
                     "n_instances": len(windows), "n_pos": int(n_pos[best]), "n_neg": int(n_neg[best]),
                     "p_adj": float(p_adj[best])})
        instance_rows += [{"motif": motif_id, "sequence_id": ids[seq], "start": first, "end": first + window,
                           "sequence": text} for seq, first, text in windows]
    if not rows:
        return empty
    return pd.DataFrame(rows), pfms, pd.DataFrame(instance_rows)


def attention_motifs(
    model: DNABERTModel,
    positives: SequencesLike,
    negatives: SequencesLike | None = None,
    *,
    window: int = 24,
    min_len: int = 5,
    pval_cutoff: float = 0.005,
    min_instances: int = 3,
    layer: int = -1,
    database: dict[str, pd.DataFrame] | None = None,
    seed: int = 0,
    batch_size: int = 32,
    precision: str | None = None,
    progress: bool = True,
) -> MotifResult:
    """Discover motifs where a (fine-tuned) model attends, the DNABERT way, and match them to JASPAR.

    Parameters
    ----------
    model
        A :class:`DNABERTModel`, usually fine-tuned on positives vs negatives.
    positives
        Sequences of the class of interest (any form :func:`dnabert_nb.predict` accepts).
    negatives
        Background sequences; None uses one seeded dinucleotide shuffle of each positive.
    window, min_len, pval_cutoff, min_instances
        The algorithm's parameters (see :func:`find_motifs`): instance window, shortest
        high-attention region, adjusted p-value cutoff, fewest instances.
    layer
        The attention layer (-1, the last, as in DNABERT-viz).
    database
        Matrix id → PFM to match against; None uses the shipped JASPAR 2026 CORE vertebrates.
    seed, batch_size, precision, progress
        Shuffle seed; as in :func:`dnabert_nb.predict`.

    Returns
    -------
    MotifResult
        ``motifs`` (``id``, ``consensus``, ``core``, ``n_instances``, ``n_pos``, ``n_neg``,
        ``p_adj``, ``best_match``, ``best_match_id``, ``match_score``, ``match_p_value``), ``pfms``,
        ``instances``, ``scores``.
    """
    table = as_sequence_table(positives)
    if negatives is None:
        rng = np.random.default_rng(seed)
        background = [dinucleotide_shuffle(s.upper(), rng) for s in table.sequences]
    else:
        background = as_sequence_table(negatives).sequences
    if not table.sequences or not background:
        raise InputFormatError("attention_motifs needs positive and negative sequences.")
    scores = attention_scores(model, positives, layer=layer, batch_size=batch_size, precision=precision,
                              progress=progress)
    motifs, pfms, instances = find_motifs(table.sequences, scores, background, ids=table.ids, window=window,
                                          min_len=min_len, pval_cutoff=pval_cutoff, min_instances=min_instances)
    matches = [compare_motifs(pfms[motif_id], database, top=1).iloc[0] for motif_id in motifs["id"]]
    motifs = motifs.assign(
        best_match=[m["name"] for m in matches], best_match_id=[m["id"] for m in matches],
        match_score=[m["score"] for m in matches], match_p_value=[m["p_value"] for m in matches],
    )
    return MotifResult(motifs.sort_values("p_adj", ignore_index=True), pfms, instances, scores)
