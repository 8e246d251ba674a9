"""pytest hooks for the whole run, notebooks and tests alike: workers and threads per core, and the tutorials'
settings and data needs. The fixtures live in tests/conftest.py."""

from __future__ import annotations

import os
import re

import pytest


def pytest_xdist_auto_num_workers(config):
    """``--numprocesses=auto``: one worker per core this process may run on (a container's share, not the
    host's count), at most 4."""
    return min(4, len(os.sched_getaffinity(0)))


def pytest_configure(config):
    """Under pytest-xdist, share the cores among the workers: each worker's torch, and the notebook kernels and
    servers it starts (they inherit OMP_NUM_THREADS), gets its part instead of every worker using them all."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if workers:
        import torch

        threads = max(1, len(os.sched_getaffinity(0)) // workers)
        os.environ["OMP_NUM_THREADS"] = str(threads)
        torch.set_num_threads(threads)


#: Notebooks that read real data from Debian packages: skipped, with the apt-get line, where those are missing.
NOTEBOOK_DATA = {"06_your_peaks.ipynb": {"peak_files": ["gm12878_atac", "hg19_blacklist"], "genomes": ["hg19_chr20"]}}


#: The tutorials' settings in the test run, papermill-style: appended to each notebook's cell tagged ``parameters``.
#: Every cell runs top to bottom as a reader runs it, on less data and fewer epochs, so that ``make test`` stays
#: short; ``.ci/binder`` runs every notebook at its own settings, in the Binder environment, on every CI run.
NOTEBOOK_TEST_SETTINGS = {
    "02_finetune.ipynb": {"TRAIN_ROWS": 500, "EPOCHS": 1},
    "04_variants.ipynb": {"N_VARIANTS": 50},
    "05_widgets.ipynb": {"TRAIN_ROWS": 300},
    "06_your_peaks.ipynb": {"TRAIN_ROWS": 500, "EPOCHS": 1, "SCAN_LENGTH": 10_000},
    "07_design.ipynb": {"N_JUDGE": 300, "N_STARTS": 2, "STEPS": 2},
}


def use_test_settings(item: pytest.Item) -> None:
    """Append :data:`NOTEBOOK_TEST_SETTINGS` to the cell tagged ``parameters`` where ``item`` (an nbval cell) is it.
    A notebook without that cell, or a setting the cell does not assign, is an error: a renamed parameter must not
    silently run at full size."""
    settings, cell = NOTEBOOK_TEST_SETTINGS[item.path.name], item.cell
    tagged = [c for c in item.parent.nb.cells if "parameters" in c.metadata.get("tags", [])]
    if not tagged:
        raise pytest.UsageError(f"{item.path.name}: no cell tagged 'parameters' takes its test settings")
    if cell is not tagged[0]:
        return
    unknown = [name for name in settings if not re.search(rf"^{name} *=", cell.source, re.MULTILINE)]
    if unknown:
        raise pytest.UsageError(f"{item.path.name}: its parameters cell assigns no {', '.join(unknown)}")
    lines = "".join(f"\n{name} = {value!r}" for name, value in settings.items())
    cell.source += f"\n# the test run's settings (conftest.py){lines}"


def pytest_collection_modifyitems(config, items):
    import dnabert_nb as dn

    for item in items:
        if item.path.name in NOTEBOOK_TEST_SETTINGS and hasattr(item, "cell"):
            use_test_settings(item)
        for listing, names in NOTEBOOK_DATA.get(item.path.name, {}).items():
            table = getattr(dn.datasets, listing)().set_index("name").loc[names]
            missing = table[~table["installed"]]
            if len(missing):
                packages = " ".join(sorted(set(missing["package"])))
                item.add_marker(pytest.mark.skip(reason=f"needs Debian data: sudo apt-get install {packages}"))
