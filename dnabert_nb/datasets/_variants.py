"""Real variant calls from installed Debian packages, for variant_effects examples and benchmarks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..core.errors import InputFormatError
from . import _genome
from ._genome import MissingGenomeError

VARIANT_FILES = {
    "1000g_chr22": {
        "package": "r-bioc-variantannotation",
        "path": "usr/lib/R/site-library/VariantAnnotation/extdata/chr22.vcf.gz",
        "genome": "hg19_chr22",
        "description": "1000 Genomes calls of 5 samples on hg19 chr22:50.30-51.00 Mb, 10,376 records (bgzip, "
        "tabix-indexed); Bioconductor VariantAnnotation example data (Artistic-2.0)",
    },
}


def variant_files() -> pd.DataFrame:
    """The VCF files :func:`variants` can find, their Debian package, genome and whether it is installed here."""
    rows = [
        {
            "name": name,
            "package": spec["package"],
            "genome": spec["genome"],
            "installed": (_genome.SEARCH_ROOT / spec["path"]).is_file(),
            "description": spec["description"],
        }
        for name, spec in VARIANT_FILES.items()
    ]
    return pd.DataFrame(rows)


def variants(name: str) -> Path:
    """The path of an installed VCF of :func:`variant_files` (its genome: :func:`genome_fasta` of ``genome``).

    Raises
    ------
    MissingGenomeError
        When the package is not installed; the message gives the ``apt-get install`` to run.
    """
    if name not in VARIANT_FILES:
        raise InputFormatError(f"No variant file is called {name!r}; choose one of {', '.join(VARIANT_FILES)}.")
    spec = VARIANT_FILES[name]
    path = _genome.SEARCH_ROOT / spec["path"]
    if not path.is_file():
        raise MissingGenomeError(
            f"Variant file {name!r} comes from the Debian package {spec['package']!r}, which is not installed "
            f"({path} is missing). Install it with: sudo apt-get install {spec['package']}"
        )
    return path
