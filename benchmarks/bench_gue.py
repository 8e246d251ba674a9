"""GUE promoter quality table: the embedded model fine-tuned with dn.finetune's defaults, beside published
DNABERT-6 / DNABERT-2 MCC, a k-mer logistic-regression baseline and the same architecture trained from
random initialisation with the same settings.

Each task: fine-tune on train, select the epoch on dev, report MCC (x100) on test.
Usage: python benchmarks/bench_gue.py [--tasks prom_core_tata prom_300_tata ...] [--epochs 3|auto] [--max-train N]
                                     [--models pretrained "random init" "k-mer-aware init"] [--seeds 0 1 2]
                                     [--results FILE]
``--epochs auto`` is finetune's own default (a step budget, early stopping, the linear probe and the k-mer
baseline of ``dn.baseline``, whose test MCC is then recorded as ``dn_baseline``). With several seeds, a cell is the
mean and standard deviation of the seeds' test MCC (each seed draws the head, batch order and dropout, and a twin's
initial weights).
Data: ../shared/gue (GUE, Zhou et al. 2023). Published MCC: Table 4 of the DNABERT-2 paper.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from pathlib import Path

import torch
from bench_finetune_stability import kept  # a sibling script: which model finetune returned, in words
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import matthews_corrcoef
from transformers import BertForMaskedLM

import dnabert_nb as dn
from dnabert_nb.training.pretrain import kmer_aware_init

GUE = Path(__file__).resolve().parents[2] / "shared" / "gue"
PUBLISHED = {  # task: (DNABERT-6, DNABERT-2), MCC x 100
    "prom_core_all": (68.90, 69.37),
    "prom_core_notata": (70.47, 68.04),
    "prom_core_tata": (76.06, 74.17),
    "prom_300_tata": (61.56, 71.59),
}


def kmer_baseline(train, test) -> float:
    """Logistic regression on counts of character k-grams, k = 3..6."""
    vectorizer = CountVectorizer(analyzer="char", ngram_range=(3, 6), lowercase=False)
    features = vectorizer.fit_transform(train.sequence)
    classifier = LogisticRegression(max_iter=2000, C=0.1).fit(features, train.label)
    return matthews_corrcoef(test.label, classifier.predict(vectorizer.transform(test.sequence)))


def random_twin(model: dn.DNABERTModel, kmer_aware: bool, seed: int = 0) -> dn.DNABERTModel:
    """The same architecture and tokenizer with fresh weights: BERT's initialisation, or the
    k-mer-aware one that pre-training starts from (to separate what pre-training adds from its start)."""
    torch.manual_seed(seed)
    network = BertForMaskedLM(copy.deepcopy(model.config))
    if kmer_aware:
        kmer_aware_init(network, model.tokenizer, seed)
    return dn.DNABERTModel(network, model.tokenizer, source="random init")


COLUMNS = ["pretrained", "random init", "k-mer-aware init"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(PUBLISHED))
    parser.add_argument("--epochs", default="3", help="an integer or 'auto'")
    parser.add_argument("--max-train", type=int, default=None, help="subsample training sets (marked in the table)")
    parser.add_argument("--models", nargs="+", default=COLUMNS, choices=COLUMNS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], help="one fine-tuning run per seed")
    parser.add_argument(
        "--results",
        type=Path,
        default=Path("gue_results.json"),
        help="rows are merged into this file, so tasks can be run one at a time",
    )
    args = parser.parse_args()
    epochs = args.epochs if args.epochs == "auto" else int(args.epochs)
    pretrained = dn.load()
    starts = {
        "pretrained": lambda seed: pretrained,
        "random init": lambda seed: random_twin(pretrained, kmer_aware=False, seed=seed),
        "k-mer-aware init": lambda seed: random_twin(pretrained, kmer_aware=True, seed=seed),
    }
    results = json.loads(args.results.read_text()) if args.results.is_file() else {}
    for task in args.tasks:
        data = dn.read_gue(GUE / task)
        train, dev, test = (data[data.split == s] for s in ("train", "valid", "test"))
        if args.max_train and args.max_train < len(train):
            train = train.sample(args.max_train, random_state=0)
        row = results.setdefault(task, {})
        row.update(
            train=len(train),
            full_train=int((data.split == "train").sum()),
            epochs=epochs,
            kmer_lr=100 * kmer_baseline(train, test),
        )
        for name in args.models:
            scores, seconds = [], []
            for seed in args.seeds:
                began = time.perf_counter()
                tuned = dn.finetune(
                    starts[name](seed), train, dev, epochs=epochs, seed=seed, progress=False, live_plot=False
                )
                scores.append(100 * dn.evaluate(tuned, test, progress=False)["mcc"])
                seconds.append(time.perf_counter() - began)
                print(
                    f"{task} {name} seed {seed}: test MCC {scores[-1]:.2f} in {seconds[-1]:.0f} s, "
                    f"kept the {kept(tuned)}"
                )
                if tuned.baseline is not None:
                    row["dn_baseline"] = 100 * tuned.baseline.evaluate(test)["mcc"]
                    print(f"{task} dn.baseline (k={tuned.baseline.k}): test MCC {row['dn_baseline']:.2f}", flush=True)
            row.update(
                {
                    name: statistics.mean(scores),
                    f"{name} seconds": statistics.mean(seconds),
                    f"{name} seeds": dict(zip(args.seeds, scores)),
                }
            )
            args.results.write_text(json.dumps(results, indent=2))
    print(table(results))


def table(results: dict) -> str:
    """The BENCHMARKS.md table of every task in ``results``."""
    lines = [
        "| task | train | DNABERT-6 (published) | DNABERT-2 (published) | k-mer LR | dnabert-mini-6 "
        "fine-tuned | same, random init | same, k-mer-aware init | wall time, pretrained (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for task, row in results.items():
        train = f"{row['train']}" + ("" if row["train"] == row["full_train"] else f" of {row['full_train']}")
        cells = [_cell(row, name) for name in COLUMNS]
        seconds = f"{row['pretrained seconds']:.0f}" if "pretrained seconds" in row else "–"
        lines.append(
            f"| {task} | {train} | {PUBLISHED[task][0]:.2f} | {PUBLISHED[task][1]:.2f} | "
            f"{row['kmer_lr']:.2f} | {' | '.join(cells)} | {seconds} |"
        )
    return "\n".join(lines)


def _cell(row: dict, name: str) -> str:
    """One model's test MCC: a single run's, or the seeds' mean ± standard deviation."""
    if name not in row:
        return "–"
    runs = list(row.get(f"{name} seeds", {}).values())
    if len(runs) < 2:
        return f"{row[name]:.2f}"
    return f"{row[name]:.2f} ± {statistics.stdev(runs):.2f} (n={len(runs)})"


if __name__ == "__main__":
    main()
