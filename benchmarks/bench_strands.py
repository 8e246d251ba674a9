"""One strand or both: test MCC of every ready model reading one strand against both (``both_strands=True``), and
the share of test sequences whose one-strand call flips between a sequence and its reverse complement.

Peaks have no strand, so a peak and its reverse complement are the same site; a splice site and a promoter have
one, so there the reverse complement is another sequence and averaging the two is a question, not a fix.

Usage: python benchmarks/bench_strands.py [--precision auto] [names ...]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
import torch
from sklearn.metrics import matthews_corrcoef

import dnabert_nb as dn
from dnabert_nb.core import ready
from dnabert_nb.dna.alphabet import reverse_complement


def strands(name: str, precision: str) -> dict:
    """One ready model's test MCC on one strand and on both, and the share of calls that flip with the strand."""
    card = dn.model_card(name)
    data = dn.datasets.load(card["dataset"])
    test = ready.named_classes(data[data.split == "test"], card)
    model = dn.load(name, precision=precision)
    began = time.perf_counter()
    forward = dn.predict(model, test, progress=False)
    one_seconds = time.perf_counter() - began
    flipped = test.assign(sequence=[reverse_complement(s) for s in test["sequence"]])
    reverse = dn.predict(model, flipped, progress=False)
    began = time.perf_counter()
    both = dn.predict(model, test, both_strands=True, progress=False)
    both_seconds = time.perf_counter() - began
    truth = test["label"].astype(str).to_numpy()
    return {
        "model": name,
        "test rows": len(test),
        "MCC one strand": matthews_corrcoef(truth, forward["label"]),
        "MCC reverse complement": matthews_corrcoef(truth, reverse["label"]),
        "MCC both strands": matthews_corrcoef(truth, both["label"]),
        "calls that flip": float((forward["label"].to_numpy() != reverse["label"].to_numpy()).mean()),
        "time both / one": both_seconds / one_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("names", nargs="*")
    parser.add_argument("--precision", default="auto")
    args = parser.parse_args()
    names = args.names or list(dn.models()["name"])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, precision {args.precision}")
    table = pd.DataFrame([strands(name, args.precision) for name in names])
    print(table.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
