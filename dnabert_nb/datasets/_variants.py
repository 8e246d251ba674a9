"""Real variant calls from installed Debian packages, for variant_effects examples and benchmarks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ._genome import packaged_files, packaged_path

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
    return packaged_files(VARIANT_FILES, "genome")


def variants(name: str) -> Path:
    """The path of an installed VCF of :func:`variant_files` (its genome: :func:`genome_fasta` of ``genome``).

    Raises
    ------
    MissingGenomeError
        When the package is not installed; the message gives the ``apt-get install`` to run.
    """
    return packaged_path("variant file", name, VARIANT_FILES)
