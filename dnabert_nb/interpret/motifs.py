"""attention_motifs: DNABERT's motif discovery from attention, to PFMs matched against JASPAR."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from .._docs import shared_docs
from ..core.inference import DEFAULT_BATCH_SIZE
from ..core.model import TOKEN_MEAN_POOLINGS, DNABERTModel, head_pooling
from ..core.predict import target_column
from ..dna.alphabet import encode_nucleotides, normalise, reverse_complement
from ..dna.errors import InputFormatError, require_positive_integers
from ..dna.pfm import BASES, site_pfm
from ..dna.shuffle import dinucleotide_shuffle
from ..io.sequences import SequencesLike, as_sequence_table
from .attention import attention_scores
from .compare import compare_motifs, prepare_database
from .contributions import contribution_run, require_mean_head
from .enrichment import enrichment, no_motifs
from .seqlets import seqlet_motifs

#: What attention_motifs can read the motif regions from.
SCORE_SOURCES = ("attention", "contributions")
#: What attention motifs of a mean-pooled head are like, and the ways out (attention_motifs' warning, Motifs panel).
MEAN_HEAD_NOTE = (
    "This model's task head reads the mean of the k-mer tokens (finetune's default), so its attention is the mean "
    "of every k-mer's row, flatter than DNABERT's [CLS] row: DNABERT's exact-repeat method (method='dnabert') found "
    "no motif in the 50 test peaks of ctcf_peaks with such a model. method='seqlets' (the default for this head) "
    "pools inexact sites and finds CTCF there (BENCHMARKS.md)."
)
#: How ``attention_motifs`` builds motifs from the scores.
MOTIF_METHODS = ("auto", "dnabert", "seqlets")
#: Background sequences scored (a seeded sample) to set the seqlets' threshold.
SEQLET_BACKGROUND = 1000
#: Bases per int64 key column in exact substring counting: 5**27 < 2**63.
SINGLE_KEY_BASES = 27


class MotifResult(NamedTuple):
    """What :func:`attention_motifs` found.

    Attributes
    ----------
    motifs : DataFrame
        One row per motif, most significant first.
    pfms : dict
        Motif id → PFM (positions × A C G T counts) of its instance windows.
    instances : DataFrame
        ``motif``, ``sequence_id``, ``start``, ``end`` (0-based, end-exclusive), ``strand``
        (``+``/``-``: the window's sequence is read on the motif's strand) and ``sequence`` of
        each instance window.
    scores : list of ndarray
        The attention scores of the positive sequences.
    """

    motifs: pd.DataFrame
    pfms: dict
    instances: pd.DataFrame
    scores: list


def reads_token_mean(model: DNABERTModel) -> bool:
    """Whether ``model`` has a task head that reads the mean of the k-mer tokens (see :data:`MEAN_HEAD_NOTE`)."""
    return bool(model.task) and head_pooling(model.network) in TOKEN_MEAN_POOLINGS


def high_attention_regions(score: np.ndarray, *, min_len: int = 5) -> list[tuple[int, int]]:
    """Runs of positions whose score is above the mean and above 10 × the minimum, at least ``min_len`` long."""
    high = (score > score.mean()) & (score > 10 * score.min())
    edges = np.flatnonzero(np.diff(np.concatenate([[0], high.astype(np.int8), [0]])))
    return [(int(start), int(end)) for start, end in zip(edges[::2], edges[1::2]) if end - start >= min_len]


def count_containing(sequences: Sequence[str], motifs: Sequence[str]) -> np.ndarray:
    """How many sequences contain each motif as an exact substring.

    Vectorised per motif length, with no loop over sequences × motifs: every window of that
    length in every sequence gets an exact base-5 integer key (one int64 up to
    ``SINGLE_KEY_BASES`` bases, several columns beyond), windows whose key is one of the
    motifs' are kept, and their distinct (sequence, motif) pairs are counted.
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
        n_windows = len(codes) - length + 1
        inside = sequence_of[:n_windows] == sequence_of[length - 1 :]
        owners = sequence_of[:n_windows][inside]
        chosen = np.flatnonzero(lengths == length)
        wanted = _window_keys(
            np.concatenate([motif_codes[motif_offsets[i] : motif_offsets[i + 1]] for i in chosen]), length
        )[::length]
        distinct, motif_key = np.unique(wanted, axis=0, return_inverse=True)
        keys = _window_keys(codes, length)[inside]
        found = _find_rows(distinct, keys)
        hit = found >= 0
        pairs = np.unique(owners[hit] * len(distinct) + found[hit])  # each (sequence, motif) once
        per_key = np.bincount(pairs % len(distinct), minlength=len(distinct))
        counts[chosen] = per_key[motif_key.ravel()]
    return counts


def _window_keys(codes: np.ndarray, length: int) -> np.ndarray:
    """Exact integer keys of every ``length``-base window of ``codes`` (base 5, ambiguous bases kept
    distinct): shape (windows, columns), ``SINGLE_KEY_BASES`` bases a column, built by rolling sums."""
    n_windows = len(codes) - length + 1
    columns = []
    for first in range(0, length, SINGLE_KEY_BASES):
        key = np.zeros(n_windows, dtype=np.int64)
        for j in range(first, min(length, first + SINGLE_KEY_BASES)):
            key += codes[j : j + n_windows].astype(np.int64) * 5 ** (j - first)
        columns.append(key)
    return np.column_stack(columns)


def _find_rows(table: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Index of each of ``rows`` in ``table`` (rows sorted lexicographically), or -1."""
    if table.shape[1] == 1:  # plain integers search much faster than one-field records
        view, query = table[:, 0], rows[:, 0]
    else:
        fields = [("", table.dtype)] * table.shape[1]
        view = np.ascontiguousarray(table).view(fields).ravel()
        query = np.ascontiguousarray(rows).view(fields).ravel()
    position = np.minimum(np.searchsorted(view, query), len(view) - 1)
    return np.where(view[position] == query, position, -1)


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


class _Group:
    """Candidates merged into one motif: its core and where the core sits in the positives.

    A place is (sequence index, anchor, strand): on strand +1 the core reads forward from
    ``anchor``; on strand -1 its reverse complement ends at ``anchor`` (core base 0 = ``anchor``).
    """

    def __init__(self, core: str, member: int, places: list[tuple[int, int, int]]):
        self.core, self.members, self.places = core, [member], _anchored(places, len(core), 0, 1)

    def join(
        self, motif: str, member: int, places: list[tuple[int, int, int]], min_len: int, both_strands: bool
    ) -> bool:
        """Add a candidate sharing an exact run of ≥ ``min_len`` bases with the core (on either strand)."""
        options = [(motif, 1)] + ([(reverse_complement(motif), -1)] if both_strands else [])
        shared, offset, orientation = max((*_shared_run(self.core, text), sign) for text, sign in options)
        if shared < min_len:
            return False
        self.places += _anchored(places, len(motif), offset, orientation)
        self.members.append(member)
        return True

    def windows(self, positives: Sequence[str], window: int) -> list[tuple[int, int, int, str]]:
        """(sequence index, start, strand, text) of each ``window``-base window centred on the core,
        read on the core's strand; windows leaving the sequence or holding other letters than ACGT are dropped."""
        centre = len(self.core) // 2
        result = []
        for seq, anchor, strand in sorted(set(self.places)):
            if strand == 1:
                first = anchor + centre - window // 2
            else:
                first = anchor - centre + window // 2 - window + 1
            if 0 <= first and first + window <= len(positives[seq]):
                text = positives[seq][first : first + window]
                text = text if strand == 1 else reverse_complement(text)
                if set(text) <= set(BASES):
                    result.append((seq, first, strand, text))
        return result


def _anchored(
    places: list[tuple[int, int, int]], length: int, offset: int, orientation: int
) -> list[tuple[int, int, int]]:
    """A candidate's places ((sequence, start of its text, strand)) as a group's places, for a candidate of
    ``length`` bases that starts ``offset`` bases into the core when read with ``orientation`` (+1/-1)."""
    anchored = []
    for seq, start, strand in places:
        strand *= orientation
        anchored.append((seq, start - offset if strand == 1 else start + length - 1 + offset, strand))
    return anchored


def _both_strands_text(sequences: Sequence[str]) -> list[str]:
    """Each sequence and its reverse complement in one text, joined by an N no candidate can span."""
    return [s.upper() + "N" + reverse_complement(s.upper()) for s in sequences]


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
    both_strands: bool = True,
) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """The DNABERT motif algorithm on given attention scores (the model-free part of :func:`attention_motifs`).

    1. High-attention regions of each positive (score > mean and > 10 × min, ≥ ``min_len`` long)
       give candidate motifs (their exact sequences, A/C/G/T only). With ``both_strands`` a
       candidate and its reverse complement are one candidate.
    2. Candidates seen fewer than ``min_instances`` times are dropped; the rest are tested for
       enrichment in positives over negatives (hypergeometric, sequences containing the
       candidate, on either strand with ``both_strands``), Benjamini–Hochberg adjusted, kept
       below ``pval_cutoff``.
    3. Candidates sharing an exact run of ≥ ``min_len`` bases are merged (most significant first;
       with ``both_strands`` also a run shared with the reverse complement).
    4. Every instance is widened to a ``window``-base window centred on the merged motif and read
       on its strand (windows leaving the sequence are dropped); motifs with ≥ ``min_instances``
       windows are kept, each with the PFM of its windows.

    ``both_strands=False`` is DNABERT's original forward-strand-only counting. A factor binds
    either strand of a peak, so counting both pools the two halves of its evidence.

    Returns
    -------
    motifs, pfms, instances
        As in :class:`MotifResult` (without the JASPAR columns).
    """
    positives = [s.upper() for s in positives]
    ids = list(range(len(positives))) if ids is None else list(ids)
    found: dict[str, list[tuple[int, int, int]]] = {}
    for index, (sequence, score) in enumerate(zip(positives, scores)):
        for start, end in high_attention_regions(np.asarray(score), min_len=min_len):
            text = sequence[start:end]
            if set(text) <= set(BASES):
                key = min(text, reverse_complement(text)) if both_strands else text
                found.setdefault(key, []).append((index, start, 1 if key == text else -1))
    candidates = [motif for motif, places in found.items() if len(places) >= min_instances]
    if not candidates:
        return no_motifs()
    searched = _both_strands_text if both_strands else list
    n_pos = count_containing(searched(positives), candidates)
    n_neg = count_containing(searched(negatives), candidates)
    _, p_adj = enrichment(n_pos, n_neg, len(positives), len(negatives))
    keep = np.flatnonzero(p_adj < pval_cutoff)
    order = keep[np.lexsort((-np.array([len(candidates[i]) for i in keep]), p_adj[keep]))]
    groups: list[_Group] = []
    for i in order:
        motif = candidates[i]
        if not any(group.join(motif, i, found[motif], min_len, both_strands) for group in groups):
            groups.append(_Group(motif, i, found[motif]))
    rows, pfms, instance_rows = [], {}, []
    for group in groups:
        windows = group.windows(positives, window)
        if len(windows) < min_instances:
            continue
        motif_id = f"motif_{len(rows) + 1}"
        pfm = pfms[motif_id] = site_pfm([w[3] for w in windows], id=motif_id, name=group.core)
        best = min(group.members, key=lambda m: p_adj[m])
        rows.append(
            {
                "id": motif_id,
                "consensus": "".join(pfm.idxmax(axis=1)),
                "core": group.core,
                "n_instances": len(windows),
                "n_pos": int(n_pos[best]),
                "n_neg": int(n_neg[best]),
                "p_adj": float(p_adj[best]),
            }
        )
        instance_rows += [
            {
                "motif": motif_id,
                "sequence_id": ids[seq],
                "start": first,
                "end": first + window,
                "strand": "+" if strand == 1 else "-",
                "sequence": text,
            }
            for seq, first, strand, text in windows
        ]
    if not rows:
        return no_motifs()
    return pd.DataFrame(rows), pfms, pd.DataFrame(instance_rows)


@shared_docs
def attention_motifs(
    model: DNABERTModel,
    positives: SequencesLike,
    negatives: SequencesLike | None = None,
    *,
    window: int = 24,
    min_len: int = 5,
    pval_cutoff: float = 0.005,
    min_instances: int = 3,
    both_strands: bool = True,
    shuffles: int = 10,
    layer: int = -1,
    scores_from: str = "attention",
    method: str = "auto",
    target: str | int | None = None,
    database: dict[str, pd.DataFrame] | None = None,
    seed: int = 0,
    batch_size: int = DEFAULT_BATCH_SIZE,
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
        Background sequences; None uses ``shuffles`` seeded dinucleotide shuffles of each positive.
    window, min_len, pval_cutoff, min_instances, both_strands
        The algorithm's parameters (see :func:`find_motifs`): instance window, shortest
        high-attention region, adjusted p-value cutoff, fewest instances, whether a motif and
        its reverse complement count as one (False: DNABERT's forward-strand counting).
    layer
        The attention layer (-1, the last, as in DNABERT-viz).
    scores_from
        What marks the regions a motif is read from: ``"attention"`` (DNABERT's: :func:`attention_scores`) or
        ``"contributions"`` (the positive part of :func:`token_contributions`: what pushes a mean-pooled head
        towards ``target``).
    method
        How motifs are built from the scores: ``"dnabert"`` (DNABERT's: exact repeats of high-scoring regions,
        :func:`find_motifs`), ``"seqlets"`` (the best-scoring stretches grouped by enriched k-mers, inexact sites
        pooled, :mod:`~dnabert_nb.interpret.seqlets`), or ``"auto"``: DNABERT's for a [CLS] head, seqlets for a
        mean-pooled head (``finetune``'s default), whose flatter attention DNABERT's method finds nothing in on a
        few dozen peaks (BENCHMARKS.md, "Motifs with the default head"). The window, cutoff, instance and strand
        options mean the same in both.
    target
        With contributions: the class (name or index) the positives stand for; None: the class the model
        predicts most often for them.
    database
        Matrix id → PFM to match against; None uses the shipped JASPAR 2026 CORE vertebrates.
    shuffles
        Shuffles per positive when ``negatives`` is None. Several make the background's k-mer
        counts steadier: with 50 CTCF peaks, one shuffle each found CTCF for some seeds only.
    {seed}
        Here: the shuffles of the background.
    {batch_size}
    {precision}
    {progress}

    Returns
    -------
    MotifResult
        ``motifs`` (``id``, ``consensus``, ``core``, ``n_instances``, ``n_pos``, ``n_neg``,
        ``p_adj``, ``best_match``, ``best_match_id``, ``match_score``, ``match_p_value``), ``pfms``,
        ``instances``, ``scores``.
    """
    table = as_sequence_table(positives)
    sequences = normalise(table.sequences, table.ids)  # RNA reads as DNA; bad input fails here, not deep inside
    if scores_from not in SCORE_SOURCES:
        raise InputFormatError(f"scores_from = {scores_from!r}; use one of {', '.join(map(repr, SCORE_SOURCES))}.")
    if method not in MOTIF_METHODS:
        raise InputFormatError(f"method = {method!r}; use one of {', '.join(map(repr, MOTIF_METHODS))}.")
    if method == "auto":
        method = "seqlets" if reads_token_mean(model) else "dnabert"
    if method == "dnabert" and scores_from == "attention" and reads_token_mean(model):
        warnings.warn(MEAN_HEAD_NOTE, UserWarning, stacklevel=2)
    column = None
    if scores_from == "contributions":
        require_mean_head(model)
        column = target_column(model, target)
    if negatives is None:
        rng = np.random.default_rng(seed)
        require_positive_integers(shuffles=shuffles)
        background = [dinucleotide_shuffle(s, rng) for s in sequences for _ in range(shuffles)]
    else:
        negative_table = as_sequence_table(negatives)
        background = normalise(negative_table.sequences, negative_table.ids)
    options = {"batch_size": batch_size, "precision": precision, "progress": progress}

    def scored(texts: list[str]) -> list[np.ndarray]:
        nonlocal column
        if scores_from == "attention":
            return attention_scores(model, texts, layer=layer, **options)
        run = contribution_run(model, texts, **options)
        if column is None:  # the class the model predicts most often for the positives
            column = int(np.bincount(run.probabilities.argmax(axis=1)).argmax())
        return [np.clip(score, 0, None) for score in run.nucleotide_scores(np.full(len(run.probabilities), column))]

    scores = scored(sequences)
    shared = {
        "ids": table.ids,
        "window": window,
        "pval_cutoff": pval_cutoff,
        "min_instances": min_instances,
        "both_strands": both_strands,
    }
    if method == "dnabert":
        motifs, pfms, instances = find_motifs(sequences, scores, background, min_len=min_len, **shared)
    else:  # the background's scores set the seqlets' threshold: a seeded sample of it is enough
        sample = np.random.default_rng(seed).permutation(len(background))[:SEQLET_BACKGROUND]
        background_scores = scored([background[i] for i in sorted(sample)])
        motifs, pfms, instances = seqlet_motifs(sequences, scores, background, background_scores, **shared)
    prepared = prepare_database(database)
    matches = [compare_motifs(pfms[motif_id], database=prepared, top=1).iloc[0] for motif_id in motifs["id"]]
    motifs = motifs.assign(
        best_match=[m["name"] for m in matches],
        best_match_id=[m["id"] for m in matches],
        match_score=[m["score"] for m in matches],
        match_p_value=[m["p_value"] for m in matches],
    )
    return MotifResult(motifs.sort_values("p_adj", ignore_index=True), pfms, instances, scores)
