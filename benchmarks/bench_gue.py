"""GUE promoter quality table: the embedded model fine-tuned with dn.finetune's defaults, beside published
DNABERT-6 / DNABERT-2 MCC, a k-mer logistic-regression baseline and the same architecture trained from
random initialisation with the same settings.

Each task: fine-tune on train, select the epoch on dev, report MCC (x100) on test.
Usage: python benchmarks/bench_gue.py [--tasks prom_core_tata prom_300_tata ...] [--epochs 3] [--max-train N]
Data: ../shared/gue (GUE, Zhou et al. 2023). Published MCC: Table 4 of the DNABERT-2 paper.
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import torch
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import matthews_corrcoef
from transformers import BertForMaskedLM

import dnabert_nb as dn

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


def random_twin(model: dn.DNABERTModel, seed: int = 0) -> dn.DNABERTModel:
    """The same architecture and tokenizer with freshly initialised weights."""
    torch.manual_seed(seed)
    network = BertForMaskedLM(copy.deepcopy(model.config))
    return dn.DNABERTModel(network, model.tokenizer, source="random init")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(PUBLISHED))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-train", type=int, default=None, help="subsample training sets (quick checks only)")
    args = parser.parse_args()
    pretrained = dn.load()
    rows = []
    for task in args.tasks:
        data = dn.read_gue(GUE / task)
        train, dev, test = (data[data.split == s] for s in ("train", "valid", "test"))
        if args.max_train:
            train = train.sample(min(args.max_train, len(train)), random_state=0)
        scores = {}
        for name, start in (("pretrained", pretrained), ("random init", random_twin(pretrained))):
            began = time.perf_counter()
            tuned = dn.finetune(start, train, dev, epochs=args.epochs, progress=False, live_plot=False)
            scores[name] = (dn.evaluate(tuned, test)["mcc"], time.perf_counter() - began)
            print(f"{task} {name}: test MCC {100 * scores[name][0]:.2f} in {scores[name][1]:.0f} s", flush=True)
        baseline = kmer_baseline(train, test)
        rows.append((task, len(train), *PUBLISHED[task], 100 * baseline, 100 * scores["pretrained"][0],
                     100 * scores["random init"][0], scores["pretrained"][1]))
    print("\n| task | train | DNABERT-6 (published) | DNABERT-2 (published) | k-mer LR | dnabert-mini-6 fine-tuned | same, random init | wall time (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for task, n, d6, d2, lr, ours, random_init, seconds in rows:
        print(f"| {task} | {n} | {d6:.2f} | {d2:.2f} | {lr:.2f} | {ours:.2f} | {random_init:.2f} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
