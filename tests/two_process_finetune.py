"""Run by test_distributed.py under `torchrun --nproc_per_node 2`: a tiny fine-tuning run that records,
per process, whether it wrote checkpoints and its final weights."""

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import dnabert_nb as dn
from dnabert_nb import _finetune
from dnabert_nb.testing import TINY_SIZES, official_config, write_checkpoint

out = Path(sys.argv[1])
rank = dn._distributed.Processes(dn._runtime.resolve_device("cpu")).rank
original_atomic_folder = _finetune.atomic_folder


def recording_atomic_folder(path):
    (out / f"writer-{rank}").touch()
    return original_atomic_folder(path)


_finetune.atomic_folder = recording_atomic_folder
rng = np.random.default_rng(0)
sequences = ["".join(rng.choice(list("ACGT"), size=50)) for _ in range(96)]
frame = pd.DataFrame({"sequence": sequences, "label": [int("TA" in s[:10]) for s in sequences]})
encoder = dn.load(write_checkpoint(out / f"start-{rank}", official_config(4, **TINY_SIZES)))
model = dn.finetune(encoder, frame.iloc[:64], frame.iloc[64:], epochs=2, batch_size=8, precision="fp32",
                    progress=False, live_plot=False, output_dir=out / "run", log_every=2)
weights = b"".join(p.detach().numpy().tobytes() for p in model.network.parameters())
(out / f"weights-{rank}.sha256").write_text(hashlib.sha256(weights).hexdigest())
if rank == 0:
    model.history.to_csv(out / "history.csv", index=False)
    (out / "metrics.json").write_text(json.dumps(model.metrics))
