"""Run by test_distributed.py under `torchrun --nproc_per_node 2`: a tiny fine-tuning run through
the command line (`python -m dnabert_nb finetune`) that records, per process, whether it wrote files and its
final weights."""

import hashlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from dnabert_nb import cli
from dnabert_nb.core.processes import Processes
from dnabert_nb.core.runtime import resolve_device
from dnabert_nb.testing import TINY_SIZES, official_config, write_checkpoint
from dnabert_nb.training import finetune as finetune_module
from dnabert_nb.training import loop

out = Path(sys.argv[1])
rank = Processes(resolve_device("cpu")).rank
original_atomic_folder = loop.atomic_folder


def recording_atomic_folder(path):
    (out / f"writer-{rank}").touch()
    return original_atomic_folder(path)


trained = []


def keeping_finetune(*args, **options):
    trained.append(finetune_module.finetune(*args, **options))
    return trained[-1]


loop.atomic_folder = recording_atomic_folder
cli.finetune = keeping_finetune
rng = np.random.default_rng(0)
sequences = ["".join(rng.choice(list("ACGT"), size=50)) for _ in range(96)]
frame = pd.DataFrame({"sequence": sequences, "label": [int("TA" in s[:10]) for s in sequences]})
frame.iloc[:64].to_csv(out / f"train-{rank}.csv", index=False)
frame.iloc[64:].to_csv(out / f"eval-{rank}.csv", index=False)
start = write_checkpoint(out / f"start-{rank}", official_config(4, **TINY_SIZES))
status = cli.main(
    [
        "finetune",
        str(out / f"train-{rank}.csv"),
        "--valid",
        str(out / f"eval-{rank}.csv"),
        "--test",
        str(out / f"eval-{rank}.csv"),
        "--model",
        str(start),
        "--output-dir",
        str(out / "run"),
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--precision",
        "fp32",
        "--log-every",
        "2",
        "--restarts",
        "0",  # a tiny run may start constant: the guard's restart is tested apart, here one run on two processes
        "--no-progress",
    ]
)
assert status == 0
weights = b"".join(p.detach().numpy().tobytes() for p in trained[0].network.parameters())
(out / f"weights-{rank}.sha256").write_text(hashlib.sha256(weights).hexdigest())
