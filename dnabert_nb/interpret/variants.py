"""variant_effects: the model's output for the reference and the alternative allele of each variant, side by side.

Each variant is seen through one model input centred on it: the reference window holds
``model.tokenizer.max_nucleotides`` nt around the variant (shifted inwards at a sequence's ends). The alternative
window is the same window with the allele replaced; an indel changes its length, which is made good on the right:
a deletion takes in the next bases of the sequence, an insertion drops the last ones, so both windows start at the
same place and hold the same number of nucleotides. All windows go through the inference engine in one batched
pass, each distinct window once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pandas as pd

from .._docs import shared_docs
from ..core.inference import DEFAULT_BATCH_SIZE, log_odds, logits, run_windows, to_probabilities
from ..core.model import DNABERTModel
from ..dna.alphabet import normalise, reverse_complement
from ..dna.errors import InputFormatError
from ..io.genome import Genome, as_genome
from ..io.sequences import SequencesLike, as_sequence_table
from ..io.vcf import read_vcf
from .likelihood import check_score, masked_llr

#: The longest REF or ALT allele scored (longer ones are refused: one window could not show their effect).
MAX_ALLELE = 50
ON_MISMATCH = ("error", "skip")
_ALLELE = re.compile(r"[ACGTN]+")


class VariantWindows(NamedTuple):
    """The two model inputs of one variant, and where the reference one lies (0-based, end-exclusive)."""

    reference: str
    alternative: str
    start: int
    end: int
    found: str
    ref: str
    at: int
    """Where the variant starts in the reference window (0-based)."""

    @property
    def ref_matches(self) -> bool:
        """Whether the sequence holds the given REF allele at the variant."""
        return self.found == self.ref


def variant_windows(
    fetch: Callable[[int, int], str], length: int, position: int, ref: str, alt: str, size: int
) -> VariantWindows:
    """The reference and alternative windows of a variant at 0-based ``position`` of a sequence of ``length`` nt.

    ``fetch(start, end)`` returns the sequence between two 0-based coordinates.
    """
    centre = position + len(ref) // 2
    start = max(0, min(centre - size // 2, length - size))
    end = min(length, start + size)
    window = fetch(start, end)
    at = position - start
    found = window[at : at + len(ref)]
    alternative = window[:at] + alt + window[at + len(ref) :]
    if len(alternative) > len(window):
        alternative = alternative[: len(window)]
    elif len(alternative) < len(window) and end < length:
        alternative += fetch(end, min(length, end + len(window) - len(alternative)))
    return VariantWindows(window, alternative, start, end, found, ref, at)


def _checked(variants: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Variants with upper-case alleles, integer positions, and every row's alleles checked."""
    table = variants.reset_index(drop=True).copy()
    for column in ("chrom", "ref", "alt"):
        if column in columns:
            missing = np.flatnonzero(table[column].isna().to_numpy())
            if len(missing):
                rows = ", ".join(map(str, missing[:5]))
                raise InputFormatError(
                    f"Variant rows {rows}{' …' if len(missing) > 5 else ''}: no {column} (a missing value); give "
                    f"every variant its {column}, or drop those rows."
                )
    table["ref"], table["alt"] = table["ref"].astype(str).str.upper(), table["alt"].astype(str).str.upper()
    for row, (ref, alt, position) in enumerate(zip(table["ref"], table["alt"], table["pos"])):
        if not (_ALLELE.fullmatch(ref) and _ALLELE.fullmatch(alt)) or ref == alt:
            raise InputFormatError(
                f"Variant row {row}: ref {ref!r}, alt {alt!r}; alleles are different strings of A, C, G, T, N "
                "(symbolic alleles such as <DEL> cannot be scored)."
            )
        if max(len(ref), len(alt)) > MAX_ALLELE:
            raise InputFormatError(
                f"Variant row {row}: an allele of {max(len(ref), len(alt))} nt; at most {MAX_ALLELE}."
            )
        if not isinstance(position, (int, np.integer)) or isinstance(position, bool):
            raise InputFormatError(f"Variant row {row}: pos = {position!r}; give a whole number.")
    return table[columns]


def _genomic(
    variants: pd.DataFrame, genome: Genome | str | os.PathLike | None, size: int
) -> tuple[pd.DataFrame, list[VariantWindows]]:
    if genome is None:
        raise InputFormatError("Genomic variants (chrom, pos) need genome= an indexed FASTA of the same assembly.")
    genome = as_genome(genome)
    table = _checked(variants, [c for c in ("id", "chrom", "pos", "ref", "alt") if c in variants.columns])
    windows = []
    for row, (chrom, position) in enumerate(zip(table["chrom"].astype(str), table["pos"])):
        chrom = genome.resolve(chrom)
        if not 1 <= position <= genome.lengths[chrom]:
            raise InputFormatError(f"Variant row {row}: {chrom}:{position} is not in {genome!r}.")
        windows.append(
            variant_windows(
                lambda s, e, c=chrom: genome.fetch(c, s, e),
                genome.lengths[chrom],
                int(position) - 1,
                table["ref"][row],
                table["alt"][row],
                size,
            )
        )
    return table.assign(chrom=table["chrom"].astype(str)), windows


def _local(
    variants: pd.DataFrame, sequences: SequencesLike | None, size: int
) -> tuple[pd.DataFrame, list[VariantWindows]]:
    if "sequence" in variants.columns:
        texts = normalise(variants["sequence"].tolist())
    elif sequences is not None and "id" in variants.columns:
        table = as_sequence_table(sequences)
        by_id = dict(zip(table.ids, normalise(table.sequences, table.ids)))
        missing = sorted({str(i) for i in variants["id"] if i not in by_id})
        if missing:
            raise InputFormatError(f"Variants name sequences {missing[:5]} that sequences= does not hold.")
        texts = [by_id[i] for i in variants["id"]]
    else:
        raise InputFormatError("Sequence-local variants need a 'sequence' column, or an 'id' column and sequences=.")
    table = _checked(variants, [c for c in ("id", "pos", "ref", "alt") if c in variants.columns])
    windows = []
    for row, (text, position) in enumerate(zip(texts, table["pos"])):
        if not 0 <= position < len(text):
            raise InputFormatError(
                f"Variant row {row}: pos {position} is outside its {len(text)}-nt sequence (0-based)."
            )
        windows.append(
            variant_windows(
                lambda s, e, t=text: t[s:e], len(text), int(position), table["ref"][row], table["alt"][row], size
            )
        )
    return table, windows


@shared_docs
def variant_effects(
    model: DNABERTModel,
    variants: pd.DataFrame | str | os.PathLike,
    *,
    genome: Genome | str | os.PathLike | None = None,
    sequences: SequencesLike | None = None,
    score: str = "head",
    both_strands: bool = False,
    on_mismatch: str = "error",
    batch_size: int = DEFAULT_BATCH_SIZE,
    precision: str | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Score variants: the model's output for the reference and the alternative allele, and their difference.

    Parameters
    ----------
    model
        A :class:`DNABERTModel` with a task head; with ``score="likelihood"``, a pre-trained one with its masked-LM
        head (``dn.load()``, an official pre-trained DNABERT folder).
    variants
        Genomic variants: a VCF path (plain or bgzip; a multi-allelic record gives one row per ALT; symbolic
        and structural alleles are skipped and counted) or a DataFrame with ``chrom``, 1-based ``pos`` (as in
        VCF), ``ref``, ``alt`` and an optional ``id``; both need ``genome``. Or sequence-local edits: a
        DataFrame with 0-based ``pos``, ``ref``, ``alt`` and a ``sequence`` column (or an ``id`` column naming
        sequences given as ``sequences=``). SNVs, MNVs and indels up to 50 nt.
    genome
        An indexed FASTA (path or :class:`~dnabert_nb.io.Genome`; plain or bgzip, index built when missing).
    sequences
        The sequences that sequence-local edits name by ``id`` (any form :func:`dnabert_nb.predict` takes).
    score
        ``"head"``: the task head's outputs for each allele. ``"likelihood"``: no labels needed — every k-mer
        token holding a changed nucleotide is masked and the masked-LM head gives each allele's log-probability
        there (:mod:`dnabert_nb.interpret.likelihood`); SNVs and MNVs (REF and ALT of one length).
    both_strands
        Average each window's output (or log-likelihood ratio) with its reverse complement's.
    on_mismatch
        ``"error"``: a REF that differs from the genome (or sequence) is an error naming the variant;
        ``"skip"``: such a row is kept with ``ref_matches`` False and no scores.
    {batch_size}
    {precision}
    {progress}

    Returns
    -------
    DataFrame
        One row per variant allele: its coordinates and alleles as given, ``window_start`` and ``window_end``
        (the reference window, 0-based, end-exclusive), ``ref_matches``, and for every output ``<name>``:
        ``ref_<name>`` and ``alt_<name>`` (probabilities; regression: values), ``diff_<name>`` (alt − ref) and,
        for probabilities, ``log_odds_<name>`` (logit alt − logit ref). With ``score="likelihood"`` instead:
        ``llr`` (natural log of p(alt) / p(ref) at the masked tokens) and ``masked_start``, ``masked_end`` (the
        nucleotides the masked tokens cover, in the coordinates of ``window_start``).
    """
    check_score(score, model, "variant_effects")
    if on_mismatch not in ON_MISMATCH:
        raise InputFormatError(f"on_mismatch = {on_mismatch!r}; use 'error' or 'skip'.")
    skipped = 0
    if isinstance(variants, (str, os.PathLike)):
        variants = read_vcf(variants)
        skipped = variants.attrs["skipped"]
    if not isinstance(variants, pd.DataFrame) or not {"pos", "ref", "alt"} <= set(variants.columns):
        raise InputFormatError(
            "variants is a VCF path or a DataFrame with pos, ref, alt and chrom (genomic) or sequence (local)."
        )
    if len(variants) == 0:
        raise InputFormatError("No variants were given.")
    size = model.tokenizer.max_nucleotides
    genomic = "chrom" in variants.columns
    table, windows = _genomic(variants, genome, size) if genomic else _local(variants, sequences, size)
    matches = np.array([w.ref_matches for w in windows])
    if not matches.all() and on_mismatch == "error":
        row = int(np.flatnonzero(~matches)[0])
        where = f"{table['chrom'][row]}:{table['pos'][row]}" if genomic else f"position {table['pos'][row]}"
        raise InputFormatError(
            f"Variant row {row} ({where}): ref {table['ref'][row]!r} but the {'genome' if genomic else 'sequence'} "
            f"has {windows[row].found!r} there. Check the assembly (or the coordinates: VCF pos is 1-based, "
            "sequence-local pos 0-based), or pass on_mismatch='skip'."
        )
    scored = np.flatnonzero(matches)
    frame = table.assign(
        window_start=[w.start for w in windows], window_end=[w.end for w in windows], ref_matches=matches
    )
    options = {"batch_size": batch_size, "precision": precision, "progress": progress}
    if score == "likelihood":
        columns = likelihood_columns(model, table, windows, scored, both_strands, options)
        frame[["llr", "masked_start", "masked_end"]] = columns
        frame.attrs["skipped"] = skipped
        return frame
    texts = [windows[i].reference for i in scored] + [windows[i].alternative for i in scored]
    if both_strands:
        texts += [reverse_complement(text) for text in texts]
    outputs = np.zeros((0, len(model.labels)))
    if len(scored):
        distinct, inverse = np.unique(texts, return_inverse=True)  # alleles of one site share a reference window
        result = run_windows(
            model,
            distinct.tolist(),
            logits,
            batch_size=batch_size,
            precision=precision,
            window_overlap=0,
            progress=progress,
            description="variants",
        )
        outputs = to_probabilities(model.task, result.values)[inverse]
        if both_strands:
            outputs = (outputs[: len(outputs) // 2] + outputs[len(outputs) // 2 :]) / 2
    reference, alternative = outputs[: len(scored)], outputs[len(scored) :]
    for column, name in enumerate(model.labels):
        ref_values, alt_values = np.full(len(frame), np.nan), np.full(len(frame), np.nan)
        ref_values[scored], alt_values[scored] = reference[:, column], alternative[:, column]
        frame[f"ref_{name}"], frame[f"alt_{name}"], frame[f"diff_{name}"] = (
            ref_values,
            alt_values,
            alt_values - ref_values,
        )
        if model.task != "regression":
            frame[f"log_odds_{name}"] = log_odds(alt_values) - log_odds(ref_values)
    frame.attrs["skipped"] = skipped
    return frame


def likelihood_columns(
    model: DNABERTModel,
    table: pd.DataFrame,
    windows: list[VariantWindows],
    scored: np.ndarray,
    both_strands: bool,
    options: dict,
) -> np.ndarray:
    """``llr``, ``masked_start`` and ``masked_end`` of every row (NaN where unscored): the masked-LM score of
    :mod:`.likelihood`, averaged with the reverse complement's where ``both_strands``."""
    lengths = [len(table["ref"].iloc[i]) for i in scored]
    unequal = [int(i) for i, n in zip(scored, lengths) if len(table["alt"].iloc[i]) != n]
    if unequal:
        raise InputFormatError(
            f"Variant rows {', '.join(map(str, unequal[:5]))}: REF and ALT differ in length; score='likelihood' "
            "scores SNVs and MNVs (an indel moves every later k-mer). Leave such rows out, or use score='head'."
        )
    reference = [windows[i].reference for i in scored]
    alternative = [windows[i].alternative[: len(windows[i].reference)] for i in scored]
    offsets = [windows[i].at for i in scored]
    llr, first, end = masked_llr(model, reference, alternative, offsets, lengths, **options)
    if both_strands:
        flipped = [len(text) - at - n for text, at, n in zip(reference, offsets, lengths)]
        backward, _, _ = masked_llr(
            model,
            [reverse_complement(text) for text in reference],
            [reverse_complement(text) for text in alternative],
            flipped,
            lengths,
            **options,
        )
        llr = (llr + backward) / 2
    columns = np.full((len(table), 3), np.nan)
    starts = np.array([windows[i].start for i in scored])
    columns[scored] = np.column_stack([llr, starts + first, starts + end])
    return columns
