"""Genome-browser tracks: bedGraph for scores along a sequence or per region, BED for regions (e.g. variants).

Coordinates are BED's: 0-based starts, end-exclusive. A table of variants in VCF coordinates (``chrom``, 1-based
``pos``, ``ref``) becomes the span of its REF allele. Both files load in IGV or the UCSC browser.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..dna.errors import InputFormatError
from ..dna.folders import atomic_file


def intervals(table: pd.DataFrame) -> pd.DataFrame:
    """``chrom``, ``start``, ``end`` (0-based, end-exclusive) of each row: given as such, or from VCF columns."""
    if {"chrom", "start", "end"} <= set(table.columns):
        spans = table[["chrom", "start", "end"]].copy()
    elif {"chrom", "pos", "ref"} <= set(table.columns):
        start = table["pos"].astype(np.int64) - 1
        spans = pd.DataFrame({"chrom": table["chrom"], "start": start, "end": start + table["ref"].str.len()})
    else:
        raise InputFormatError(
            "A track needs chrom, start, end (BED coordinates) or chrom, pos, ref (VCF) columns; "
            f"got {list(table.columns)}."
        )
    if (spans["start"] < 0).any() or (spans["end"] <= spans["start"]).any():
        raise InputFormatError("Track rows need 0 <= start < end.")
    return spans.reset_index(drop=True)


def _track_line(kind: str, name: str | None) -> str:
    return f'track type={kind} name="{name}"\n' if kind == "bedGraph" else f'track name="{name}"\n'


def write_bedgraph(
    scores: np.ndarray | pd.DataFrame,
    path: str | os.PathLike,
    *,
    value: str | None = None,
    chrom: str | None = None,
    start: int = 0,
    name: str | None = None,
) -> Path:
    """Write scores as a bedGraph file.

    Parameters
    ----------
    scores
        One score per nucleotide (e.g. an array of :func:`dnabert_nb.attention_scores`, or the importance of a
        mutagenesis map) with ``chrom`` and ``start``; or a DataFrame of regions (``chrom``, ``start``, ``end``,
        or variants with ``chrom``, ``pos``, ``ref``) with the score in column ``value``.
    path
        The file to write; one already there is replaced, whole (on an error it is left as it was).
    value
        The score column of a DataFrame (e.g. ``"diff_1"`` of :func:`dnabert_nb.variant_effects`).
    chrom, start
        Where per-nucleotide scores lie: the chromosome and the 0-based position of the first score.
    name
        The track's name in the browser; default the file name.

    Returns
    -------
    Path

    Raises
    ------
    OutputError
        The file cannot be written there (no permission, a read-only or full disk).
    """
    path = Path(path).expanduser()
    if isinstance(scores, pd.DataFrame):
        if value not in scores.columns:
            raise InputFormatError(f"value = {value!r}; name the score column of the table ({list(scores.columns)}).")
        spans = intervals(scores).assign(value=scores[value].to_numpy(dtype=float))
        spans = spans[np.isfinite(spans["value"])].sort_values(["chrom", "start"])
    else:
        values = np.asarray(scores, dtype=float)
        if chrom is None or values.ndim != 1:
            raise InputFormatError("Per-nucleotide scores are a 1-D array and need chrom= (and start=) to be placed.")
        positions = start + np.arange(len(values))
        spans = pd.DataFrame({"chrom": chrom, "start": positions, "end": positions + 1, "value": values})
    with atomic_file(path) as handle:
        handle.write(_track_line("bedGraph", name or path.stem))
        spans.to_csv(handle, sep="\t", header=False, index=False, float_format="%.6g")
    return path


def write_bed(
    regions: pd.DataFrame,
    path: str | os.PathLike,
    *,
    names: str | None = "id",
    score: str | None = None,
    name: str | None = None,
) -> Path:
    """Write regions (or variants) as a BED6 file: chrom, start, end, name, score, strand ``.``.

    Parameters
    ----------
    regions
        A DataFrame with ``chrom``, ``start``, ``end`` (BED coordinates) or ``chrom``, ``pos``, ``ref`` (VCF).
    path
        The file to write; one already there is replaced, whole (on an error it is left as it was).
    names
        The column that names each region (missing or None: ``.``).
    score
        A numeric column written as BED's score, scaled to 0-1000 over the file (None: 0).
    name
        The track's name in the browser; default the file name.
    """
    path = Path(path).expanduser()
    spans = intervals(regions)
    if names in regions.columns:
        given = regions[names].reset_index(drop=True)
        spans["name"] = np.where(given.isna(), ".", given.astype(str))
    else:
        spans["name"] = "."
    if score is not None:
        values = regions[score].to_numpy(dtype=float)
        finite = np.isfinite(values)
        low, high = (values[finite].min(), values[finite].max()) if finite.any() else (0.0, 0.0)
        scaled = np.where(finite, (values - low) / ((high - low) or 1) * 1000, 0)
        spans["score"] = np.round(scaled).astype(int)
    else:
        spans["score"] = 0
    spans["strand"] = "."
    with atomic_file(path) as handle:
        handle.write(_track_line("bed", name or path.stem))
        spans.to_csv(handle, sep="\t", header=False, index=False)
    return path
