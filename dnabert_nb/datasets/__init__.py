"""Real, offline datasets: labelled sequence tasks and JASPAR matrices shipped with the package,
genomic sequence from installed Debian packages for pre-training, and training sets built from your own peaks.

>>> import dnabert_nb as dn
>>> dn.datasets.catalog()
>>> df = dn.datasets.load("splice")
>>> dn.datasets.info("splice")["citation"]
"""

import warnings

from ._from_peaks import balance, from_peaks
from ._genome import GenomeRecord, MissingGenomeError, cache_folder, genome, genome_fasta, genomes
from ._peak_files import peak_files, peaks
from ._shipped import catalog, info, jaspar, jaspar_info, load
from ._variants import variant_files, variants

__all__ = [
    "GenomeRecord",
    "MissingGenomeError",
    "balance",
    "cache_folder",
    "catalog",
    "from_peaks",
    "genome",
    "genome_fasta",
    "genomes",
    "info",
    "jaspar",
    "jaspar_info",
    "load",
    "peak_files",
    "peaks",
    "variant_files",
    "variants",
]


def __getattr__(name: str) -> object:
    """``list``, the old name of :func:`catalog` (it shadowed Python's ``list``), with a DeprecationWarning."""
    if name == "list":
        warnings.warn("dn.datasets.list() is now dn.datasets.catalog().", DeprecationWarning, stacklevel=2)
        return catalog
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
