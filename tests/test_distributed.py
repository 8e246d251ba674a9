"""The same pretrain call on two CPU processes (torchrun launching, Accelerate inside, gloo): sharded data, one writer."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dnabert_nb as dn

pytest.importorskip("accelerate")


def test_two_processes_shard_data_average_gradients_and_write_once(tmp_path):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               str(Path(__file__).with_name("two_process_pretrain.py")), str(tmp_path)]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=environment, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-3000:]
    first, second = (np.load(tmp_path / f"windows-{rank}.npy") for rank in (0, 1))
    assert first.shape == second.shape and not np.array_equal(first, second)  # each process drew its own data
    assert (tmp_path / "weights-0.sha256").read_text() == (tmp_path / "weights-1.sha256").read_text()  # synced
    assert (tmp_path / "writer-0").exists() and not (tmp_path / "writer-1").exists()  # a single writer
    history = pd.read_csv(tmp_path / "history.csv")
    assert history["step"].tolist() == [2, 4] and history["valid_loss"].notna().all()
    assert dn.load(tmp_path / "run" / "checkpoint").k == 4
