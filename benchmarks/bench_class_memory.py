"""A class's afternoon in one kernel: the no-code app driven as a teacher would, with the process's memory after each
step (resident set size, RSS) and at its peak.

Open the app (a ready model), predict 100 kb, an attention track, a mutation with its map, motifs, a design, then
train twice (the Train tab's default recipe, then a short full fine-tune) and use another ready model. Binder gives a
kernel 2 GB; the goal is to stay under 1.5 GB.

Usage: python benchmarks/bench_class_memory.py [--limit-mb 1536]
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np

import dnabert_nb as dn


def resident_mb() -> float:
    """The process's resident set size now, in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    """The process's largest resident set size so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit-mb", type=float, default=1536, help="fail above this peak")
    args = parser.parse_args()
    began = time.perf_counter()
    rows = []

    def record(step: str) -> None:
        rows.append((step, resident_mb(), peak_mb(), time.perf_counter() - began))
        print(f"{step:<44} RSS {rows[-1][1]:7.0f} MB   peak {rows[-1][2]:7.0f} MB   {rows[-1][3]:6.0f} s", flush=True)

    record("python and dnabert_nb imported")
    page = dn.widgets.app()
    record("app open on a ready model (mini6-splice)")
    rng = np.random.default_rng(0)
    page.predicting.pasted.value = ">region\n" + "".join(rng.choice(list("ACGT"), 100_000))
    page.predicting.run()
    page.predicting.wait()
    record("Predict: 100 kb")
    page.attention.choice.value = page.attention.choice.options[3]
    record("Attention: another sequence")
    page.mutations.wait()
    page.mutations.apply(10, "A" if page.mutations.sequence[10] != "A" else "C")
    page.mutations.wait()
    record("Mutations: one substitution and its map")
    page.motifs.run()
    page.motifs.wait()
    record(f"Motifs: {len(page.motifs.result.motifs)} found")
    page.designing.run()
    page.designing.wait()
    record("Design: toward donor")
    page.training.train()
    page.training.wait()
    record("Train: the default recipe (linear probe)")
    page.training.recipe.value, page.training.epochs.value, page.training.rows.value = "fine-tune", 1, 1000
    page.training.train()
    page.training.wait()
    record("Train: a fine-tune, 1 epoch of 1,000 rows")
    page.chooser.use("mini6-ctcf")
    record("another ready model (mini6-ctcf)")
    worst = max(peak for _, _, peak, _ in rows)
    print(f"\npeak resident memory {worst:.0f} MB (limit {args.limit_mb:.0f} MB), {time.perf_counter() - began:.0f} s")
    if worst > args.limit_mb:
        raise SystemExit(f"the class scenario peaked at {worst:.0f} MB, above {args.limit_mb:.0f} MB")


if __name__ == "__main__":
    main()
