"""The same pretrain, finetune, scan and variant_effects calls on two CPU processes (torchrun launching, Accelerate
inside, gloo): sharded data, one writer, the rows of one process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dnabert_nb as dn

pytest.importorskip("accelerate")


def run_on_two_processes(script: str, folder: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(Path(__file__).with_name(script)),
        str(folder),
    ]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=300, env=environment, stdin=subprocess.DEVNULL
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_pretrain_on_two_processes_shards_data_averages_gradients_and_writes_once(tmp_path):
    run_on_two_processes("two_process_pretrain.py", tmp_path)
    first, second = (np.load(tmp_path / f"windows-{rank}.npy") for rank in (0, 1))
    assert first.shape == second.shape and not np.array_equal(first, second)  # each process drew its own data
    assert (tmp_path / "weights-0.sha256").read_text() == (tmp_path / "weights-1.sha256").read_text()  # synced
    assert (tmp_path / "writer-0").exists() and not (tmp_path / "writer-1").exists()  # a single writer
    history = pd.read_csv(tmp_path / "history.csv")
    assert history["step"].tolist() == [2, 4] and history["valid_loss"].notna().all()
    assert dn.load(tmp_path / "run" / "last").k == 4


def test_finetune_on_two_processes_gives_the_usual_result_from_one_writer(tmp_path):
    run_on_two_processes("two_process_finetune.py", tmp_path)
    assert (tmp_path / "weights-0.sha256").read_text() == (tmp_path / "weights-1.sha256").read_text()
    assert (tmp_path / "writer-0").exists() and not (tmp_path / "writer-1").exists()
    history = pd.read_csv(tmp_path / "run" / "history.csv")
    assert history["valid_mcc"].notna().sum() == 2 and history["loss"].notna().any()
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert {"accuracy", "mcc", "auroc"} <= set(metrics["valid"]) and metrics["test"]["n"] == 32
    assert dn.load(tmp_path / "run" / "best").labels == ["0", "1"]


def test_scan_and_variant_effects_on_two_processes_give_the_rows_of_one(tmp_path):
    pytest.importorskip("pysam")
    alone, together = tmp_path / "one", tmp_path / "two"
    alone.mkdir(), together.mkdir()
    script = str(Path(__file__).with_name("two_process_inference.py"))
    single = subprocess.run(
        [sys.executable, script, str(alone)], capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL
    )
    assert single.returncode == 0, single.stderr[-3000:]
    run_on_two_processes("two_process_inference.py", together)
    for table in ("scan", "scan_int8", "effects"):
        expected = pd.read_csv(alone / f"{table}-0.csv")
        assert len(expected) > 4
        for rank in (0, 1):  # every process gets the whole table, as one process computes it
            pd.testing.assert_frame_equal(pd.read_csv(together / f"{table}-{rank}.csv"), expected, atol=1e-5)
    shares = [int((together / f"windows-{rank}.txt").read_text()) for rank in (0, 1)]  # batches, fp32 and int8
    assert shares[0] > 0 and shares[1] > 0  # each ran a share of the windows ...
    assert sum(shares) == int((alone / "windows-0.txt").read_text())  # ... and together all of them, once
    assert (together / "writer-0").exists() and not (together / "writer-1").exists()
