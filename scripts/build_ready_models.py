"""Build the ready task models shipped in dnabert_nb/models/ready from the embedded model and the shipped datasets.

Usage:
    python scripts/build_ready_models.py train TASK [--threads N] [--work DIR]   # fine-tune (minutes to an hour)
    python scripts/build_ready_models.py pack TASK [--work DIR]                  # compress, test, write the card

``train`` fine-tunes the embedded model at ``finetune``'s defaults (seed 0) on the task's training split and keeps
the returned model (network or linear probe, chosen on valid by ``finetune``) in full precision under ``--work``.
``pack`` stores it with int8 weights in the package (``dn.models.write_ready``), loads it back as a user would
(``dn.load(name)``) and scores that model and the k-mer baseline (fitted on the same training and valid rows) on
the whole test split in fp32 (the same figures on every CPU); the card records both, the data, the time and the
machine (``finetune`` trains in bf16 where the CPU has fast bf16, in fp32 elsewhere).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
import warnings
from pathlib import Path

import torch

import dnabert_nb as dn
from dnabert_nb.core.runtime import cpu_has_fast_bf16, resolve_precision
from dnabert_nb.training.selection import PROBE_SOURCE

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "runs" / "ready"

#: One ready model per shipped task: its dataset, the class names given to the dataset's labels (in head order),
#: how many training / valid rows it reads (None: the whole split; a sample with random_state=0 otherwise) and the
#: class the app's Motifs and Design tabs look for (``focus``).
TASKS = {
    "mini6-splice": {
        "dataset": "splice",
        "classes": {"acceptor": "acceptor", "donor": "donor", "neither": "neither"},
        "rows": (None, None),
        "focus": "donor",
        "about": "Primate splice junctions: donor (exon→intron), acceptor (intron→exon) or neither, 60 nt.",
    },
    "mini6-fly-promoters": {
        "dataset": "fly_core_promoters",
        "classes": {0: "upstream", 1: "core promoter"},
        "rows": (12000, 1000),
        "focus": "core promoter",
        "about": "Drosophila core promoters (100 nt before a start) against windows 2 kb upstream.",
    },
    "mini6-ctcf": {
        "dataset": "ctcf_peaks",
        "classes": {0: "shuffled", 1: "CTCF peak"},
        "rows": (None, None),
        "focus": "CTCF peak",
        "about": "GM12878 CTCF ChIP-seq peaks (200 bp) against dinucleotide shuffles of peaks.",
    },
    "mini6-oct4": {
        "dataset": "oct4_peaks",
        "classes": {0: "shuffled", 1: "Oct4 peak"},
        "rows": (None, None),
        "focus": "Oct4 peak",
        "about": "Oct4 (POU5F1) ChIP-seq peaks (200 bp) against dinucleotide shuffles of peaks.",
    },
    "mini6-mafk": {
        "dataset": "mafk_peaks",
        "classes": {0: "shuffled", 1: "MafK peak"},
        "rows": (None, None),
        "focus": "MafK peak",
        "about": "MafK ChIP-seq peaks (200 bp) against dinucleotide shuffles of peaks.",
    },
}


def cpu_name() -> str:
    """The CPU's model name (Linux), else the architecture."""
    cpuinfo = Path("/proc/cpuinfo")
    names = [
        line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
    ]
    return names[0] if names else platform.machine()


def task_splits(name: str) -> dict:
    """The task's train, valid and test rows with class names as labels."""
    spec = TASKS[name]
    data = dn.datasets.load(spec["dataset"])
    data = data.assign(label=data["label"].map(spec["classes"]))
    parts = {}
    for split, rows in zip(("train", "valid", "test"), (*spec["rows"], None)):
        part = data[data.split == split]
        parts[split] = part if rows is None or rows >= len(part) else part.sample(rows, random_state=0)
    return parts


def train(name: str, work: Path) -> None:
    """Fine-tune the embedded model on the task at finetune's defaults and save the result under ``work``."""
    parts = task_splits(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dn.UntrainedHeadWarning)  # the head is new: that is the point
        start = dn.load(labels=list(TASKS[name]["classes"].values()))
    started = time.perf_counter()
    tuned = dn.finetune(start, parts["train"], parts["valid"], seed=0, output_dir=work / name / "run")
    seconds = time.perf_counter() - started
    tuned.save(work / name / "model", overwrite=True)
    tuned.history.to_csv(work / name / "history.csv", index=False)
    precision = str(resolve_precision("auto", torch.device("cpu"))).removeprefix("torch.")
    facts = {
        "seconds": round(seconds),
        "source": tuned.source,
        "threads": torch.get_num_threads(),
        "precision": precision,
    }
    (work / name / "train.json").write_text(json.dumps(facts, indent=2) + "\n")
    print(f"{name}: {facts}")


def pack(name: str, work: Path) -> None:
    """Write the ready model into the package, load it back and record its test scores in its card."""
    from dnabert_nb.core.ready import write_ready

    spec, parts = TASKS[name], task_splits(name)
    tuned = dn.load(work / name / "model")
    facts = json.loads((work / name / "train.json").read_text())
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    card = {
        "name": name,
        "dataset": spec["dataset"],
        "about": spec["about"],
        "classes": list(spec["classes"].values()),
        "focus": spec["focus"],
        "dataset_labels": {str(key): value for key, value in spec["classes"].items()},
        "kind": "linear probe" if facts["source"].startswith(PROBE_SOURCE) else "fine-tuned network",
        "train_rows": len(parts["train"]),
        "valid_rows": len(parts["valid"]),
        "test_rows": len(parts["test"]),
        "recipe": "dn.finetune(dn.load(labels=classes), train, valid, seed=0) at its defaults",
        "training_seconds": facts["seconds"],
        "training_threads": facts["threads"],
        "training_precision": facts.get("precision", "bfloat16"),  # the first runs: auto on an AVX512-BF16 CPU
        "machine": f"{cpu_name()}{' with AVX512-BF16' if cpu_has_fast_bf16() else ''}, torch {torch.__version__}",
        "commit": commit.stdout.strip(),
    }
    write_ready(tuned, name, card)
    ready = dn.load(name)
    base = dn.baseline(parts["train"], parts["valid"])
    scores = dn.evaluate(ready, parts["test"], precision="fp32", progress=False)  # the same on every CPU
    kmer = base.evaluate(parts["test"])
    full = dn.evaluate(tuned, parts["test"], precision="fp32", progress=False)
    card.update(
        test_mcc=round(float(scores["mcc"]), 4),
        test_auroc=round(float(scores["auroc"]), 4),
        baseline_test_mcc=round(float(kmer["mcc"]), 4),
        baseline_k=base.k,
        full_precision_test_mcc=round(float(full["mcc"]), 4),
    )
    write_ready(tuned, name, card)
    print(json.dumps(card, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("train", "pack"))
    parser.add_argument("tasks", nargs="+", choices=sorted(TASKS))
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    parser.add_argument("--work", type=Path, default=WORK, help="where trained models and runs are kept")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for task in args.tasks:
        (train if args.step == "train" else pack)(task, args.work)
