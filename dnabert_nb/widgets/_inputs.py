"""What a person pastes or uploads into a panel, turned into what the library's readers take."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import ipywidgets as widgets
import pandas as pd

from ..dna.errors import InputFormatError
from ..io.fasta import read_fasta
from ..io.labelled import read_labelled_csv, read_labelled_file


@contextmanager
def uploaded_file(value: object) -> Iterator[Path]:
    """The first file of a ``FileUpload`` value, saved under its own name in a temporary folder removed afterwards.

    The library's readers then read it as they read any file (format from the name, gzip sniffed).
    """
    files = list(value or ())
    if not files:
        raise InputFormatError("No file was uploaded; choose a file first.")
    upload = files[0]
    name = Path(str(upload["name"])).name or "upload"
    with tempfile.TemporaryDirectory(prefix="dnabert_nb_upload_") as folder:
        path = Path(folder) / name
        path.write_bytes(bytes(upload["content"]))
        yield path


def pasted_sequences(text: str) -> pd.DataFrame:
    """Sequences pasted as FASTA (``>`` headers) or one per line: a DataFrame with ``id`` and ``sequence``.

    Letters are checked later, by the verb that reads them, which names the sequence and position of a bad one.
    """
    text = text.strip()
    if not text:
        raise InputFormatError("Paste at least one sequence (FASTA, or one sequence per line).")
    if text.startswith(">"):
        with tempfile.TemporaryDirectory(prefix="dnabert_nb_paste_") as folder:
            path = Path(folder) / "pasted.fa"
            path.write_text(text + "\n")
            return read_fasta(path)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return pd.DataFrame({"id": [f"seq{i + 1}" for i in range(len(lines))], "sequence": lines})


def uploaded_sequences(value: object) -> pd.DataFrame:
    """An uploaded FASTA, or CSV with a ``sequence`` column, as a DataFrame with ``id`` and ``sequence``."""
    with uploaded_file(value) as path:
        suffixes = [suffix.lower() for suffix in path.suffixes if suffix.lower() != ".gz"]
        if not suffixes or suffixes[-1] not in (".csv", ".tsv", ".txt"):
            return read_fasta(path)
        table = read_labelled_csv(path) if suffixes[-1] == ".csv" else pd.read_csv(path, sep="\t")
    if "sequence" not in table.columns:
        raise InputFormatError(f"{path.name}: a table needs a 'sequence' column; it has {list(table.columns)}.")
    if "id" not in table.columns:
        table.insert(0, "id", [f"seq{i + 1}" for i in range(len(table))])
    return table


def uploaded_labelled(value: object) -> pd.DataFrame:
    """An uploaded labelled file (``sequence,label`` CSV, DNABERT TSV, FASTA with ``label=`` headers) as a table."""
    with uploaded_file(value) as path:
        table = read_labelled_file(path, "uploaded")
    if not {"sequence", "label"} <= set(table.columns):
        raise InputFormatError(
            f"{path.name}: no 'sequence' and 'label' columns (found {list(table.columns)}). A CSV file needs the "
            "header 'sequence,label' and commas between the fields."
        )
    return table


class SequenceInput(widgets.VBox):
    """Your own sequences for a panel: pasted (FASTA, or one a line) or uploaded (FASTA, CSV), then "Use".

    ``use(table)`` is called with a DataFrame of ``id`` and ``sequence`` inside ``reporting`` (a panel's context
    manager that shows errors in plain words).
    """

    def __init__(self, use: Callable[[pd.DataFrame], None], reporting: Callable, *, one: bool = False):
        self._use, self._reporting = use, reporting
        what = "a sequence" if one else "sequences: FASTA, or one a line"
        self.text = widgets.Textarea(placeholder=f"paste {what}", layout=widgets.Layout(width="520px", height="52px"))
        self.upload = widgets.FileUpload(accept=".fa,.fasta,.fna,.gz,.csv,.tsv,.txt", description="Upload")
        self.use_button = widgets.Button(description="Use", icon="check", tooltip="explore these sequences")
        self.use_button.on_click(lambda _: self.submit())
        super().__init__([widgets.HBox([self.text, self.upload, self.use_button])])

    def submit(self) -> None:
        """Hand the pasted (or, with nothing pasted, the uploaded) sequences to the panel."""
        with self._reporting():
            table = pasted_sequences(self.text.value) if self.text.value.strip() else None
            if table is None and self.upload.value:
                table = uploaded_sequences(self.upload.value)
            if table is None:
                raise InputFormatError("Paste a sequence or upload a FASTA file first, then press Use.")
            self._use(table)
