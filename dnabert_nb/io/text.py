"""Opening text files whatever their name says: gzip found by its magic bytes, a UTF-8 byte-order mark dropped,
a folder or a missing file named as such; and labels read as text."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import TextIO

import pandas as pd

from ..dna.errors import InputFormatError

GZIP_MAGIC = b"\x1f\x8b"


def existing_file(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a Path after checking that it is a file; a folder or a missing path is named as such."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise InputFormatError(f"{what} {str(path)!r} is a folder; give the file inside it.")
    if not path.is_file():
        raise InputFormatError(f"{what} {str(path)!r} does not exist.")
    return path


def open_text(path: Path) -> TextIO:
    """Open a plain or gzip-compressed text file (told apart by content, not name) as UTF-8 without a BOM."""
    with open(path, "rb") as handle:
        compressed = handle.read(2) == GZIP_MAGIC
    if compressed:
        return gzip.open(path, "rt", encoding="utf-8-sig")
    return open(path, encoding="utf-8-sig")


def integers_if_all_are(labels: list[str]) -> pd.Series:
    """Text labels as ints where every one is an integer, else as they are."""
    series = pd.Series(labels, dtype=object)
    return series.astype(int) if series.str.fullmatch(r"-?\d+").all() else series
