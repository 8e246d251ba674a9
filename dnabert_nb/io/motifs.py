"""Motif files: position frequency matrices written as JASPAR, MEME (minimal, version 4) or TRANSFAC text.

The matrices are this package's PFMs (positions × ``A C G T``, counts or probabilities, e.g. the ``pfms`` of
:func:`dnabert_nb.attention_motifs` or :func:`dnabert_nb.datasets.jaspar`). The files load in the MEME suite
(Tomtom, FIMO), HOMER's converters, JASPAR tools and Biopython's ``Bio.motifs``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..dna.errors import InputFormatError
from ..dna.pfm import BASES, PROBABILITY_SAMPLES

#: The formats :func:`write_motifs` writes.
MOTIF_FORMATS = ("jaspar", "meme", "transfac")


def _token(text: object) -> str:
    """``text`` as one word: every run of whitespace becomes ``_`` (ids and names must not break a line)."""
    return re.sub(r"\s+", "_", str(text).strip()) or "_"


def _frame_name(frame: pd.DataFrame) -> str:
    """The id of a lone DataFrame: its ``.name``, ``attrs["id"]``, ``attrs["name"]`` or ``"motif_1"``."""
    for name in (frame.__dict__.get("name"), frame.attrs.get("id"), frame.attrs.get("name")):
        if isinstance(name, str) and name.strip():
            return name
    return "motif_1"


def _as_motif_dict(pfms: object) -> dict[str, pd.DataFrame]:
    if isinstance(pfms, pd.DataFrame):
        return {_frame_name(pfms): pfms}
    if not isinstance(pfms, Mapping):
        raise InputFormatError(
            f"pfms is a {type(pfms).__name__}; give a dict of name → DataFrame (positions × A, C, G, T), "
            "e.g. dn.attention_motifs(...).pfms, or a single such DataFrame."
        )
    if not pfms:
        raise InputFormatError("pfms is empty; give at least one motif (name → DataFrame of A, C, G, T).")
    return {str(name): frame for name, frame in pfms.items()}


def _checked_values(name: str, frame: object) -> np.ndarray:
    """The matrix as floats in ``A C G T`` column order; InputFormatError naming the motif otherwise."""
    if not isinstance(frame, pd.DataFrame):
        raise InputFormatError(f"Motif {name!r} is a {type(frame).__name__}; give a DataFrame with columns A, C, G, T.")
    columns = [str(column) for column in frame.columns]
    missing = [base for base in BASES if base not in columns]
    extra = [column for column in columns if column not in BASES]
    if missing or extra or len(columns) != len(BASES):
        what = f"lacks {', '.join(missing)}" if missing else f"has columns {columns}"
        raise InputFormatError(f"Motif {name!r} {what}; a PFM has exactly the columns A, C, G, T (any order).")
    if len(frame) == 0:
        raise InputFormatError(f"Motif {name!r} has no rows; a PFM needs one row per position.")
    try:
        values = frame.set_axis(columns, axis=1)[BASES].to_numpy(dtype=float)
    except (TypeError, ValueError) as error:
        raise InputFormatError(f"Motif {name!r} holds values that are not numbers ({error}).") from None
    bad = np.flatnonzero(~np.isfinite(values).all(axis=1) | (values < 0).any(axis=1) | (values.sum(axis=1) <= 0))
    if bad.size:
        raise InputFormatError(
            f"Motif {name!r}, row {bad[0]} holds {values[bad[0]].tolist()}; every row needs non-negative, finite "
            "counts or probabilities that are not all zero."
        )
    return values


def _is_probabilities(values: np.ndarray) -> bool:
    """Rows summing to 1 are probabilities (the rule of :mod:`dnabert_nb.dna.pfm`)."""
    return bool(np.allclose(values.sum(axis=1), 1))


def _nsites(name: str, frame: pd.DataFrame) -> int:
    """``attrs["nsites"]`` as a whole number of observations, else ``PROBABILITY_SAMPLES`` (100)."""
    nsites = frame.attrs.get("nsites", PROBABILITY_SAMPLES)
    try:
        number = float(nsites)
    except (TypeError, ValueError):
        number = float("nan")
    if not np.isfinite(number) or round(number) < 1:
        raise InputFormatError(f"Motif {name!r} has attrs['nsites'] = {nsites!r}; give a whole number above zero.")
    return int(round(number))


def _counts(name: str, frame: pd.DataFrame, values: np.ndarray) -> np.ndarray:
    """Counts as given; probabilities times ``nsites``, rounded to whole counts that keep each row's sum."""
    if not _is_probabilities(values):
        return values
    scaled = values / values.sum(axis=1, keepdims=True) * _nsites(name, frame)
    counts = np.floor(scaled)
    remainders = scaled - counts
    short = np.round(scaled.sum(axis=1) - counts.sum(axis=1)).astype(int)
    for row, units in enumerate(short):  # largest remainders first; ties go to the earlier column (A C G T)
        counts[row, np.argsort(-remainders[row], kind="stable")[:units]] += 1
    return counts


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


def _jaspar(motif_id: str, name: str, frame: pd.DataFrame, values: np.ndarray) -> str:
    counts = _counts(motif_id, frame, values)
    width = max(len(_number(value)) for value in counts.ravel())
    rows = [f">{_token(motif_id)}\t{_token(name)}"]
    for column, base in enumerate(BASES):
        rows.append(f"{base}  [ " + " ".join(_number(v).rjust(width) for v in counts[:, column]) + " ]")
    return "\n".join(rows) + "\n"


def _meme(motif_id: str, name: str, frame: pd.DataFrame, values: np.ndarray) -> str:
    if _is_probabilities(values):
        nsites = _nsites(motif_id, frame)
    else:
        nsites = max(1, int(round(values.sum(axis=1).max())))
    probabilities = values / values.sum(axis=1, keepdims=True)
    title = _token(motif_id) if _token(name) == _token(motif_id) else f"{_token(motif_id)} {_token(name)}"
    rows = [
        f"MOTIF {title}",
        f"letter-probability matrix: alength= 4 w= {len(values)} nsites= {nsites} E= 0",
        *(" ".join(f"{p:.6f}" for p in row) for row in probabilities),
    ]
    return "\n".join(rows) + "\n\n"  # the blank line ends the matrix


def _transfac(motif_id: str, name: str, frame: pd.DataFrame, values: np.ndarray) -> str:
    counts = _counts(motif_id, frame, values)
    width = max(6, *(len(_number(value)) for value in counts.ravel()))
    rows = [f"AC  {_token(motif_id)}", "XX", f"ID  {_token(name)}", "XX"]
    rows.append("P0" + "".join(base.rjust(width + 1) for base in BASES))
    for position, row in enumerate(counts, start=1):
        rows.append(f"{position:02d}" + "".join(_number(value).rjust(width + 1) for value in row))
    rows += ["XX", "//"]
    return "\n".join(rows) + "\n"


_MEME_HEADER = (
    "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\nBackground letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n"
)
_WRITERS = {"jaspar": _jaspar, "meme": _meme, "transfac": _transfac}


def write_motifs(
    pfms: Mapping[str, pd.DataFrame] | pd.DataFrame,
    path: str | os.PathLike,
    *,
    format: str = "jaspar",
) -> Path:
    """Write position frequency matrices as a JASPAR, MEME or TRANSFAC motif file.

    Parameters
    ----------
    pfms
        Motif id → DataFrame, positions × ``A C G T`` (any column order) of counts or probabilities, e.g.
        ``dn.attention_motifs(...).pfms`` or :func:`dnabert_nb.datasets.jaspar`; or a single DataFrame, whose id
        is its ``.name``, ``attrs["id"]``, ``attrs["name"]`` or ``"motif_1"``. A matrix's ``attrs["name"]``
        (e.g. the TF name) is written as its name beside the id; whitespace in ids and names becomes ``_``.
    path
        The file to write; its folder must exist.
    format
        ``"jaspar"`` (the JASPAR 2020+ ``.jaspar`` text: ``>ID NAME`` and one ``A [ ... ]`` row per base),
        ``"meme"`` (MEME minimal motif format, version 4, uniform background, both strands) or ``"transfac"``
        (``AC``/``ID``/``P0`` blocks ending in ``//``); case-insensitive.

    Returns
    -------
    Path
        The file written.

    Notes
    -----
    A matrix whose rows all sum to 1 is read as probabilities (as everywhere in
    :mod:`dnabert_nb.dna.pfm`). JASPAR and TRANSFAC hold counts: probabilities become counts of
    ``nsites`` observations (``attrs["nsites"]``, else 100), each row rounded to whole counts that sum to
    ``nsites`` (the largest remainders round up); counts are written as given. MEME holds each row divided by its
    sum (6 decimals), with ``nsites`` the largest row sum of counts, or for probabilities ``attrs["nsites"]``,
    else 100. Biopython reads all three (``Bio.motifs.parse(handle, "jaspar" | "minimal" | "transfac")``).
    """
    path = Path(path).expanduser()
    kind = format.lower() if isinstance(format, str) else format
    if kind not in _WRITERS:
        raise InputFormatError(f"format = {format!r}; give one of {', '.join(repr(f) for f in MOTIF_FORMATS)}.")
    motifs = _as_motif_dict(pfms)
    blocks = []
    for motif_id, frame in motifs.items():
        values = _checked_values(motif_id, frame)
        name = frame.attrs.get("name") or motif_id
        blocks.append(_WRITERS[kind](motif_id, str(name), frame, values))
    if not path.parent.is_dir():
        raise InputFormatError(f"The folder {str(path.parent)!r} does not exist; create it or write elsewhere.")
    with open(path, "w", encoding="utf-8") as handle:
        if kind == "meme":
            handle.write(_MEME_HEADER)
        handle.write("\n".join(blocks) if kind == "jaspar" else "".join(blocks))
    return path
