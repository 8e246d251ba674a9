"""Sequence-table coercion: every accepted form of "some sequences" becomes ids + strings."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import NamedTuple

import pandas as pd

from ..dna.errors import InputFormatError
from .fasta import FASTA_SUFFIXES, read_fasta

SequencesLike = str | os.PathLike | Iterable[str] | pd.Series | pd.DataFrame


class SequenceTable(NamedTuple):
    """Sequences with their ids, as every public function receives them."""

    ids: list
    sequences: list


def looks_like_path(text: str) -> bool:
    """True for text that names a file (a FASTA suffix or a path separator) rather than holding a sequence."""
    return text.lower().endswith(FASTA_SUFFIXES) or os.sep in text or "/" in text


def as_sequence_table(sequences: SequencesLike) -> SequenceTable:
    """Bring any accepted form of sequences into ids + strings.

    Accepted: one sequence (``str``), a FASTA path (``str`` ending in .fa/.fasta/.fna
    [.gz] or any ``os.PathLike``), a list/tuple of ``str``, a pandas Series (its index
    gives the ids) or a DataFrame with a ``sequence`` column (ids from an ``id`` column,
    else the index).
    """
    table = _sequence_table(sequences)
    if not table.sequences:
        raise InputFormatError("No sequences were given (the list, Series or DataFrame is empty).")
    return table


def _sequence_table(sequences: SequencesLike) -> SequenceTable:
    if isinstance(sequences, os.PathLike) or (isinstance(sequences, str) and looks_like_path(sequences)):
        table = read_fasta(sequences)
        return SequenceTable(table["id"].tolist(), table["sequence"].tolist())
    if isinstance(sequences, str):
        return SequenceTable([0], [sequences])
    if isinstance(sequences, pd.DataFrame):
        if "sequence" not in sequences.columns:
            raise InputFormatError(
                f"The DataFrame has no 'sequence' column (columns: {list(sequences.columns)}); "
                "rename the column that holds the nucleotides to 'sequence'."
            )
        ids = sequences["id"].tolist() if "id" in sequences.columns else sequences.index.tolist()
        return SequenceTable(ids, sequences["sequence"].tolist())
    if isinstance(sequences, pd.Series):
        return SequenceTable(sequences.index.tolist(), sequences.tolist())
    if isinstance(sequences, (list, tuple)):
        return SequenceTable(list(range(len(sequences))), list(sequences))
    raise InputFormatError(
        f"Cannot read sequences from a value of type {type(sequences).__name__}; pass a str, a list of str, a pandas "
        "Series, a DataFrame with a 'sequence' column, or a FASTA file path."
    )
