"""The labelled datasets and JASPAR matrices shipped inside the package, with their provenance."""

from __future__ import annotations

import functools
import json
from importlib import resources

import pandas as pd

from ..dna.errors import InputFormatError

_DATA = resources.files("dnabert_nb.datasets") / "data"
CATALOG_COLUMNS = ["name", "task", "classes", "n", "length", "source", "license"]


@functools.lru_cache(maxsize=1)
def _manifest() -> dict:
    return json.loads((_DATA / "manifest.json").read_text(encoding="utf-8"))


def _entry(name: str) -> dict:
    datasets = _manifest()["datasets"]
    if name not in datasets:
        raise InputFormatError(
            f"No shipped dataset is called {name!r}; dn.datasets.catalog() shows them: {', '.join(datasets)}."
        )
    return datasets[name]


def _with_package(entry: dict) -> dict:
    """Add the version and archive checksum of the registry package the entry was built from."""
    source = _manifest()["sources"][entry["package"]]
    return {**entry, "package_version": source["version"], "package_sha256": source["sha256"]}


def catalog() -> pd.DataFrame:
    """The shipped labelled datasets, one row each.

    Returns
    -------
    DataFrame
        ``name``, ``task``, ``classes``, ``n`` (rows), ``length`` (nt), ``source``, ``license``.
    """
    rows = [{"name": name, **entry} for name, entry in _manifest()["datasets"].items()]
    return pd.DataFrame(rows)[CATALOG_COLUMNS]


def load(name: str) -> pd.DataFrame:
    """Load a shipped dataset.

    Parameters
    ----------
    name
        A name from :func:`catalog`, e.g. ``"splice"``, ``"ctcf_peaks"``.

    Returns
    -------
    DataFrame
        ``id``, ``sequence``, ``label``, ``split`` (``"train"``/``"valid"``/``"test"``, fixed
        and seeded), plus per-dataset metadata such as peak or TSS coordinates.
    """
    entry = _entry(name)
    with (_DATA / entry["file"]).open("rb") as handle:
        frame = pd.read_csv(handle, sep="\t", compression="gzip", dtype={"id": str, "sequence": str, "split": str})
    return frame


def info(name: str) -> dict:
    """Provenance of a shipped dataset: description, source package and version, license, citation, checksums."""
    return _with_package({"name": name, **_entry(name)})


@functools.lru_cache(maxsize=1)
def _jaspar_table() -> pd.DataFrame:
    entry = _manifest()["jaspar"]
    with (_DATA / entry["file"]).open("rb") as handle:
        return pd.read_csv(handle, sep="\t", compression="gzip")


def jaspar(name: str | None = None) -> dict[str, pd.DataFrame]:
    """JASPAR 2026 CORE vertebrate position frequency matrices (CC BY 4.0), shipped with the package.

    Parameters
    ----------
    name
        Keep only matrices of this TF name (case-insensitive, e.g. ``"CTCF"``); None keeps all.

    Returns
    -------
    dict
        Matrix id (e.g. ``"MA0139.2"``) → DataFrame of counts, positions × ``A C G T``,
        with ``.attrs["id"]`` and ``.attrs["name"]``; ready for logomaker.
    """
    table = _jaspar_table()
    if name is not None:
        table = table[table["name"].str.lower() == name.lower()]
        if table.empty:
            raise InputFormatError(f"No JASPAR CORE vertebrate matrix is named {name!r}.")
    matrices = {}
    for matrix_id, rows in table.groupby("matrix_id", sort=True):
        pfm = rows[["A", "C", "G", "T"]].reset_index(drop=True)
        pfm.index.name = "position"
        pfm.attrs = {"id": matrix_id, "name": rows["name"].iloc[0]}
        matrices[matrix_id] = pfm
    return matrices


def jaspar_info() -> dict:
    """Provenance of the shipped JASPAR matrices: source, license, citation, number of matrices."""
    return _with_package(dict(_manifest()["jaspar"]))
