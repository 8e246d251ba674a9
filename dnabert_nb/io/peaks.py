"""Peak files: BED, narrowPeak, broadPeak (plain or gzip) or a DataFrame, as one table of 0-based intervals."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..dna.errors import InputFormatError
from .text import existing_file, open_text

#: narrowPeak's ten columns (ENCODE); broadPeak has the first nine; BED has the first three to six.
NARROWPEAK_COLUMNS = ["chrom", "start", "end", "name", "score", "strand", "signal", "p_value", "q_value", "summit"]
#: Lines that are not intervals: UCSC header lines and comments.
HEADER_PREFIXES = ("track", "browser", "#")


def read_peaks(peaks: str | os.PathLike | pd.DataFrame) -> pd.DataFrame:
    """Read peaks from a BED, narrowPeak or broadPeak file (plain or gzip) or a DataFrame.

    Header lines (``track``, ``browser``) and ``#`` comments are skipped. A line with fewer than three
    tab- or space-separated fields, a non-integer coordinate or ``end <= start`` is an error naming its line.

    Parameters
    ----------
    peaks
        The file, or a DataFrame with ``chrom``, ``start``, ``end`` (0-based, end-exclusive) and optionally
        ``name``, ``score`` and ``summit`` (offset from ``start``, as in narrowPeak).

    Returns
    -------
    DataFrame
        ``chrom``, ``start``, ``end``, ``name``, ``score`` (NaN where absent) and ``summit``: the summit's
        offset from ``start`` (narrowPeak's 10th column), -1 where the file gives none.
    """
    if isinstance(peaks, pd.DataFrame):
        return _checked_frame(peaks)
    path = existing_file(peaks, "Peak file")
    rows = []
    try:
        with open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip() or line.startswith(HEADER_PREFIXES):
                    continue
                rows.append(_parse_line(line, number, path.name))
    except UnicodeDecodeError as error:
        raise InputFormatError(f"{path.name} is not a text peak file (BED, narrowPeak, broadPeak).") from error
    if not rows:
        raise InputFormatError(f"{path.name} holds no peaks.")
    return pd.DataFrame(rows, columns=["chrom", "start", "end", "name", "score", "summit"])


def _parse_line(line: str, number: int, source: str) -> tuple:
    fields = line.rstrip("\n").split("\t") if "\t" in line else line.split()
    if len(fields) < 3:
        raise InputFormatError(f"{source}, line {number}: a peak needs chrom, start and end; got {line.strip()!r}.")
    try:
        start, end = int(fields[1]), int(fields[2])
    except ValueError:
        raise InputFormatError(
            f"{source}, line {number}: start and end must be whole numbers; got {fields[1]!r} and {fields[2]!r}."
        ) from None
    if not 0 <= start < end:
        raise InputFormatError(f"{source}, line {number}: needs 0 <= start < end; got {start} and {end}.")
    name = fields[3] if len(fields) > 3 and fields[3] != "." else f"{fields[0]}:{start}-{end}"
    try:
        score = float(fields[4]) if len(fields) > 4 and fields[4] != "." else np.nan
        summit = int(fields[9]) if len(fields) > 9 else -1
    except ValueError:
        raise InputFormatError(
            f"{source}, line {number}: the score (5th field) and summit (10th) must be numbers."
        ) from None
    if summit >= end - start:
        raise InputFormatError(
            f"{source}, line {number}: the summit offset {summit} lies beyond the peak's {end - start} nt."
        )
    return fields[0], start, end, name, score, summit


def _checked_frame(table: pd.DataFrame) -> pd.DataFrame:
    missing = {"chrom", "start", "end"} - set(table.columns)
    if missing:
        raise InputFormatError(f"A peak table needs chrom, start and end columns; {sorted(missing)} missing.")
    peaks = table.reset_index(drop=True)
    try:
        start, end = peaks["start"].astype(np.int64), peaks["end"].astype(np.int64)
    except (TypeError, ValueError):
        raise InputFormatError("Peak start and end must be whole numbers.") from None
    bad = np.flatnonzero(~((start >= 0) & (end > start)).to_numpy())
    if len(bad):
        raise InputFormatError(f"Peak row {bad[0]} needs 0 <= start < end; got {start[bad[0]]} and {end[bad[0]]}.")
    names = (
        peaks["name"]
        if "name" in peaks
        else peaks["chrom"].astype(str) + ":" + start.astype(str) + "-" + end.astype(str)
    )
    return pd.DataFrame(
        {
            "chrom": peaks["chrom"].astype(str),
            "start": start,
            "end": end,
            "name": names.astype(str),
            "score": peaks["score"].astype(float) if "score" in peaks else np.nan,
            "summit": peaks["summit"].astype(np.int64) if "summit" in peaks else -1,
        }
    )
