"""Peak memory of every notebook, run top to bottom the way Binder's Jupyter would run it (Binder's limit: 2 GB).

Each notebook runs with ``jupyter nbconvert --execute`` in a child process that reports the largest resident set of
its descendants — the kernel, which holds the data and the models. Run it with the Python of the environment to
measure (``.ci/binder`` runs it in the reproduced Binder environment).

``--keep FOLDER`` keeps the executed notebooks there (``.ci/binder``: ``docs/notebooks``, the pages of the docs).

Usage: python benchmarks/bench_notebook_memory.py [--limit-mb 2048] [--keep FOLDER] [notebooks ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

CHILD = """
import resource, subprocess, sys
done = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                       "--ExecutePreprocessor.timeout=900", "--output-dir", sys.argv[2], sys.argv[1]],
                      capture_output=True, text=True)
sys.stderr.write(done.stderr[-3000:] if done.returncode else "")
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(done.returncode)
"""


def peak_mb(notebook: Path, keep: Path | None = None) -> tuple[float, float]:
    """Peak resident memory (MB) of the processes that ran ``notebook``, and the seconds it took; the executed
    notebook is kept in ``keep`` where given."""
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as output:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(notebook), str(keep or output)],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode:
        raise SystemExit(f"{notebook.name} failed:\n{done.stderr}")
    return int(done.stdout.split()[-1]) / 1024, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--limit-mb", type=float, default=2048)
    parser.add_argument("--keep", type=Path, help="a folder for the executed notebooks")
    args = parser.parse_args()
    notebooks = args.notebooks or sorted(NOTEBOOKS.glob("*.ipynb"))
    print(f"python {sys.version.split()[0]} at {sys.executable}")
    over = []
    for notebook in notebooks:
        megabytes, seconds = peak_mb(notebook, args.keep)
        print(f"{notebook.name:28s} peak {megabytes:7.0f} MB   {seconds:5.0f} s", flush=True)
        if megabytes > args.limit_mb:
            over.append(notebook.name)
    if over:
        raise SystemExit(f"above {args.limit_mb:.0f} MB: {', '.join(over)}")


if __name__ == "__main__":
    main()
