"""``python -m dnabert_nb``: fine-tune and evaluate from the command line, as `accelerate launch` runs it."""

import json
import subprocess
import sys

import pandas as pd
import pytest
from test_finetune import planted

import dnabert_nb as dn
from dnabert_nb.cli import _parser, main


def gue_folder(tmp_path):
    """A GUE-style task folder with a planted-motif task."""
    folder = tmp_path / "task"
    folder.mkdir()
    for name, part in (("train.csv", planted(320, 0)), ("dev.csv", planted(80, 1)), ("test.csv", planted(80, 2))):
        part.to_csv(folder / name, index=False)
    return folder


def test_finetune_writes_checkpoints_history_and_test_metrics(checkpoints, tmp_path, capsys):
    folder, run = gue_folder(tmp_path), tmp_path / "run"
    status = main(
        [
            "finetune",
            str(folder),
            "--test",
            str(folder),
            "--model",
            str(checkpoints(4)),
            "--output-dir",
            str(run),
            "--epochs",
            "4",
            "--lr",
            "2e-3",
            "--batch-size",
            "16",
            "--no-progress",
        ]
    )
    assert status == 0
    written = json.loads((run / "metrics.json").read_text())
    assert json.loads(capsys.readouterr().out) == written
    assert written["test"]["n"] == 80 and written["test"]["auroc"] > 0.85  # the motif was learned
    assert written["valid"]["n"] == 80  # the folder's dev split picked the best epoch
    assert pd.read_csv(run / "history.csv")["valid_mcc"].notna().sum() == 4
    kept_folders = ("best", "restart-1/best", "linear-probe")  # restart-1: the first run stalled (finetune's guard)
    assert written["model"] in [str(run / folder) for folder in kept_folders]  # the one finetune kept
    kept = dn.load(written["model"])
    assert dn.evaluate(kept, folder)["mcc"] == written["test"]["mcc"]
    assert main(["evaluate", written["model"], str(folder)]) == 0
    assert json.loads(capsys.readouterr().out)["mcc"] == written["test"]["mcc"]


def test_bad_input_is_one_line_and_exit_status_2(checkpoints, tmp_path, capsys):
    missing = tmp_path / "nowhere.tsv"
    assert main(["finetune", str(missing), "--model", str(checkpoints(4)), "--output-dir", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "nowhere.tsv" in error and "Traceback" not in error
    assert not (tmp_path / "run").exists()


def test_finetune_options_default_to_the_library_s(capsys):
    def parsed(*extra):
        return _parser().parse_args(["finetune", "data.tsv", "--output-dir", "run", *extra])

    defaults = parsed()
    assert (defaults.epochs, defaults.restarts, defaults.pooling, defaults.crop) == ("auto", 1, None, None)
    assert parsed("--epochs", "4", "--pooling", "mean").epochs == 4
    assert parsed("--crop", "0.65").crop == 0.65
    with pytest.raises(SystemExit):
        parsed("--epochs", "many")
    assert "'many' is neither a whole number nor 'auto'" in capsys.readouterr().err


def test_runs_as_a_module(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "dnabert_nb", "finetune", "--help"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert result.returncode == 0 and "--output-dir" in result.stdout and "--early-stopping-patience" in result.stdout
