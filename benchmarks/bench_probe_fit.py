"""How long ``finetune``'s linear probe takes to fit, with its solver against L-BFGS (scikit-learn's default).

For each task: up to ``--rows`` training sequences (a ``random_state=0`` sample, as ``finetune`` caps the probe at
``PROBE_MAX_ROWS``), their token means of every hidden state from the embedded model (one ``dn.embed`` pass, timed
apart), then ``fit_probe_head`` (the 6 input choices x 6 values of C x 3 folds and the final fit) once with
``probe.PROBE_SOLVER`` and once with ``"lbfgs"``. Reported: seconds of each fit, the input choice and C each made,
and the largest difference between the two regressions' training-row probabilities.

Usage: python benchmarks/bench_probe_fit.py [--tasks splice fly_core_promoters ...] [--rows 5000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import dnabert_nb as dn
from dnabert_nb.training import probe
from dnabert_nb.training.finetune import task_network
from dnabert_nb.training.probe import fit_probe_head, probe_candidates, probe_inputs, probe_layers


def timed_fit(model: dn.DNABERTModel, features: np.ndarray, targets: np.ndarray, names: list, solver: str) -> dict:
    """Fit the probe head with ``solver``; its seconds, choice and training-row probabilities."""
    network = task_network(model, "classification", names, seed=0)
    network.config.classifier_pooling = "layers_mean"
    chosen = probe.PROBE_SOLVER
    probe.PROBE_SOLVER = solver
    try:
        began = time.perf_counter()
        regression = fit_probe_head(network, features, targets, seed=0)
        seconds = time.perf_counter() - began
    finally:
        probe.PROBE_SOLVER = chosen
    layers = network.config.classifier_layers
    index = 0 if layers is None else layers[0] + 1
    inputs = probe_inputs(probe_candidates(features)[index][1].astype(np.float64))[0]
    return {
        "seconds": seconds,
        "inputs": probe_layers(network.config),
        "C": regression.C,
        "probabilities": regression.predict_proba(inputs),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", nargs="+", default=["splice", "fly_core_promoters", "mafk_peaks", "ecoli_promoters"])
    parser.add_argument("--rows", type=int, default=5000)
    args = parser.parse_args()
    model = dn.load()
    for name in args.tasks:
        data = dn.datasets.load(name)
        train = data[data["split"] == "train"]
        train = train.sample(n=min(args.rows, len(train)), random_state=0)
        names = sorted(train["label"].unique().tolist())
        targets = train["label"].map({label: i for i, label in enumerate(names)}).to_numpy()
        began = time.perf_counter()
        features = np.asarray(embed_every_layer(model, train["sequence"].tolist()))
        embed_seconds = time.perf_counter() - began
        fits = {solver: timed_fit(model, features, targets, names, solver) for solver in (probe.PROBE_SOLVER, "lbfgs")}
        ours, reference = fits[probe.PROBE_SOLVER], fits["lbfgs"]
        gap = np.abs(ours["probabilities"] - reference["probabilities"]).max()
        each = [f"{solver} {fit['seconds']:.1f} s ({fit['inputs']}, C={fit['C']:g})" for solver, fit in fits.items()]
        print(
            f"{name}: {len(train)} rows, {len(names)} classes; embed {embed_seconds:.1f} s; {'; '.join(each)}; "
            f"ratio {reference['seconds'] / ours['seconds']:.2f}; largest probability difference {gap:.4f}",
            flush=True,
        )


def embed_every_layer(model: dn.DNABERTModel, sequences: list[str]) -> np.ndarray:
    """The token mean of every hidden state, as ``finetune``'s probe reads them."""
    return dn.embed(model, sequences, pooling="mean", layer="each", progress=False)


if __name__ == "__main__":
    main()
