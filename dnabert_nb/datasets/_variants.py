"""Real variant calls shipped with the package (sites of public VCFs), for variant_effects examples and benchmarks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..dna.errors import InputFormatError
from ._shipped import _DATA, _manifest


def variant_files() -> pd.DataFrame:
    """The VCF files :func:`variants` gives, with their genome (for :func:`genome_fasta`) and provenance.

    Returns
    -------
    DataFrame
        ``name``, ``genome``, ``n`` (sites), ``source``, ``license``, ``description``.
    """
    rows = [{"name": name, **entry} for name, entry in _manifest()["variants"].items()]
    return pd.DataFrame(rows)[["name", "genome", "n", "source", "license", "description"]]


def variants(name: str) -> Path:
    """The path of a shipped VCF of :func:`variant_files`, for :func:`dnabert_nb.io.read_vcf`.

    Its sequence is :func:`genome_fasta` of the file's ``genome``, which comes from a Debian package.

    Raises
    ------
    InputFormatError
        When no shipped VCF has that name.
    """
    files = _manifest()["variants"]
    if name not in files:
        raise InputFormatError(f"No VCF is called {name!r}; dn.datasets.variant_files() lists {', '.join(files)}.")
    return Path(str(_DATA / files[name]["file"]))
