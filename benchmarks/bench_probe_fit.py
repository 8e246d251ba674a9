"""How long ``finetune``'s linear probe takes to fit, with the solver it chooses against L-BFGS.

For each task: up to ``--rows`` training sequences (a ``random_state=0`` sample, as ``finetune`` caps the probe at
``PROBE_MAX_ROWS``), their token means of every hidden state from the embedded model (one ``dn.embed`` pass, timed
apart), then ``fit_probe_head`` (the 6 input choices x 6 values of C x 5 folds and the final fit) once with the
solver it chooses for those rows (``probe_solver``) and once with ``"lbfgs"``, scikit-learn's default. Reported:
seconds of each fit, the solver, the input choice and C each made, and the largest difference between the two
regressions' training-row probabilities.

Usage: python benchmarks/bench_probe_fit.py [--tasks splice fly_core_promoters ...] [--rows 5000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import dnabert_nb as dn
from dnabert_nb.training.heads import task_network
from dnabert_nb.training.probe import fit_probe_head, probe_candidates, probe_inputs, probe_layers
from dnabert_nb.training.targets import labelled_task


def timed_fit(
    model: dn.DNABERTModel, features: np.ndarray, targets: np.ndarray, names: list, solver: str | None
) -> dict:
    """Fit the probe head with ``solver`` (None: the probe's own choice); its seconds, solver, choice and
    training-row probabilities."""
    network = task_network(model, "classification", names, seed=0)
    network.config.classifier_pooling = "layers_mean"
    began = time.perf_counter()
    regression = fit_probe_head(network, features, targets, seed=0, solver=solver)
    seconds = time.perf_counter() - began
    chosen_vectors = next(v for layers, v in probe_candidates(features) if layers == network.config.classifier_layers)
    inputs = probe_inputs(chosen_vectors.astype(np.float64))[0]
    return {
        "seconds": seconds,
        "solver": regression.solver,
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
        task = labelled_task(model, train, None, "classification")  # the targets and class names finetune uses
        began = time.perf_counter()
        features = dn.embed(model, task.sequences, pooling="mean", layer="each", progress=False)
        embed_seconds = time.perf_counter() - began
        ours, reference = (timed_fit(model, features, task.targets, task.names, solver) for solver in (None, "lbfgs"))
        gap = np.abs(ours["probabilities"] - reference["probabilities"]).max()
        each = [
            f"{label} ({fit['solver']}) {fit['seconds']:.1f} s ({fit['inputs']}, C={fit['C']:g})"
            for label, fit in (("probe's choice", ours), ("L-BFGS", reference))
        ]
        print(
            f"{name}: {len(train)} rows, {len(task.names)} classes; embed {embed_seconds:.1f} s; {'; '.join(each)}; "
            f"ratio {reference['seconds'] / ours['seconds']:.2f}; largest probability difference {gap:.4f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
