"""Does default fine-tuning hold up on small data, for every seed, and does it beat a bag of k-mers?

For each shipped classification task (and GUE tasks from ../shared when present, e.g. ``gue_prom_core_tata``): a
2,000-row subset of its training split (all of it when smaller), its validation split (at most 1,000 rows) and test
split (at most 2,000 rows). ``dn.finetune(dn.load(), train, valid)`` at its defaults for seeds 0, 1 and 2;
``dn.baseline(train, valid)`` on the same rows. Reported per task: test MCC per seed, their spread, whether a seed
gave a constant predictor (one class for every test sequence), and the baseline's test MCC.

``--passes`` and ``--steps LOW HIGH`` set the budget of ``epochs="auto"``; ``--epochs``, ``--eval-every``,
``--restarts``, ``--pooling``, ``--lr`` and ``--crop`` pass those finetune options (default: finetune's own
defaults), to compare recipes; ``--history FOLDER`` writes each run's ``.history`` there as ``<task>_seed<N>.csv``;
``--no-linear-probe`` and ``--no-blend`` turn finetune's linear probe and its blend with the k-mer baseline off. Each
run prints which model finetune returned (the fine-tuned network or the linear probe, blended with k-mer counts or
not), its test MCC, and the test MCC without the blend (``unblended_mcc``, what ``blend=False`` returns).
``--probe-only`` fits only that linear probe (frozen encoder, seconds) and reports its valid and test MCC per task,
beside the baseline's.

``--cv K`` is for tasks whose test split is too small to rank anything (``ecoli_promoters``: 12 test rows): all of
the task's rows are pooled and split into K stratified folds; each fold is predicted once by a baseline and, per
seed, a model fitted on the other folds (a stratified tenth of them held out as the valid split), and the MCC is
computed over all out-of-fold predictions. ``--cv-repeats R`` draws the folds R times and adds each score's mean and
sd over the draws: on 106 rows the draw alone moves the MCC by several points.

Usage: python benchmarks/bench_finetune_stability.py [--rows 2000] [--seeds 0 1 2] [--tasks splice ...]
       [--epochs auto] [--eval-every 125] [--history FOLDER] [--restarts 2] [--pooling mean] [--lr 5e-5]
       [--crop 0.65] [--passes 8] [--steps 500 1000] [--no-blend] [--no-linear-probe | --probe-only]
       [--model CHECKPOINT] [--cv 10 [--cv-repeats 5]]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import matthews_corrcoef
from sklearn.model_selection import StratifiedKFold, train_test_split

import dnabert_nb as dn
from dnabert_nb.core.kmer_blend import attach, blend_of
from dnabert_nb.core.model import HEAD_POOLINGS
from dnabert_nb.training import schedule as _schedule
from dnabert_nb.training.selection import model_kind, probe_model
from dnabert_nb.training.targets import labelled_task

GUE = Path(__file__).resolve().parents[2] / "shared" / "gue"


def tasks(names: list[str] | None) -> dict[str, pd.DataFrame]:
    """The tasks by name: shipped datasets, and ``gue_<task>`` for a GUE task in ../shared/gue (where present)."""
    chosen = names or [*dn.datasets.catalog()["name"], "gue_prom_core_tata"]
    found = {}
    for name in chosen:
        if name.startswith("gue_"):
            if (GUE / name.removeprefix("gue_")).is_dir():
                found[name] = dn.read_gue(GUE / name.removeprefix("gue_"))
        else:
            found[name] = dn.datasets.load(name)
    return found


def subset(data: pd.DataFrame, split: str, rows: int) -> pd.DataFrame:
    part = data[data["split"] == split]
    return part.sample(n=min(rows, len(part)), random_state=0)


def fit_and_test(
    train: pd.DataFrame,
    valid: pd.DataFrame,
    test: pd.DataFrame,
    seeds: list[int],
    model: str | None,
    recipe: dict,
    probe_only: bool,
) -> dict[str, pd.Series]:
    """Test-set predicted labels of the k-mer baseline and of the model fine-tuned with each seed (or the probe)."""
    labels = {"baseline": dn.baseline(train, valid).predict(test["sequence"])["label"]}
    if probe_only:
        labels["probe"] = dn.predict(linear_probe(dn.load(model), train, valid), test, progress=False)["label"]
        return labels
    for seed in seeds:
        tuned = dn.finetune(dn.load(model), train, valid, seed=seed, progress=False, live_plot=False, **recipe)
        labels[f"seed{seed}"] = dn.predict(tuned, test, progress=False)["label"]
        print(f"seed {seed}: kept the {model_kind(tuned)}", flush=True)
    return labels


def linear_probe(model: dn.DNABERTModel, train: pd.DataFrame, valid: pd.DataFrame) -> dn.DNABERTModel:
    """finetune's linear probe alone (seed 0), its valid scores as ``.metrics``."""
    task = labelled_task(model, train, valid, "auto")
    return probe_model(model, task, seed=0, device=model.device, precision=None, progress=False)[0]


def probe_scores(model: dn.DNABERTModel, train: pd.DataFrame, valid: pd.DataFrame, test: pd.DataFrame) -> dict:
    """Valid and test MCC of finetune's linear probe alone (seed 0), and its seconds."""
    began = time.perf_counter()
    probe = linear_probe(model, train, valid)
    return {
        "probe_valid_mcc": probe.metrics["mcc"],
        "probe_test_mcc": dn.evaluate(probe, test, progress=False)["mcc"],
        "probe_seconds": time.perf_counter() - began,
    }


def training_course(history: pd.DataFrame) -> str:
    """Where the fine-tuning run stopped and where its best valid MCC was, in words (for a stopped-too-soon or
    still-improving run)."""
    evaluated = history.dropna(subset=["valid_mcc"])
    best = evaluated.loc[evaluated["valid_mcc"].idxmax()]
    return (
        f"trained {history['step'].max()} steps ({history['epoch'].max():.0f} epochs), best valid MCC "
        f"{best['valid_mcc']:.3f} at step {best['step']:.0f} ({len(evaluated)} evaluations)"
    )


def without_blend(model: dn.DNABERTModel, test: pd.DataFrame) -> tuple[float, float]:
    """The network's share of the returned model's blend with k-mer counts (1: none) and the test MCC of the model
    without it: what ``finetune(blend=False)`` returns, for the before/after in one run."""
    blend = blend_of(model.network)
    if blend is None:
        return 1.0, dn.evaluate(model, test, progress=False)["mcc"]
    attach(model.network, None)
    try:
        return blend.share, dn.evaluate(model, test, progress=False)["mcc"]
    finally:
        attach(model.network, blend)


def cross_validate(
    data: pd.DataFrame,
    folds: int,
    seeds: list[int],
    model: str | None,
    recipe: dict,
    probe_only: bool,
    repeat: int = 0,
) -> dict:
    """Out-of-fold MCC of the baseline and of each seed over all of ``data``'s rows, the folds drawn by ``repeat``."""
    pooled = data.reset_index(drop=True)
    predicted: dict[str, pd.Series] = {}
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=repeat)
    for fold, (rest, held_out) in enumerate(splitter.split(pooled, pooled["label"])):
        others = pooled.iloc[rest]
        train, valid = train_test_split(others, test_size=0.1, stratify=others["label"], random_state=fold)
        test = pooled.iloc[held_out]
        for name, labels in fit_and_test(train, valid, test, seeds, model, recipe, probe_only).items():
            predicted[name] = pd.concat([predicted.get(name, pd.Series(dtype=object)), labels.set_axis(test.index)])
        print(f"fold {fold + 1}/{folds} done", flush=True)
    truth = pooled["label"].astype(str)  # predictions carry class names
    return {name: matthews_corrcoef(truth.loc[got.index], got.astype(str)) for name, got in predicted.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--tasks", nargs="*")
    parser.add_argument("--epochs", help="an integer or 'auto'")
    parser.add_argument("--eval-every", type=int, help="steps between evaluations on valid")
    parser.add_argument("--history", type=Path, help="folder for each run's history as <task>_seed<N>.csv")
    parser.add_argument("--restarts", type=int)
    parser.add_argument("--pooling", choices=HEAD_POOLINGS)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--passes", type=int, help="epochs='auto': passes over the data (finetune.AUTO_PASSES)")
    parser.add_argument(
        "--steps", type=int, nargs=2, help="epochs='auto': fewest and most optimiser steps (finetune.AUTO_STEPS)"
    )
    parser.add_argument("--crop", type=float, help="train on random crops keeping at least this share of each window")
    parser.add_argument("--no-linear-probe", action="store_true", help="finetune(linear_probe=False)")
    parser.add_argument("--probe-only", action="store_true", help="fit only finetune's linear probe")
    parser.add_argument("--no-blend", action="store_true", help="finetune(blend=False)")
    parser.add_argument("--model", help="checkpoint folder to fine-tune (default: the embedded model)")
    parser.add_argument("--cv", type=int, help="K-fold cross-validation over all of a task's rows")
    parser.add_argument("--cv-repeats", type=int, default=1, help="repeat --cv over this many draws of the folds")
    args = parser.parse_args()
    recipe = {}
    if args.epochs is not None:
        recipe["epochs"] = args.epochs if args.epochs == "auto" else int(args.epochs)
    if args.eval_every is not None:
        recipe["eval_every"] = args.eval_every
    if args.restarts is not None:
        recipe["restarts"] = args.restarts
    if args.pooling is not None:
        recipe["pooling"] = args.pooling
    if args.lr is not None:
        recipe["lr"] = args.lr
    if args.crop is not None:
        recipe["crop"] = args.crop
    if args.no_linear_probe:
        recipe["linear_probe"] = False
    if args.no_blend:
        recipe["blend"] = False
    if args.passes is not None:
        _schedule.AUTO_PASSES = args.passes
    if args.steps is not None:
        _schedule.AUTO_STEPS = tuple(args.steps)
    print(
        f"epochs='auto' budget: {_schedule.AUTO_PASSES} passes in {_schedule.AUTO_STEPS[0]} to "
        f"{_schedule.AUTO_STEPS[1]} steps where they fit"
    )
    print(f"finetune options beyond the defaults: {recipe or 'none'}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; dnabert_nb {dn.__version__}")
    rows = []
    for name, data in tasks(args.tasks).items():
        if args.cv:
            for repeat in range(args.cv_repeats):
                began = time.perf_counter()
                scores = cross_validate(data, args.cv, args.seeds, args.model, recipe, args.probe_only, repeat)
                row = {"task": name, "rows": len(data), "folds": args.cv, "repeat": repeat}
                row |= {"baseline_mcc": scores.pop("baseline")} | {f"mcc_{run}": mcc for run, mcc in scores.items()}
                row["spread"] = max(scores.values()) - min(scores.values())
                row["seconds"] = time.perf_counter() - began
                rows.append(row)
                print(pd.DataFrame([row]).round(3).to_string(index=False), flush=True)
            continue
        train, valid, test = subset(data, "train", args.rows), subset(data, "valid", 1000), subset(data, "test", 2000)
        base = dn.baseline(train, valid).evaluate(test)["mcc"]
        row = {"task": name, "train": len(train), "baseline_mcc": base}
        if args.probe_only:
            rows.append(row | probe_scores(dn.load(args.model), train, valid, test))
            print(pd.DataFrame([rows[-1]]).round(3).to_string(index=False), flush=True)
            continue
        for seed in args.seeds:
            began = time.perf_counter()
            model = dn.finetune(dn.load(args.model), train, valid, seed=seed, progress=False, live_plot=False, **recipe)
            predictions = dn.predict(model, test, progress=False)
            scores = dn.evaluate(model, test, progress=False)
            row[f"mcc_seed{seed}"] = scores["mcc"]
            row[f"constant_seed{seed}"] = predictions["label"].nunique() == 1
            row[f"seconds_seed{seed}"] = time.perf_counter() - began
            row[f"share_seed{seed}"], row[f"unblended_mcc_seed{seed}"] = without_blend(model, test)
            if args.history is not None:
                args.history.mkdir(parents=True, exist_ok=True)
                model.history.to_csv(args.history / f"{name}_seed{seed}.csv", index=False)
            print(
                f"{name} seed {seed}: test MCC {scores['mcc']:.3f}, {row[f'seconds_seed{seed}']:.0f} s, "
                f"without the blend {row[f'unblended_mcc_seed{seed}']:.3f}; kept the {model_kind(model)}; "
                f"{training_course(model.history)}",
                flush=True,
            )
        mccs = [row[f"mcc_seed{seed}"] for seed in args.seeds]
        row["spread"] = float(np.max(mccs) - np.min(mccs))
        rows.append(row)
        print(pd.DataFrame([row]).round(3).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    print("\n" + table.round(3).to_string(index=False))
    if args.cv and args.cv_repeats > 1:  # the draw of the folds moves a small task's MCC: its mean and sd over draws
        scores = table.filter(regex="^(task|baseline_mcc|mcc_)").groupby("task")
        print("\nover the draws of the folds (mean, sd):\n" + scores.agg(["mean", "std"]).round(3).to_string())


if __name__ == "__main__":
    main()
