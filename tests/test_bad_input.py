"""Nothing silently wrong, nothing lost: every way of giving bad input gets a clear DNABERTError before any
training, and legitimate input (RNA, gzip under another name, a byte-order mark) gets the right result."""

import gzip
import os
import stat

import numpy as np
import pandas as pd
import pytest
import torch
from test_finetune import FAST, planted

import dnabert_nb as dn
from dnabert_nb import CheckpointError, InputFormatError, InvalidSequenceError, TrainingError
from dnabert_nb.cli import main
from dnabert_nb.training import loop


@pytest.fixture(scope="module")
def data():
    return planted(96, 0), planted(32, 1)


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if a training step is ever taken."""

    def refuse(*args, **kwargs):
        raise AssertionError("training started although the input was bad")

    monkeypatch.setattr(loop, "apply_gradients", refuse)


def three_classes(frame, as_text):
    labels = np.arange(len(frame)) % 3
    return frame.assign(label=[str(v) for v in labels] if as_text else labels)


# --- labels ---------------------------------------------------------------------------------------------------


def test_integer_and_text_labels_of_the_same_classes_are_one_set_of_classes(encoder, data):
    train, valid = data
    model = dn.finetune(encoder, three_classes(train, False), three_classes(valid, True), **{**FAST, "epochs": 1})
    assert model.labels == ["0", "1", "2"] and model.config.num_labels == 3
    probabilities = dn.predict(model, valid, progress=False).filter(like="prob_")
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)


BAD_LABELS = [
    (
        "a class only in the evaluation data",
        lambda t, v: (t, v.assign(label=np.where(np.arange(len(v)) < 3, 7, v.label))),
        "labels \\['7'\\] \\(rows 0, 1, 2\\) that are not among the model's classes",
    ),
    ("one class in training, a second only in evaluation", lambda t, v: (t.assign(label=0), v), "one class only"),
    (
        "numbers mixed with names",
        lambda t, v: (t.assign(label=[1] * 50 + ["promoter"] * (len(t) - 50)), v),
        "mixes integer classes \\(rows 0, 1, 2, 3, 4 and 45 more\\) with named classes",
    ),
    (
        "pd.NA labels",
        lambda t, v: (t.assign(label=pd.array([pd.NA] + [1] * (len(t) - 1), dtype="Int64")), v),
        "missing labels at rows 0;",
    ),
    (
        "an infinite regression target",
        lambda t, v: (t.assign(label=np.r_[np.inf, np.linspace(0.1, 0.9, len(t) - 1)]), v),
        "not finite numbers at rows 0",
    ),
    (
        "an infinite regression target in the evaluation data",
        lambda t, v: (
            t.assign(label=np.linspace(0.1, 0.9, len(t))),
            v.assign(label=np.r_[np.inf, np.ones(len(v) - 1) / 3]),
        ),
        "evaluation data has values that are not finite numbers at rows 0",
    ),
    (
        "labels of the wrong length",
        lambda t, v: ((t.sequence.tolist(), t.label.tolist()[:-2]), v),
        "pairs 96 sequences with 94 labels",
    ),
]


@pytest.mark.parametrize(("case", "change", "message"), BAD_LABELS, ids=[case for case, _, _ in BAD_LABELS])
def test_bad_labels_are_refused_before_training(encoder, data, no_training, case, change, message):
    train, valid = change(*data)
    with pytest.raises(InputFormatError, match=message):
        dn.finetune(encoder, train, valid, **FAST)


# --- options --------------------------------------------------------------------------------------------------

BAD_OPTIONS = [
    ({"lr": float("nan")}, "lr = nan; give a finite number above zero"),
    ({"lr": -1e-3}, "lr = -0.001"),
    ({"class_weights": [1, float("nan")]}, "class_weights = \\[1, nan\\]"),
    ({"class_weights": [1, 2, 3]}, "2 finite, non-negative weights"),
    ({"metric": "nope"}, "metric = 'nope' is not a classification score; use one of loss, accuracy"),
    ({"task": "clustering"}, "task = 'clustering'"),
    ({"resume": True}, "resume=True needs the output_dir"),
    ({"callbacks": [print]}, "callbacks holds a builtin_function_or_method"),
    ({"precision": "int8"}, "precision = 'int8' is for running a model"),
]


@pytest.mark.parametrize(("options", "message"), BAD_OPTIONS, ids=[next(iter(o)) for o, _ in BAD_OPTIONS])
def test_bad_options_are_refused_before_training(encoder, data, no_training, options, message):
    with pytest.raises(InputFormatError, match=message):
        dn.finetune(encoder, *data, **{**FAST, **options})


def test_an_output_dir_that_cannot_be_made_is_refused_before_training(encoder, data, no_training, tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    for target in (a_file, a_file / "run"):
        with pytest.raises(InputFormatError, match="is a file"):
            dn.finetune(encoder, *data, **FAST, output_dir=target)
    assert a_file.read_text() == "mine"


def test_finetune_refuses_evaluating_every_zero_steps_before_training(encoder, data, no_training):
    with pytest.raises(InputFormatError, match="eval_every = 0"):
        dn.finetune(encoder, *data, **FAST, eval_every=0)


def test_a_bad_sequence_is_named_by_its_id_or_index_label_before_training(encoder, data, no_training):
    train, valid = data
    short = valid.iloc[10:20].copy()  # index labels 10..19: the user's own
    short.loc[13, "sequence"] = "ACG"
    with pytest.raises(InvalidSequenceError, match=r"Sequence #13 has 3 nt") as caught:
        dn.finetune(encoder, train, short, **FAST)
    assert caught.value.sequence_id == "#13"
    named = train.assign(id=[f"peak_{i}" for i in range(len(train))])
    named.loc[named.index[5], "sequence"] = "ACGTXACGT"
    with pytest.raises(InvalidSequenceError, match=r"Sequence 'peak_5'.*position 5") as caught:
        dn.finetune(encoder, named, valid, **FAST)
    assert caught.value.sequence_id == "'peak_5'"


def test_a_bad_label_or_shared_row_is_named_by_its_id_or_index_label(encoder, data, no_training):
    train, valid = data
    part = valid.iloc[10:20].copy()  # index labels 10..19, as in df[df.split == "valid"]
    part.loc[[12, 17], "label"] = 7
    with pytest.raises(InputFormatError, match=r"labels \['7'\] \(rows 12, 17\)"):
        dn.finetune(encoder, train, part, **FAST)
    named = train.assign(id=[f"peak_{i}" for i in range(len(train))], label=train.label.astype(float))
    named.loc[named.index[[4, 9]], "label"] = np.nan
    with pytest.raises(InputFormatError, match=r"missing labels at rows 'peak_4', 'peak_9';"):
        dn.finetune(encoder, named, valid, **FAST)
    shared = pd.concat([valid.iloc[10:20], train.iloc[[3]]])  # the last row, index label 3, is a training row
    with pytest.warns(dn.DataWarning, match=r"1 of the 11 evaluation sequences \(9.1%; rows 3\)"):
        dn.baseline(train, shared)


def test_pretrain_refuses_bad_options_before_training(no_training, tmp_path):
    (tmp_path / "file").write_text("x")
    corpus = ["".join(np.random.default_rng(0).choice(list("ACGT"), size=500))]
    with pytest.raises(InputFormatError, match="lr = inf"):
        dn.pretrain(corpus, k=4, max_length=40, steps=2, lr=float("inf"), progress=False)
    with pytest.raises(InputFormatError, match="is a file"):
        dn.pretrain(corpus, k=4, max_length=40, steps=2, output_dir=tmp_path / "file", progress=False)
    with pytest.raises(InputFormatError, match="'int8' is for running a model"):
        dn.pretrain(corpus, k=4, max_length=40, steps=2, precision="int8", progress=False)


def test_a_metric_that_is_better_when_lower_picks_the_lowest(encoder, data):
    model = dn.finetune(encoder, *data, **{**FAST, "epochs": 3}, metric="loss")
    losses = model.history["valid_loss"].dropna()
    assert model.metrics["loss"] == losses.min() and len(losses) == 3


# --- training that goes wrong ------------------------------------------------------------------------------------


def test_a_non_finite_loss_stops_the_run_naming_the_step_and_keeps_the_last_checkpoint(
    encoder, data, tmp_path, monkeypatch
):
    from dnabert_nb.training import finetune_job as _finetune_job

    original, calls = _finetune_job.task_loss, {"n": 0}

    def diverging(*args):
        calls["n"] += 1
        loss = original(*args)
        return loss * float("nan") if calls["n"] == 9 else loss

    monkeypatch.setattr(_finetune_job, "task_loss", diverging)
    with pytest.raises(TrainingError, match=r"became nan at step 9 of 12.*last good checkpoint .*\(step 6\)"):
        dn.finetune(encoder, *data, **{**FAST, "epochs": 2}, output_dir=tmp_path)
    kept = dn.load(tmp_path / "last")
    assert all(torch.isfinite(p).all() for p in kept.network.parameters())


def test_resuming_on_other_training_rows_is_refused(encoder, data, tmp_path):
    train, valid = data
    dn.finetune(encoder, train, valid, **{**FAST, "epochs": 1}, output_dir=tmp_path)
    other = train.assign(sequence=train.sequence.str[::-1])
    with pytest.raises(InputFormatError, match="trained on other data"):
        dn.finetune(encoder, other, valid, **{**FAST, "epochs": 1}, output_dir=tmp_path, resume=True)


# --- saving -----------------------------------------------------------------------------------------------------


def test_save_never_destroys_what_it_did_not_write(encoder, tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "notes.md").write_text("my notes")
    with pytest.raises(InputFormatError, match="holds files that are not part of a model \\(notes.md\\)"):
        encoder.save(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["notes.md"]
    encoder.save(folder, overwrite=True)
    assert (folder / "notes.md").read_text() == "my notes" and dn.load(folder).k == 4
    a_file = tmp_path / "model.bin"
    a_file.write_text("keep")
    with pytest.raises(InputFormatError, match="is a file"):
        encoder.save(a_file)
    assert a_file.read_text() == "keep" and sorted(p.name for p in tmp_path.iterdir()) == ["model.bin", "project"]


def test_save_replaces_a_model_folder_whole_with_usual_file_modes(encoder, tmp_path):
    folder = encoder.save(tmp_path / "model")
    encoder.save(folder)  # a folder holding only a model is replaced
    umask = os.umask(0)
    os.umask(umask)
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path.name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_failed_save_leaves_nothing_and_the_next_save_clears_leftovers(encoder, tmp_path, monkeypatch):
    leftover = tmp_path / ".model.staging-killed"  # what a killed process leaves
    leftover.mkdir()
    (leftover / "model.safetensors").write_bytes(b"half")

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(dn.DNABERTModel, "write_files", fail)
    with pytest.raises(OSError, match="disk full"):
        encoder.save(tmp_path / "model")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# --- files and sequences ------------------------------------------------------------------------------------


def test_files_are_read_by_content_not_by_name(tmp_path):
    text = ">a\nACGTAC\n>b\nTTTTGG\n"
    for name in ("gzipped.fa", "plain.FA.GZ"):
        if name == "gzipped.fa":
            (tmp_path / name).write_bytes(gzip.compress(text.encode()))
        else:
            (tmp_path / name).write_text(text)
        assert dn.read_fasta(tmp_path / name)["sequence"].tolist() == ["ACGTAC", "TTTTGG"]
    (tmp_path / "bom.fa").write_bytes("\ufeff".encode() + text.encode())
    assert dn.read_fasta(tmp_path / "bom.fa")["id"].tolist() == ["a", "b"]
    with pytest.raises(InputFormatError, match="is a folder"):
        dn.read_fasta(tmp_path)


def test_a_missing_file_is_named_as_missing(encoder, data, tmp_path):
    model = dn.finetune(encoder, *data, **{**FAST, "epochs": 1})
    with pytest.raises(InputFormatError, match="nope.csv' does not exist"):
        dn.evaluate(model, tmp_path / "nope.csv")


@pytest.mark.parametrize("bad", [[None, "ACGTACGT"], ["ACGTACGT", 7], [b"ACGTACGT"]])
def test_attention_motifs_names_a_sequence_that_is_not_text(encoder, bad):
    with pytest.raises(InvalidSequenceError, match="not a string of nucleotides"):
        dn.attention_motifs(encoder, bad, progress=False)


def test_attention_motifs_checks_negatives_before_any_work(encoder, monkeypatch):
    from dnabert_nb.interpret import motifs

    monkeypatch.setattr(motifs, "attention_scores", lambda *a, **k: pytest.fail("attention was computed"))
    with pytest.raises(InvalidSequenceError, match="'-' at position 3"):
        dn.attention_motifs(encoder, ["ACGTACGTAA"], ["AC-GT"], progress=False)


def test_rna_finds_the_motifs_dna_finds(checkpoints, monkeypatch):
    from test_motifs import planted as planted_site

    from dnabert_nb.interpret import motifs

    positives, scores = planted_site()
    monkeypatch.setattr(motifs, "attention_scores", lambda *args, **kwargs: scores)
    model = dn.load(checkpoints(6, num_labels=2))
    dna = dn.attention_motifs(model, positives, progress=False)
    rna = dn.attention_motifs(model, [s.replace("T", "U").lower() for s in positives], progress=False)
    assert len(dna.motifs) > 0
    pd.testing.assert_frame_equal(dna.motifs, rna.motifs)


def test_device_without_cuda_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(InputFormatError, match="has 0 CUDA GPU"):
        dn.load(device="cuda")


# --- models -------------------------------------------------------------------------------------------------------


def test_int8_is_refused_off_the_cpu_and_a_model_loaded_with_it_trains_in_auto():
    from dnabert_nb.core.runtime import resolve_precision, training_precision

    with pytest.raises(InputFormatError, match="'int8' runs on the CPU only"):
        resolve_precision("int8", torch.device("cuda"))
    with pytest.raises(InputFormatError, match="not one of 'auto', 'fp32', 'bf16', 'fp16', 'int8'"):
        resolve_precision("int4", torch.device("cpu"))
    assert training_precision(None, "int8") == "auto" and training_precision("bf16", "int8") == "bf16"


def test_weights_edited_in_place_are_seen_by_the_fast_path(checkpoints):
    model = dn.load(checkpoints(4, num_labels=2), precision="bf16")
    before = dn.predict(model, "ACGTACGTTTGACA" * 3, progress=False)
    with torch.no_grad():
        model.network.classifier.bias.data[:] = torch.tensor([5.0, -5.0])  # autograd does not see .data edits
    after = dn.predict(model, "ACGTACGTTTGACA" * 3, progress=False)
    assert after["prob_0"].iloc[0] > 0.99 and not np.isclose(before["prob_0"].iloc[0], after["prob_0"].iloc[0])


def test_weights_that_are_not_finite_are_refused_at_load(encoder, tmp_path):
    from safetensors.torch import load_file, save_file

    folder = encoder.save(tmp_path / "model")
    weights = load_file(folder / "model.safetensors")
    name = next(iter(weights))
    weights[name] = torch.full_like(weights[name], float("nan"))
    save_file(weights, folder / "model.safetensors")
    (folder / "checksums.sha256").unlink()  # as written by another tool: no checksums to tell the change
    with pytest.raises(CheckpointError, match="NaN or infinite numbers"):
        dn.load(folder)


# --- the command line -----------------------------------------------------------------------------------------

CLI_CASES = [
    ("empty.csv", b"", [], "is empty"),
    ("binary.csv", bytes(range(256)) * 4, [], "is not a readable CSV file"),
    ("ragged.csv", b"sequence,label\nACGTACGTAC,1\nACGTAC,0,7,9\n", [], "is not a readable CSV file"),
    ("good.csv", None, ["--lr", "nan"], "lr = nan"),
    ("good.csv", None, ["--metric", "nope"], "metric = 'nope'"),
    ("good.csv", None, ["--test", "missing.csv"], "missing.csv' does not exist"),
]


@pytest.mark.parametrize(("name", "content", "extra", "message"), CLI_CASES, ids=[c[3][:20] for c in CLI_CASES])
def test_command_line_errors_are_one_line_exit_2_before_training(
    checkpoints, tmp_path, capsys, no_training, name, content, extra, message
):
    path = tmp_path / name
    if content is None:
        planted(40, 0).to_csv(path, index=False)
    else:
        path.write_bytes(content)
    extra = [str(tmp_path / e) if e.endswith(".csv") else e for e in extra]
    arguments = ["finetune", str(path), "--model", str(checkpoints(4)), "--output-dir", str(tmp_path / "run"), *extra]
    assert main([*arguments, "--no-progress"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and message in error and "Traceback" not in error
    assert len(error.strip().splitlines()) == 1


# --- a kill -9 in the middle of a checkpoint save ---------------------------------------------------------------

KILL_OPTIONS = {**FAST, "epochs": 3, "save_every": 4, "seed": 2}


def kill_data():
    return planted(96, 5), planted(32, 6)


def test_killed_during_a_checkpoint_save_resumes_to_the_uninterrupted_result(checkpoints, tmp_path):
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    model_folder, killed, ready = checkpoints(4), tmp_path / "killed", tmp_path / "ready"
    script = Path(__file__).with_name("killed_during_save.py")
    process = subprocess.Popen(
        [sys.executable, str(script), str(model_folder), str(killed), str(ready)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 240
    while not ready.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert ready.exists(), process.stderr.read().decode()[-3000:] if process.poll() is not None else "timed out"
    half_written = Path(ready.read_text())
    assert half_written.name.startswith(".") and half_written.exists()  # killed with a staging folder on disk
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)

    resumed = dn.finetune(dn.load(model_folder), *kill_data(), **KILL_OPTIONS, output_dir=killed, resume=True)
    whole = dn.finetune(dn.load(model_folder), *kill_data(), **KILL_OPTIONS, output_dir=tmp_path / "whole")
    assert resumed.metrics == whole.metrics
    for a, b in zip(whole.network.parameters(), resumed.network.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    pd.testing.assert_frame_equal(
        resumed.history.drop(columns="samples_per_s"), whole.history.drop(columns="samples_per_s")
    )
    left = sorted(p.name for p in killed.iterdir())
    assert left == [".dnabert_nb.lock", "best", "last"]  # no staging folder left behind; the lock file stays
