"""How long does the default ``finetune`` take on 2,000 rows, against the budget it had before (1,000 steps at least)?

``make demo``'s rows (``fly_core_promoters``: 2,000 training rows, 1,000 valid, 2,000 test, sampled with
``random_state=0`` as ``bench_finetune_stability.py`` samples them), the embedded model, one seed. For each
precision asked for, ``dn.finetune`` runs twice in this process: with the budget of ``epochs="auto"`` before (at
least 1,000 optimiser steps, 3 to 30 epochs) and with today's (8 passes in 500 to 1,000 steps). Reported: the wall
time, the optimiser steps, and the test MCC beside the k-mer baseline's.

Usage: python benchmarks/bench_time_to_model.py [--precision fp32 auto] [--seed 0] [--task fly_core_promoters]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
import torch

import dnabert_nb as dn
from dnabert_nb.training import schedule as _schedule
from dnabert_nb.training import selection as _selection

#: (AUTO_PASSES, AUTO_STEPS) of each budget: the earlier one is "at least 1,000 steps", with no pass count.
BUDGETS = {"before (>= 1,000 steps)": (0, (1000, 10**9)), "default": (None, None)}


def rows(task: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    data = dn.datasets.load(task)
    parts = [data[data["split"] == split] for split in ("train", "valid", "test")]
    return tuple(part.sample(n=min(n, len(part)), random_state=0) for part, n in zip(parts, (2000, 1000, 2000)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precision", nargs="+", default=["fp32", "auto"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--task", default="fly_core_promoters")
    args = parser.parse_args()
    train, valid, test = rows(args.task)
    default = (_schedule.AUTO_PASSES, _schedule.AUTO_STEPS)
    print(f"{args.task}: {len(train)} / {len(valid)} / {len(test)} rows; torch {torch.__version__}, ", end="")
    print(f"{torch.get_num_threads()} threads; dnabert_nb {dn.__version__}")
    found = []
    for precision in args.precision:
        for name, (passes, steps) in BUDGETS.items():
            _schedule.AUTO_PASSES = default[0] if passes is None else passes
            _schedule.AUTO_STEPS = default[1] if steps is None else steps
            started = time.perf_counter()
            model = dn.finetune(
                dn.load(), train, valid, seed=args.seed, precision=precision, progress=False, live_plot=False
            )
            seconds = time.perf_counter() - started
            history = model.history
            scores = dn.evaluate(model, test, baseline=True, progress=False)
            found.append(
                {
                    "precision": precision,
                    "budget": name,
                    "steps": int(history["step"].max()),
                    "seconds": round(seconds),
                    "test_mcc": round(scores.loc["model", "mcc"], 3),
                    "baseline_mcc": round(scores.loc["k-mer baseline", "mcc"], 3),
                    "kept": "linear probe" if _selection.is_linear_probe(model) else "network",
                }
            )
            print(pd.DataFrame(found[-1:]).to_string(index=False, header=len(found) == 1), flush=True)
    table = pd.DataFrame(found)
    table["time_vs_before"] = table["seconds"] / table.groupby("precision")["seconds"].transform("first")
    print("\n" + table.round(2).to_string(index=False))


if __name__ == "__main__":
    main()
