"""Labelled data: every accepted form of "sequences with labels" becomes sequences + a label Series."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..dna.errors import InputFormatError
from .dnabert import read_dnabert_tsv, read_gue
from .fasta import FASTA_SUFFIXES, read_labelled_fasta
from .sequences import as_sequence_table
from .text import existing_file, open_text


class LabelledSequences(NamedTuple):
    """Sequences with their labels, as finetune and evaluate receive them; the labels' index names the rows for
    messages (a DataFrame's ``id`` column or else its index labels)."""

    sequences: list
    labels: pd.Series

    @property
    def ids(self) -> list:
        """The rows' names, as the labels' index holds them."""
        return self.labels.index.tolist()


def as_labelled(data: object, what: str, split: str | None = None) -> LabelledSequences:
    """Accept a DataFrame (``sequence``, ``label``), a (sequences, labels) pair, a dict of
    label -> sequences (e.g. one FASTA file per class), a FASTA file with ``label=`` headers,
    a DNABERT TSV, a ``sequence,label`` CSV or a GUE task folder (``split`` picks its part); data read already
    is returned as it is."""
    if isinstance(data, LabelledSequences):
        return data
    if isinstance(data, (str, os.PathLike)):
        frame = read_labelled_file(Path(data).expanduser(), what, split)
    elif isinstance(data, dict):
        if not data:
            raise InputFormatError(f"The {what} data is an empty dict; map each label to its sequences.")
        frame = pd.concat(
            [
                pd.DataFrame({"sequence": as_sequence_table(members).sequences, "label": label})
                for label, members in data.items()
            ],
            ignore_index=True,
        )
    elif isinstance(data, tuple) and len(data) == 2:
        sequences, labels = as_sequence_table(data[0]).sequences, list(data[1])
        if len(sequences) != len(labels):
            raise InputFormatError(
                f"The {what} data pairs {len(sequences)} sequences with {len(labels)} labels; "
                "give one label per sequence."
            )
        frame = pd.DataFrame({"sequence": sequences, "label": labels})
    elif isinstance(data, pd.DataFrame):
        frame = data
    else:
        raise InputFormatError(
            f"Cannot read {what} data from a {type(data).__name__}; pass a DataFrame with 'sequence' and 'label', "
            "a (sequences, labels) pair, a dict of label -> sequences or FASTA path, a FASTA file with "
            "'label=' headers, a DNABERT .tsv, a .csv or a GUE folder."
        )
    missing = {"sequence", "label"} - set(frame.columns)
    if missing:
        source = f" ({data})" if isinstance(data, (str, os.PathLike)) else ""
        raise InputFormatError(
            f"The {what} data{source} has no {' or '.join(sorted(missing))} column (columns: {list(frame.columns)}); "
            "rename the columns that hold the nucleotides and the labels to 'sequence' and 'label', e.g. "
            "df.rename(columns={'seq': 'sequence', 'target': 'label'})."
        )
    if len(frame) == 0:
        raise InputFormatError(f"The {what} data is empty.")
    ids = frame["id"] if "id" in frame.columns else frame.index
    labels = frame["label"].set_axis(pd.Index(ids.tolist(), dtype=object, tupleize_cols=False))
    empty = labels.map(lambda v: not isinstance(v, (list, tuple, set, frozenset, np.ndarray)) and bool(pd.isna(v)))
    if empty.any():
        raise InputFormatError(
            f"The {what} data has missing labels at rows {describe_rows(labels.index, empty.to_numpy())}; drop or "
            "fill them."
        )
    return LabelledSequences(frame["sequence"].tolist(), labels)


def describe_rows(ids: Sequence, mask: np.ndarray) -> str:
    """Name the rows where ``mask`` is true for messages, by their ``ids`` (integers as they are, other names
    quoted): the first five and how many more."""
    named = [ids[row] for row in np.flatnonzero(mask)]
    named = [str(name) if isinstance(name, (int, np.integer)) else repr(name) for name in named]
    return ", ".join(named[:5]) + (f" and {len(named) - 5:,} more" if len(named) > 5 else "")


def read_labelled_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Read a ``sequence,label`` CSV file (plain or gzipped, with a header row) into a DataFrame.

    Raises
    ------
    InputFormatError
        A missing, empty, binary or malformed file; the message names the file.
    """
    path = existing_file(path, "CSV file")
    try:
        with open_text(path) as handle:
            return pd.read_csv(handle)
    except pd.errors.EmptyDataError as error:
        raise InputFormatError(f"{str(path)!r} is empty; a CSV file needs a header row 'sequence,label'.") from error
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InputFormatError(f"{str(path)!r} is not a readable CSV file ({first_line}).") from error


def read_labelled_file(path: Path, what: str = "training", split: str | None = None) -> pd.DataFrame:
    """Read labelled data from a GUE folder (its ``split``, default train), FASTA, DNABERT .tsv or .csv file.

    ``what`` names the data in error messages (e.g. ``"training"``).
    """
    if path.is_dir():
        frame = read_gue(path)
        return frame[frame["split"] == (split or "train")]
    path = existing_file(path, f"The {what} data file")
    name = path.name.lower().removesuffix(".gz")
    if path.name.lower().endswith(FASTA_SUFFIXES):
        return read_labelled_fasta(path)
    if name.endswith((".tsv", ".txt")):
        return read_dnabert_tsv(path)
    if name.endswith(".csv"):
        return read_labelled_csv(path)
    raise InputFormatError(
        f"The {what} data {str(path)!r} is not a GUE folder, a FASTA file, a DNABERT .tsv or a .csv file."
    )
