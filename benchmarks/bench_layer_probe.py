"""Where does a task's signal sit in the model? A linear probe of every layer against k-mer counts.

For one classification task (all of its rows pooled, or a random ``--rows`` of them), each sequence is embedded by
``dn.embed`` at every hidden state (0: the embedding layer, then each transformer layer) with mean and [CLS] pooling,
and a logistic regression on standardized features (its C chosen by an inner 3-fold CV) is scored by K-fold
cross-validation (out-of-fold MCC). The same classifier on k-mer counts (k = 3 to 6) is the reference. Nothing is
fine-tuned: the probe shows what the frozen representation holds, layer by layer.

Usage: python benchmarks/bench_layer_probe.py [--task ecoli_promoters] [--model embedded CHECKPOINT ...]
       [--folds 10] [--rows N]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import matthews_corrcoef
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import dnabert_nb as dn
from dnabert_nb.training.baseline import kmer_counter


def out_of_fold_mcc(features: np.ndarray, labels: np.ndarray, folds: int) -> float:
    """MCC over the out-of-fold predictions of a standardized, CV-regularised logistic regression."""
    probe = make_pipeline(StandardScaler(), LogisticRegressionCV(Cs=6, cv=3, max_iter=3000))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    return matthews_corrcoef(labels, cross_val_predict(probe, features, labels, cv=splitter))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", default="ecoli_promoters")
    parser.add_argument("--model", nargs="+", default=["embedded"], help="checkpoint folders, or 'embedded'")
    parser.add_argument("--rows", type=int, help="probe a random sample of this many rows (default: all)")
    parser.add_argument("--folds", type=int, default=10)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    warnings.filterwarnings("ignore", category=FutureWarning, module="sklearn")  # LogisticRegressionCV's 1.10 changes
    data = dn.datasets.load(args.task)
    if args.rows is not None and args.rows < len(data):
        data = data.sample(n=args.rows, random_state=0)
    data = data.reset_index(drop=True)
    labels = data["label"].to_numpy()
    threads = torch.get_num_threads()
    print(f"{args.task}: {len(data)} rows, {args.folds}-fold CV; torch {torch.__version__}, {threads} threads")
    rows = []
    for k in (3, 4, 5, 6):
        counts = kmer_counter(k).fit_transform(data["sequence"])
        rows.append({"features": f"{k}-mer counts", "mcc": out_of_fold_mcc(counts.toarray(), labels, args.folds)})
        print(rows[-1], flush=True)
    for checkpoint in args.model:
        model = dn.load(None if checkpoint == "embedded" else checkpoint)
        for layer in range(model.config.num_hidden_layers + 1):
            for pooling in ("mean", "cls"):
                began = time.perf_counter()
                features = dn.embed(model, data["sequence"], pooling=pooling, layer=layer, progress=False)
                mcc = out_of_fold_mcc(features, labels, args.folds)
                rows.append({"features": f"{checkpoint}, layer {layer}, {pooling}", "mcc": mcc})
                print(rows[-1] | {"seconds": round(time.perf_counter() - began, 1)}, flush=True)
    print("\n" + pd.DataFrame(rows).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
