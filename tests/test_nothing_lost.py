"""Nothing lost on a crash, a full disk or a second process: checkpoints, saved models and written tracks."""

import errno
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from test_finetune import FAST, interrupt_at_loss, planted

import dnabert_nb as dn
from dnabert_nb import CheckpointError, InputFormatError, OutputError, OutputWarning
from dnabert_nb.dna.folders import LOCK_FILE, atomic_folder, folder_lock

OPTIONS = {**FAST, "epochs": 3, "save_every": 4, "seed": 3, "baseline": False}


@pytest.fixture(scope="module")
def data():
    return planted(96, 7), planted(32, 8)


class Killed(BaseException):
    """Stands for a SIGKILL: nothing in the package catches it, so the files are left as a kill leaves them."""


def killed_at_rename(monkeypatch, n: int) -> None:
    """Make the ``n``-th ``Path.rename`` from now on die right after it is done."""
    original, calls = Path.rename, {"n": 0}

    def rename(self, target):
        moved = original(self, target)
        calls["n"] += 1
        if calls["n"] == n:
            raise Killed
        return moved

    monkeypatch.setattr(Path, "rename", rename)


def contents(folder: Path) -> str:
    return (folder / "config.json").read_text()


@pytest.mark.parametrize(("renames", "kept"), [(1, "new"), (2, "new"), (3, "new")])
def test_a_folder_write_killed_between_its_renames_recovers_the_newest_complete_copy(
    tmp_path, monkeypatch, renames, kept
):
    target = tmp_path / "last"
    with atomic_folder(target) as staging:
        (staging / "config.json").write_text("old")
    killed_at_rename(monkeypatch, renames)
    with pytest.raises(Killed), atomic_folder(target) as staging:
        (staging / "config.json").write_text("new")
    monkeypatch.undo()
    with atomic_folder(tmp_path / "last") as staging:  # the next write recovers first, then writes
        recovered = contents(target)
        (staging / "config.json").write_text("next")
    assert recovered == kept and contents(target) == "next"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last"]


def test_a_folder_write_killed_while_its_files_are_written_keeps_the_old_copy(tmp_path):
    target = tmp_path / "last"
    with atomic_folder(target) as staging:
        (staging / "config.json").write_text("old")
    with pytest.raises(Killed), atomic_folder(target) as staging:
        (staging / "config.json").write_text("half")
        raise Killed
    with atomic_folder(target) as staging:
        assert contents(target) == "old"
        (staging / "config.json").write_text("next")


def test_a_run_killed_between_the_renames_of_a_checkpoint_resumes_to_the_uninterrupted_result(
    encoder, data, tmp_path, monkeypatch
):
    whole = dn.finetune(encoder, *data, **OPTIONS, output_dir=tmp_path / "whole")
    killed_at_rename(monkeypatch, 6)  # the old last/ moved aside, the new one not yet in place
    with pytest.raises(Killed):
        dn.finetune(encoder, *data, **OPTIONS, output_dir=tmp_path / "killed")
    monkeypatch.undo()
    assert not (tmp_path / "killed" / "last").exists()  # the state the kill left: both copies hidden beside it
    resumed = dn.finetune(encoder, *data, **OPTIONS, output_dir=tmp_path / "killed", resume=True)
    assert resumed.metrics == whole.metrics
    for a, b in zip(whole.network.parameters(), resumed.network.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    pd.testing.assert_frame_equal(
        resumed.history.drop(columns="samples_per_s"), whole.history.drop(columns="samples_per_s")
    )
    assert sorted(p.name for p in (tmp_path / "killed").iterdir() if p.name != LOCK_FILE) == ["best", "last"]


def test_a_full_disk_during_training_warns_and_returns_the_trained_model(encoder, data, tmp_path, monkeypatch):
    unsaved = dn.finetune(encoder, *data, **OPTIONS)

    def full(self, folder, **options):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(dn.DNABERTModel, "write_files", full)
    with pytest.warns(OutputWarning, match="Could not write the .* No space left") as caught:
        model = dn.finetune(encoder, *data, **OPTIONS, output_dir=tmp_path / "run")
    assert len([w for w in caught if issubclass(w.category, OutputWarning)]) == 2  # last/ and best/, once each
    assert model.checkpoint is None and model.metrics == unsaved.metrics
    for a, b in zip(unsaved.network.parameters(), model.network.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_a_second_process_cannot_train_into_a_folder_in_use(encoder, data, tmp_path):
    folder = tmp_path / "run"
    with folder_lock(folder):  # what the first process holds while it trains
        (folder / ".last.staging-theirs").mkdir()
        with pytest.raises(OutputError, match="in use by another process"):
            dn.finetune(encoder, *data, **OPTIONS, output_dir=folder)
        assert (folder / ".last.staging-theirs").is_dir()  # the other process's write is left alone
    dn.finetune(encoder, *data, **{**OPTIONS, "epochs": 1}, output_dir=folder)  # free again once released


def test_a_saved_model_carries_checksums_that_load_verifies(encoder, tmp_path):
    folder = encoder.save(tmp_path / "model")
    checked = subprocess.run(["sha256sum", "-c", "checksums.sha256"], cwd=folder, capture_output=True, text=True)
    assert checked.returncode == 0 and "model.safetensors: OK" in checked.stdout
    weights = folder / "model.safetensors"
    damaged = bytearray(weights.read_bytes())
    damaged[len(damaged) // 2] ^= 0x01  # one bit, in the middle of the numbers: they stay finite
    weights.write_bytes(bytes(damaged))
    with pytest.raises(CheckpointError, match="model.safetensors in .* no longer match the checksums"):
        dn.load(folder)


def test_junk_in_a_pytorch_weight_file_is_called_unreadable(encoder, tmp_path):
    folder = encoder.save(tmp_path / "model")
    (folder / "model.safetensors").unlink()
    (folder / "checksums.sha256").unlink()
    (folder / "pytorch_model.bin").write_bytes(np.random.default_rng(0).bytes(2000))
    with pytest.raises(CheckpointError, match="is not a readable PyTorch weight file"):
        dn.load(folder)


def test_saving_onto_a_full_disk_keeps_the_model_already_there(encoder, tmp_path, monkeypatch):
    folder = encoder.save(tmp_path / "model")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def full(self, staging, **options):
        (staging / "model.safetensors").write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(dn.DNABERTModel, "write_files", full)
    with pytest.raises(OutputError, match="No space left on device.*a model already there is unchanged"):
        encoder.save(folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_track_written_onto_a_full_disk_leaves_the_old_file(tmp_path, monkeypatch):
    scores = np.linspace(0, 1, 50)
    path = dn.io.write_bedgraph(scores, tmp_path / "scores.bedgraph", chrom="chr1")
    before = path.read_text()
    original = pd.DataFrame.to_csv

    def full(self, handle, **options):
        handle.write("chr1\t0\t1\t0.5\n")  # a part is written, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    with pytest.raises(OutputError, match="No space left on device.*the file there is unchanged"):
        dn.io.write_bedgraph(scores * 2, path, chrom="chr1")
    monkeypatch.setattr(pd.DataFrame, "to_csv", original)
    assert path.read_text() == before and sorted(p.name for p in tmp_path.iterdir()) == ["scores.bedgraph"]
    with pytest.raises(InputFormatError, match="is a folder"):
        dn.io.write_bedgraph(scores, tmp_path, chrom="chr1")
    with pytest.raises(InputFormatError, match="does not exist"):
        dn.io.write_bed(pd.DataFrame({"chrom": ["chr1"], "start": [0], "end": [5]}), tmp_path / "no" / "x.bed")


def test_an_interrupt_says_what_was_kept_and_how_to_go_on(encoder, data, tmp_path, monkeypatch, capsys):
    interrupt_at_loss(monkeypatch, 10)
    with pytest.raises(KeyboardInterrupt):
        dn.finetune(encoder, *data, **OPTIONS, output_dir=tmp_path / "run")
    said = capsys.readouterr().err
    assert f"The last checkpoint is '{tmp_path / 'run' / 'last'}' (step 8)" in said and "resume=True" in said


def test_training_into_a_folder_that_holds_a_run_says_it_replaces_it(encoder, data, tmp_path):
    dn.finetune(encoder, *data, **{**OPTIONS, "epochs": 1}, output_dir=tmp_path / "run")
    with pytest.warns(OutputWarning, match="holds an earlier run \\(its last/ is at step 6\\).*resume=True"):
        dn.finetune(encoder, *data, **{**OPTIONS, "epochs": 1}, output_dir=tmp_path / "run")


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of the given size in bytes (a real full disk), where this process may mount one (as root)."""
    mounted = []

    def mount(size: int) -> Path:
        folder = tmp_path / f"disk{len(mounted)}"
        folder.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
        if done.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", str(folder)], check=False)


def test_on_a_real_full_disk_training_returns_its_model_and_a_track_keeps_its_old_file(encoder, data, small_disk):
    unsaved = dn.finetune(encoder, *data, **OPTIONS)
    weights = sum(p.numel() * 4 for p in unsaved.network.parameters())
    disk = small_disk(2 * weights)  # a model fits, a model with its optimizer state (last/) does not
    with pytest.warns(OutputWarning, match="Could not write the last/ checkpoint .* MB free there"):
        model = dn.finetune(encoder, *data, **OPTIONS, output_dir=disk / "run")
    assert model.metrics == unsaved.metrics
    for a, b in zip(unsaved.network.parameters(), model.network.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not list((disk / "run").glob(".*staging*")) and not list((disk / "run").glob(".*ready*"))

    disk = small_disk(64 * 1024)
    path = dn.io.write_bedgraph(np.zeros(100), disk / "scores.bedgraph", chrom="chr1")
    before = path.read_text()
    with pytest.raises(OutputError, match="No space left on device.*the file there is unchanged"):
        dn.io.write_bedgraph(np.linspace(0, 1, 20_000), path, chrom="chr1")  # about 400 kB
    assert path.read_text() == before and sorted(p.name for p in disk.iterdir()) == ["scores.bedgraph"]
