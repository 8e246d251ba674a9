"""Run by test_distributed.py under `torchrun --nproc_per_node 2`: a tiny pre-training run
that records, per process, which windows it drew, whether it wrote checkpoints, and its final weights."""

import hashlib
import sys
from pathlib import Path

import numpy as np

import dnabert_nb as dn
from dnabert_nb.core.processes import Processes
from dnabert_nb.core.runtime import resolve_device
from dnabert_nb.testing import TINY_SIZES
from dnabert_nb.training import loop
from dnabert_nb.training.corpus import Corpus

out = Path(sys.argv[1])
rank = Processes(resolve_device("cpu")).rank
drawn = []
original_sample = Corpus.sample
original_atomic_folder = loop.atomic_folder


def recording_sample(self, rng, n, n_kmers):
    windows = original_sample(self, rng, n, n_kmers)
    drawn.append(windows)
    return windows


def recording_atomic_folder(path):
    (out / f"writer-{rank}").touch()
    return original_atomic_folder(path)


Corpus.sample = recording_sample
loop.atomic_folder = recording_atomic_folder
sequences = ["".join(np.random.default_rng(i).choice(list("ACGT"), size=3000)) for i in range(3)]
model = dn.pretrain(
    sequences,
    k=4,
    config=TINY_SIZES,
    max_length=40,
    steps=4,
    batch_size=4,
    warmup=1,
    eval_every=2,
    eval_windows=8,
    log_every=2,
    output_dir=out / "run",
    precision="fp32",
    progress=False,
    seed=0,
)
np.save(out / f"windows-{rank}.npy", np.concatenate(drawn[1:]))  # drawn[0] is the shared validation set
weights = b"".join(p.detach().numpy().tobytes() for p in model.network.parameters())
(out / f"weights-{rank}.sha256").write_text(hashlib.sha256(weights).hexdigest())
if rank == 0:
    model.history.to_csv(out / "history.csv", index=False)
