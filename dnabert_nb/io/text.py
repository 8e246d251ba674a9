"""Opening text files that may be gzip-compressed, and labels read as text."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import TextIO

import pandas as pd


def open_text(path: Path) -> TextIO:
    """Open a plain or gzip-compressed text file."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def integers_if_all_are(labels: list[str]) -> pd.Series:
    """Text labels as ints where every one is an integer, else as they are."""
    series = pd.Series(labels, dtype=object)
    return series.astype(int) if series.str.fullmatch(r"-?\d+").all() else series
