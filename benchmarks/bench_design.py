"""Sequence design judged by models that did not design: greedy and beam search against a random screen.

For each task the embedded model is fine-tuned on a sample of the training split (the designer); two judges
are fitted on a disjoint sample: the embedded model fine-tuned with another seed, and the k-mer baseline. From
the first test negatives that keep the constraints (no EcoRI or BamHI site on either strand, GC within
0.3-0.7, no run over 8 nt), each method edits at most 10 positions toward the target class. A random screen
with the same number of model calls as a greedy search that takes every step is the reference. Reported per
method: the designer's and each judge's mean probability of the target class, the fraction each judge calls
the target class (its most probable class), mean edits, model calls per design and seconds.

Tasks: fly_core_promoters (distal upstream -> core promoter) and splice (neither -> donor).

Usage: python benchmarks/bench_design.py [--tasks fly_core_promoters splice] [--starts 25]
       [--train 2000] [--out design_results.csv] [--cache design_models]

On 2 CPU cores the embedded model scores about 200 100-nt sequences a second, and a greedy design of 10 edits
of a 100-nt start scores about 3,000: the defaults (25 starts, beam width 2) keep a run near 40 minutes.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import pandas as pd
import torch

import dnabert_nb as dn

CONSTRAINTS = {"forbidden": ["GAATTC", "GGATCC"], "gc": (0.3, 0.7), "max_homopolymer": 8, "max_edits": 10}
METHODS = {"greedy": {}, "beam": {"beam_width": 2}, "random": {}}
#: Per task: the class designed toward, and the class of the starts.
TASKS = {"fly_core_promoters": ("1", "0"), "splice": ("donor", "neither")}


def cpu_name() -> str:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def halves(train: pd.DataFrame, size: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two disjoint samples of at most ``size`` rows each (half of the training split where that is smaller)."""
    shuffled = train.sample(frac=1, random_state=seed)
    size = min(size, len(shuffled) // 2)
    return shuffled.iloc[:size], shuffled.iloc[size : 2 * size]


def tuned(train: pd.DataFrame, valid: pd.DataFrame, seed: int, folder: Path) -> dn.DNABERTModel:
    """The embedded model fine-tuned at the defaults, or the one a previous run left in ``folder``."""
    if (folder / "best").is_dir():
        return dn.load(folder / "best")
    return dn.finetune(dn.load(), train, valid, seed=seed, output_dir=folder, progress=False)


def run_task(name: str, n_starts: int, n_train: int, cache: Path) -> list[dict]:
    data = dn.datasets.load(name)
    data["label"] = data.label.astype(str)
    target, other = TASKS[name]
    train, valid, test = (data[data.split == split] for split in ("train", "valid", "test"))
    valid = valid.sample(min(len(valid), 1000), random_state=0)
    designer_data, judge_data = halves(train, n_train)
    started = time.perf_counter()
    designer = tuned(designer_data, valid, 0, cache / name / "designer")
    judge = tuned(judge_data, valid, 1, cache / name / "judge")
    kmer = dn.baseline(judge_data, valid)
    print(f"{name}: fine-tuned designer and judge on {len(designer_data)} rows each in "
          f"{time.perf_counter() - started:.0f} s")  # fmt: skip
    quality = {
        "designer": dn.evaluate(designer, test, progress=False)["mcc"],
        "judge": dn.evaluate(judge, test, progress=False)["mcc"],
        "k-mer judge": kmer.evaluate(test)["mcc"],
    }
    print("test MCC: " + ", ".join(f"{key} {value:.3f}" for key, value in quality.items()))

    rules = dn.DesignConstraints(**CONSTRAINTS)
    negatives = test[test.label == other]
    keep = [not rules.violations(sequence) for sequence in negatives.sequence]
    starts = negatives[keep].head(n_starts)
    print(f"starts: the first {len(starts)} test negatives that keep the constraints "
          f"({len(negatives) - sum(keep)} of {len(negatives)} negatives break one)")  # fmt: skip
    column = f"prob_{target}"
    rows = []

    def summary(method: str, designs: pd.DataFrame, seconds: float) -> dict:
        judged = dn.predict(judge, designs.sequence.tolist(), progress=False)
        kmer_judged = kmer.predict(designs.sequence.tolist())
        return {
            "task": name,
            "method": method,
            "designs": len(designs),
            "designer p": designs.score.mean(),
            "judge p": judged[column].mean(),
            "judge positive": (judged.label == target).mean(),
            "k-mer judge p": kmer_judged[column].mean(),
            "k-mer positive": (kmer_judged.label == target).mean(),
            "mean edits": designs.edits.mean(),
            "model calls / design": designs.model_calls.mean(),
            "seconds": seconds,
            **{f"test MCC {key}": value for key, value in quality.items()},
        }

    start_scores = dn.predict(designer, starts.sequence.tolist(), progress=False)[column].to_numpy()
    rows.append(summary("start (no edit)", pd.DataFrame({"sequence": starts.sequence.to_numpy(), "score": start_scores,
                                                         "edits": 0, "model_calls": 0}), 0.0))  # fmt: skip
    for method, options in METHODS.items():
        began = time.perf_counter()
        result = dn.design(designer, target, start=starts, method=method, progress=False, **CONSTRAINTS, **options)
        rows.append(summary(method, result.designs, time.perf_counter() - began))
        print(pd.DataFrame(rows[-1:]).round(3).to_string(index=False))
    positives = test[test.label == target].head(n_starts)
    rows.append(summary("test positives (for scale)", pd.DataFrame({
        "sequence": positives.sequence.to_numpy(),
        "score": dn.predict(designer, positives.sequence.tolist(), progress=False)[column].to_numpy(),
        "edits": float("nan"), "model_calls": float("nan")}), 0.0))  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--starts", type=int, default=25)
    parser.add_argument("--train", type=int, default=2000, help="training rows of the designer and of the judges")
    parser.add_argument("--out", default="design_results.csv")
    parser.add_argument("--cache", default="design_models", help="fine-tuned models, reused by a later run")
    args = parser.parse_args()
    print(f"CPU: {cpu_name()}, torch threads {torch.get_num_threads()}")
    rows = [row for task in args.tasks for row in run_task(task, args.starts, args.train, Path(args.cache))]
    table = pd.DataFrame(rows)
    table.to_csv(args.out, index=False)
    shown = table.drop(columns=[column for column in table.columns if column.startswith("test MCC")])
    print(shown.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
