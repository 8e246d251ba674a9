"""finetune and evaluate on tiny models: every task type, checkpoints, resume, determinism, bad input."""

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import matthews_corrcoef, roc_auc_score
from transformers import AutoModelForSequenceClassification

import dnabert_nb as dn
from dnabert_nb import InputFormatError, InvalidSequenceError, ModelTaskError
from dnabert_nb.training import finetune_job as _finetune_job
from dnabert_nb.training import loop as _loop
from dnabert_nb.training import restarts as _restarts
from dnabert_nb.training import schedule as _schedule
from dnabert_nb.training.callbacks import Callback, CurvesCallback
from dnabert_nb.training.loop import TrainingState
from dnabert_nb.training.targets import labelled_task

MOTIF = "TATAAAAG"
# restarts=0: a two-epoch run on a tiny model may end constant; restarting is tested on its own. linear_probe=False,
# blend=False: these test the fine-tuned network; the probe and the blend with k-mer counts that finetune may return
# instead are tested in test_probe.py and test_blend.py
FAST = dict(
    epochs=2,
    lr=2e-3,
    batch_size=16,
    restarts=0,
    linear_probe=False,
    blend=False,
    progress=False,
    log_every=5,
    live_plot=False,
)


def planted(n, seed, motif=MOTIF):
    """Random 40-80 nt sequences; label 1 carries the motif."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        sequence = list(rng.choice(list("ACGT"), size=int(rng.integers(40, 80))))
        label = int(rng.integers(2))
        if label:
            at = int(rng.integers(0, len(sequence) - len(motif)))
            sequence[at : at + len(motif)] = motif
        rows.append(("".join(sequence), label))
    return pd.DataFrame(rows, columns=["sequence", "label"])


@pytest.fixture(scope="module")
def data():
    return planted(320, 0), planted(80, 1)


def test_binary_classification_learns_a_planted_motif(encoder, data):
    train, valid = data
    model = dn.finetune(encoder, train, valid, **{**FAST, "epochs": 4})
    assert model.task == "classification" and model.labels == ["0", "1"]
    assert encoder.task is None  # the input model is left as it was
    assert model.metrics["auroc"] > 0.85
    history = model.history
    assert history["valid_mcc"].notna().sum() == 4
    training_rows = history.dropna(subset=["loss"])
    assert len(training_rows) == 4 * 20 // 5 and (training_rows["loss"] > 0).all()
    scores = dn.evaluate(model, valid)
    assert scores["mcc"] == pytest.approx(model.metrics["mcc"], abs=1e-6) and scores["n"] == 80
    predictions = dn.predict(model, valid, progress=False)
    assert scores["auroc"] == pytest.approx(roc_auc_score(valid.label, predictions.prob_1), abs=1e-6)
    assert scores["mcc"] == pytest.approx(matthews_corrcoef(valid.label, predictions.label.astype(int)), abs=1e-6)


def test_same_seed_gives_identical_results(encoder, data):
    train, valid = data
    first = dn.finetune(encoder, train, valid, **FAST, seed=3)
    second = dn.finetune(encoder, train, valid, **FAST, seed=3)
    assert first.metrics == second.metrics
    pd.testing.assert_frame_equal(
        first.history.drop(columns="samples_per_s"), second.history.drop(columns="samples_per_s")
    )
    other = dn.finetune(encoder, train, valid, **FAST, seed=4)
    assert not np.allclose(other.history["loss"].dropna(), first.history["loss"].dropna())


def test_string_labels_become_label_names_and_multiclass_metrics(encoder, data):
    train, valid = data
    names = np.array(["background", "tata", "other"])
    train = train.assign(label=names[train.label + (np.arange(len(train)) % 3 == 0) * (1 - train.label) * 2])
    valid = valid.assign(label=names[valid.label + (np.arange(len(valid)) % 3 == 0) * (1 - valid.label) * 2])
    model = dn.finetune(encoder, train, valid, **FAST, class_weights="balanced")
    assert model.labels == ["background", "other", "tata"]
    assert {"accuracy", "macro_f1", "mcc", "precision", "recall", "auroc", "auprc"} <= set(model.metrics)
    assert list(dn.predict(model, valid, progress=False).columns[-3:]) == ["prob_background", "prob_other", "prob_tata"]


def test_regression_and_multilabel(encoder, data):
    train, valid = data

    def gc(frame):
        return frame.sequence.map(lambda s: (s.count("G") + s.count("C")) / len(s) + 0.001)

    regressor = dn.finetune(encoder, train.assign(label=gc(train)), valid.assign(label=gc(valid)), **FAST)
    assert regressor.task == "regression"
    assert {"mse", "mae", "pearson", "spearman", "r2"} <= set(regressor.metrics)
    assert "value" in dn.predict(regressor, valid, progress=False)

    def tags(frame):
        return [["tata"] * y + ["long"] * (len(s) > 60) for s, y in zip(frame.sequence, frame.label)]

    tagger = dn.finetune(encoder, train.assign(label=tags(train)), valid.assign(label=tags(valid)), **FAST)
    assert tagger.task == "multilabel" and tagger.labels == ["long", "tata"]
    assert {"micro_f1", "macro_f1", "mcc", "f1_tata", "auroc_long"} <= set(tagger.metrics)


def test_checkpoints_load_with_dn_and_transformers(encoder, data, tmp_path):
    train, valid = data
    model = dn.finetune(encoder, train, valid, **FAST, output_dir=tmp_path)
    for name in ("best", "last"):
        assert dn.load(tmp_path / name).labels == ["0", "1"]
        assert AutoModelForSequenceClassification.from_pretrained(tmp_path / name).config.num_labels == 2
    best = dn.load(tmp_path / "best")
    for a, b in zip(best.network.parameters(), model.network.parameters()):
        torch.testing.assert_close(a, b)


def test_a_new_head_is_mean_pooled_learns_saves_and_reloads(encoder, data, tmp_path):
    train, valid = data
    model = dn.finetune(encoder, train, valid, **{**FAST, "epochs": 4}, output_dir=tmp_path)  # no pooling= given
    assert model.metrics["auroc"] > 0.85 and "pooling='mean'" in repr(model)
    reloaded = dn.load(tmp_path / "best")
    assert reloaded.config.classifier_pooling == "mean"
    mine = dn.predict(model, valid, progress=False)
    pd.testing.assert_frame_equal(mine, dn.predict(reloaded, valid, progress=False))
    # the head reads the token mean, not [CLS]: read as a [CLS] head, the same weights say something else
    reloaded.config.classifier_pooling = "cls"
    assert not np.allclose(mine["prob_1"], dn.predict(reloaded, valid, progress=False)["prob_1"], atol=1e-3)
    again = dn.finetune(model, train, valid, **FAST)  # a further round keeps the model's own head
    assert again.config.classifier_pooling == "mean"
    plain = dn.finetune(encoder, train, valid, **FAST, pooling="cls")  # DNABERT's [CLS] head, on request
    assert plain.config.classifier_pooling == "cls" and "pooling=" not in repr(plain)
    with pytest.raises(InputFormatError, match="pooling = 'max'"):
        dn.finetune(encoder, train, valid, **FAST, pooling="max")


def interrupt_at_loss(monkeypatch, n: int):
    """Make fine-tuning raise KeyboardInterrupt (Ctrl-C) at its ``n``-th loss; return the loss to put back."""
    original, calls = _finetune_job.task_loss, {"n": 0}

    def interrupt(*args):
        calls["n"] += 1
        if calls["n"] == n:
            raise KeyboardInterrupt
        return original(*args)

    monkeypatch.setattr(_finetune_job, "task_loss", interrupt)
    return original


def interrupted_and_resumed(encoder, data, options, tmp_path, monkeypatch):
    """The same run whole, and interrupted at the 30th loss then resumed: (whole, resumed)."""
    train, valid = data
    whole = dn.finetune(encoder, train, valid, **options, output_dir=tmp_path / "whole")
    original = interrupt_at_loss(monkeypatch, 30)
    with pytest.raises(KeyboardInterrupt):
        dn.finetune(encoder, train, valid, **options, output_dir=tmp_path / "split")
    monkeypatch.setattr(_finetune_job, "task_loss", original)
    resumed = dn.finetune(encoder, train, valid, **options, output_dir=tmp_path / "split", resume=True)
    assert resumed.metrics == whole.metrics
    for a, b in zip(whole.network.parameters(), resumed.network.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    return whole, resumed


def test_interrupted_run_resumes_with_nothing_lost(encoder, data, tmp_path, monkeypatch):
    options = {**FAST, "epochs": 3, "save_every": 7, "seed": 5}
    whole, resumed = interrupted_and_resumed(encoder, data, options, tmp_path, monkeypatch)
    # every history row too: the steps logged across the interruption count the same steps
    pd.testing.assert_frame_equal(
        resumed.history.drop(columns="samples_per_s"), whole.history.drop(columns="samples_per_s")
    )


def test_gue_folder_and_dnabert_tsv_inputs(encoder, data, tmp_path):
    train, valid = data
    for name, part in (("train.csv", train), ("dev.csv", valid), ("test.csv", valid)):
        part[["sequence", "label"]].to_csv(tmp_path / name, index=False)
    model = dn.finetune(encoder, tmp_path, **FAST)
    assert model.metrics is not None and dn.evaluate(model, tmp_path)["n"] == len(valid)
    tsv = tmp_path / "train.tsv"
    tsv.write_text(
        "sequence\tlabel\n"
        + "".join(
            f"{' '.join(s[i : i + 4] for i in range(len(s) - 3))}\t{y}\n" for s, y in zip(train.sequence, train.label)
        )
    )
    assert dn.finetune(encoder, tsv, valid, **{**FAST, "epochs": 1}).labels == ["0", "1"]


def test_fasta_inputs_labelled_in_headers_or_one_file_per_class(encoder, data, tmp_path):
    train, valid = data
    labelled = tmp_path / "train.fa"
    labelled.write_text("".join(f">s{i} label={y}\n{s}\n" for i, (s, y) in enumerate(zip(train.sequence, train.label))))
    read = dn.read_labelled_fasta(labelled)
    assert read.label.tolist() == train.label.tolist() and read.sequence.tolist() == train.sequence.tolist()
    by_class = {}
    for label in (1, 0):
        path = tmp_path / f"class_{label}.fa"
        path.write_text("".join(f">v{i}\n{s}\n" for i, s in enumerate(valid.sequence[valid.label == label])))
        by_class[label] = path
    model = dn.finetune(encoder, labelled, by_class, **{**FAST, "epochs": 1})
    assert model.labels == ["0", "1"] and dn.evaluate(model, by_class)["n"] == len(valid)
    unlabelled = tmp_path / "plain.fa"
    unlabelled.write_text(">a\nACGTACGTAC\n>b label=1\nACGTACGTAC\n")
    with pytest.raises(InputFormatError, match="record 'a' has no 'label=VALUE'"):
        dn.finetune(encoder, unlabelled, **FAST)
    with pytest.raises(InputFormatError, match="empty dict"):
        dn.finetune(encoder, {}, **FAST)


def test_evaluate_reports_what_training_selected_on(encoder, data):
    train, valid = data
    model = dn.finetune(encoder, train, valid, **{**FAST, "epochs": 1})
    scores = dn.evaluate(model, valid)
    assert scores["loss"] == pytest.approx(model.history["valid_loss"].dropna().iloc[-1], rel=1e-5)
    assert scores["mcc"] == pytest.approx(model.metrics["mcc"], abs=1e-6)


def test_lora_trains_adapters_and_returns_a_plain_model(encoder, data):
    pytest.importorskip("peft")
    train, valid = data
    model = dn.finetune(encoder, train, valid, **FAST, lora={"r": 4})
    assert type(model.network).__name__ == "BertForSequenceClassification"
    assert not any("lora" in name for name, _ in model.network.named_parameters())
    assert "auroc" in dn.evaluate(model, valid)


def test_an_interrupted_lora_run_resumes_exactly(encoder, data, tmp_path, monkeypatch):
    pytest.importorskip("peft")
    options = {**FAST, "epochs": 2, "lora": {"r": 4}, "save_every": 7}
    interrupted_and_resumed(encoder, data, options, tmp_path, monkeypatch)
    assert dn.load(tmp_path / "whole" / "last").task == "classification"  # a plain, loadable model


def test_live_plot_updates_one_figure(encoder, data, monkeypatch):
    import IPython.display

    handles = []

    class Handle:
        def __init__(self):
            self.updates = 0
            self.metric_lines = []  # the labels of the right panel's lines at each update

        def update(self, figure):
            self.updates += 1
            self.figure = figure
            self.metric_lines.append([line.get_label() for line in figure.axes[1].lines])

    def fake_display(figure, display_id=False):
        handles.append(Handle())
        return handles[-1]

    monkeypatch.setattr(IPython.display, "display", fake_display)
    train, valid = data
    tuned = dn.finetune(encoder, train, valid, **{**FAST, "live_plot": True})
    assert len(handles) == 1 and handles[0].updates >= 2  # the first row, then (at most every 2 s) ... the end
    loss, valid_loss = handles[0].figure.axes[0].lines
    assert (loss.get_label(), valid_loss.get_label()) == ("loss", "valid_loss")
    assert len(loss.get_xdata()) == tuned.history["loss"].notna().sum()  # the last drawing has every point
    assert len(valid_loss.get_xdata()) == tuned.history["valid_loss"].notna().sum()
    # the k-mer baseline, fitted before training, is the bar drawn across the metrics from the first update on
    drawn = [[label for label in labels if label.startswith("k-mer baseline")] for labels in handles[0].metric_lines]
    assert all(len(bars) == 1 for bars in drawn)
    bar = [line for line in handles[0].figure.axes[1].lines if line.get_label().startswith("k-mer baseline")]
    assert bar[0].get_ydata()[0] == pytest.approx(tuned.baseline.valid_scores[tuned.baseline.k])


def test_live_curves_draw_nothing_for_a_run_stopped_before_its_first_row():
    drawn = []

    class Curves(CurvesCallback):
        def draw(self, history):
            drawn.append(len(history))

    curves = Curves()
    curves.on_end(TrainingState())
    assert drawn == []
    curves.on_end(TrainingState(history=[{"step": 1, "loss": 0.5}]))
    assert drawn == [1]


def test_bad_training_data_fails_before_training(encoder, data):
    train, valid = data
    with pytest.raises(InputFormatError, match="no label column .* rename the columns"):
        dn.finetune(encoder, train[["sequence"]], **FAST)
    with pytest.raises(InputFormatError, match="missing labels at rows 2;"):
        dn.finetune(encoder, train.assign(label=[1.0, 0.0, None] + [1.0] * (len(train) - 3)), **FAST)
    with pytest.raises(InputFormatError, match="one class"):
        dn.finetune(encoder, train.assign(label=1), **FAST)
    with pytest.raises(InputFormatError, match="empty"):
        dn.finetune(encoder, train.iloc[:0], **FAST)
    with pytest.raises(InvalidSequenceError, match="#1"):
        dn.finetune(encoder, pd.DataFrame({"sequence": ["ACGTACGT", "ACG"], "label": [0, 1]}), **FAST)
    with pytest.raises(
        InputFormatError,
        match="labels \\['7'\\] \\(rows 0, 1, 2, 3, 4 and 75 more\\) that are not among the model's classes",
    ):
        dn.evaluate(dn.finetune(encoder, train, **{**FAST, "epochs": 1}), valid.assign(label=7))
    with pytest.raises(InputFormatError, match="task"):
        dn.finetune(encoder, train, task="ranking", **FAST)
    with pytest.raises(InputFormatError, match="resume"):
        dn.finetune(encoder, train, resume=True, **FAST)
    with pytest.raises(ModelTaskError, match="no task head"):
        dn.evaluate(encoder, valid)


def test_sequences_longer_than_a_short_context_go_through_windows(data):
    from transformers import BertForMaskedLM

    from dnabert_nb.testing import short_context_config

    torch.manual_seed(0)
    short = dn.DNABERTModel(BertForMaskedLM(short_context_config()), dn.KmerTokenizer(4))
    assert short.tokenizer.max_nucleotides == 33  # 30 k-mers + [CLS] + [SEP] = 32 positions
    train, valid = data  # 40-80 nt: every sequence needs two or more windows
    model = dn.finetune(short, train, valid, **{**FAST, "epochs": 4})
    assert model.metrics["auroc"] > 0.75
    predictions = dn.predict(model, valid, progress=False)
    assert len(predictions) == len(valid)
    assert dn.evaluate(model, valid)["auroc"] == pytest.approx(roc_auc_score(valid.label, predictions.prob_1), abs=1e-6)
    scores = dn.attention_scores(model, valid.sequence.tolist()[:3], progress=False)
    assert [len(s) for s in scores] == valid.sequence.str.len().tolist()[:3]


def test_auto_epochs_give_small_data_enough_passes_and_stop_early():
    # 8 passes where they take 500 to 1,000 steps; more epochs where 8 take fewer, fewer where they take more;
    # 3 to 30 epochs
    epochs = [_schedule.auto_epochs(steps) for steps in (2, 40, 63, 100, 160, 250, 1000)]
    assert epochs == [30, 13, 8, 8, 6, 4, 3]
    # patience: 4 evaluations, but never fewer steps than 250 (800 rows at 25 steps an epoch: 10 epochs)
    assert [_schedule.auto_patience(steps) for steps in (2, 25, 63, 1000)] == [125, 10, 4, 4]
    # evaluations: at each epoch's end, or an epoch longer than 125 steps split into the fewest parts of at most 125
    every = [_schedule.auto_eval_every(steps) for steps in (63, 125, 126, 250, 251, 375)]
    assert every == [None, None, 63, 125, 84, 125]


def test_epochs_auto_evaluates_within_a_long_epoch(encoder, data, monkeypatch):
    train, valid = data
    monkeypatch.setattr(_schedule, "AUTO_EVAL_STEPS", 3)  # 4 steps an epoch: evaluated every 2 steps
    monkeypatch.setattr(_schedule, "AUTO_EPOCHS", (2, 2))
    model = dn.finetune(encoder, train.head(64), valid, **{**FAST, "epochs": "auto"})
    assert model.history.dropna(subset=["valid_mcc"])["step"].tolist() == [2, 4, 6, 8]


def test_epochs_auto_trains_longer_on_small_data_with_early_stopping(encoder, data, monkeypatch):
    train, valid = data
    monkeypatch.setattr(_schedule, "AUTO_PATIENCE_STEPS", 24)  # 4 steps an epoch: patience 6 epochs, not 4
    small = train.head(64)  # 4 steps an epoch: 30 epochs at the most
    model = dn.finetune(encoder, small, valid, **{**FAST, "epochs": "auto"})
    evaluated = model.history.dropna(subset=["valid_mcc"])
    assert len(evaluated) > 3  # more than the fixed default of 3 epochs
    best = evaluated["valid_mcc"].idxmax()
    stopped_early = len(evaluated) < 30
    assert not stopped_early or len(evaluated.loc[best:]) - 1 == _schedule.auto_patience(4)
    with pytest.raises(InputFormatError, match="'auto'"):
        dn.finetune(encoder, train, valid, **{**FAST, "epochs": "many"})


def test_a_run_that_stopped_early_resumes_as_stopped_instead_of_training_on(encoder, data, tmp_path):
    train, valid = data
    options = {**FAST, "epochs": 12, "early_stopping_patience": 1, "output_dir": tmp_path}
    stopped = dn.finetune(encoder, train.head(64), valid, **options)
    assert stopped.history["step"].max() < 12 * 4  # 4 steps an epoch: it did stop early
    resumed = dn.finetune(encoder, train.head(64), valid, **options, resume=True)
    pd.testing.assert_frame_equal(resumed.history, stopped.history)
    for a, b in zip(stopped.network.parameters(), resumed.network.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_random_crops_keep_a_random_run_of_at_least_the_share_asked_inside_each_window():
    starts, n_kmers = np.array([0, 100, 300]), np.array([100, 200, 10])
    rng = np.random.default_rng(0)
    drawn = [_finetune_job.random_crops(starts, n_kmers, 0.65, rng) for _ in range(200)]
    crop_starts, lengths = np.stack([d[0] for d in drawn]), np.stack([d[1] for d in drawn])
    assert (lengths >= np.ceil(0.65 * n_kmers)).all() and (lengths <= n_kmers).all()
    assert (crop_starts >= starts).all() and (crop_starts + lengths <= starts + n_kmers).all()
    assert len(np.unique(crop_starts[:, 1])) > 20 and len(np.unique(lengths[:, 1])) > 20  # random, not one frame
    whole = _finetune_job.random_crops(starts, n_kmers, 1.0, rng)
    assert (whole[0] == starts).all() and (whole[1] == n_kmers).all()


def test_crops_reach_the_training_steps_and_an_interrupted_run_resumes_them_exactly(
    encoder, data, tmp_path, monkeypatch
):
    original, shortened = _finetune_job.random_crops, []

    def spy(starts, n_kmers, keep, rng):
        cropped = original(starts, n_kmers, keep, rng)
        shortened.append(int((cropped[1] < n_kmers).sum()))
        return cropped

    monkeypatch.setattr(_finetune_job, "random_crops", spy)
    interrupted_and_resumed(encoder, data, {**FAST, "epochs": 3, "crop": 0.65}, tmp_path, monkeypatch)
    assert len(shortened) > 30 and sum(shortened) > 0  # every step drew crops, and many windows were cut


def test_finetune_with_crops_learns_and_checks_the_share(encoder, data, tmp_path):
    train, valid = data
    model = dn.finetune(encoder, train, valid, **{**FAST, "epochs": 4}, crop=0.65, output_dir=tmp_path / "run")
    assert model.metrics["auroc"] > 0.75
    with pytest.raises(InputFormatError, match=r"other settings \(crop\)"):
        dn.finetune(encoder, train, valid, **{**FAST, "epochs": 4}, crop=0.8, output_dir=tmp_path / "run", resume=True)
    # a checkpoint written before the crop option existed resumes when crop stays None
    _loop.check_resumable({"lr": 1.0}, {"lr": 1.0, "crop": None}, "old")
    with pytest.raises(InputFormatError, match=r"other settings \(crop\)"):
        _loop.check_resumable({"lr": 1.0}, {"lr": 1.0, "crop": 0.5}, "old")
    for wrong in (0, 1.5, True, "half"):
        with pytest.raises(InputFormatError, match="crop"):
            dn.finetune(encoder, train, valid, **{**FAST, "crop": wrong})


def test_a_collapsed_run_is_restarted_with_other_seeds(encoder, data, tmp_path):
    train, valid = data
    frozen = {**FAST, "epochs": 1, "lr": 1e-12, "restarts": 2}  # nothing is learnt: the head predicts one class
    with pytest.warns(_restarts.CollapseWarning, match="restarted 2 time.* with seed 1000, 2000 "):
        model = dn.finetune(encoder, train.head(64), valid, **frozen, output_dir=tmp_path / "run")
    assert model.metrics["mcc"] <= 0
    assert (tmp_path / "run" / "restart-1" / "best").is_dir() and (tmp_path / "run" / "restart-2" / "best").is_dir()
    rare = pd.concat([train[train.label == 0].head(56), train[train.label == 1].head(8)])  # 12.5% of one class
    with pytest.warns(_restarts.CollapseWarning, match=r"Class '1' is 12.5% of the training rows: class_weights="):
        dn.finetune(encoder, rare, valid, **{**frozen, "restarts": 1, "baseline": False})
    task = labelled_task(encoder, train.head(64), valid, "auto")
    assert _restarts.rare_class_hint(task) == ""  # even classes: no hint
    with pytest.raises(InputFormatError, match="restarts"):
        dn.finetune(encoder, train, valid, **{**FAST, "restarts": -1})


def test_a_run_still_constant_after_a_quarter_of_its_steps_stops_there_and_restarts(encoder, data, tmp_path):
    class LastStep(Callback):
        def __init__(self):
            self.steps = []

        def on_end(self, state):
            self.steps.append((state.step, max(row["valid_mcc"] for row in state.history if "valid_mcc" in row)))

    train, valid = data
    frozen = {**FAST, "epochs": 4, "eval_every": 1, "lr": 1e-12, "restarts": 1}  # 16 steps, each evaluated
    ends = LastStep()
    with pytest.warns(_restarts.CollapseWarning, match="restarted 1 time"):
        model = dn.finetune(encoder, train.head(64), valid, **frozen, output_dir=tmp_path / "run", callbacks=[ends])
    (first_step, first_mcc), (last_step, _) = ends.steps
    assert first_step == 4 and first_mcc <= 0  # stopped at a quarter of its 16 steps, never better than constant
    assert last_step == 16  # the last restart allowed runs to the end
    kept_run = 0 if model.history["step"].max() == 4 else 1  # both constant: the better valid score, the later on a tie
    assert model.checkpoint == tmp_path / "run" / ("best" if kept_run == 0 else "restart-1/best")
    if model.metrics["mcc"] == first_mcc:
        assert kept_run == 1

    # resumed after the end: the stopped run stays stopped (it does not train past step 4) and nothing changes
    again = LastStep()
    with pytest.warns(_restarts.CollapseWarning, match="restarted 1 time"):
        resumed = dn.finetune(
            encoder, train.head(64), valid, **frozen, output_dir=tmp_path / "run", resume=True, callbacks=[again]
        )
    assert [step for step, _ in again.steps] == [4, 16]
    assert resumed.checkpoint == model.checkpoint and resumed.metrics == model.metrics


def test_the_stall_guard_stops_only_a_constant_predictor_past_a_quarter_of_the_steps():
    def stops(step: int, mccs: list[float]) -> bool:
        state = TrainingState(step=step, total_steps=100)
        state.history = [{"step": i + 1, "valid_mcc": mcc} for i, mcc in enumerate(mccs)]
        _restarts.StallGuard("mcc").on_evaluate(state, {"mcc": mccs[-1]})
        return state.stop_requested

    assert stops(25, [0.0, -0.1, 0.0])
    assert not stops(24, [0.0, 0.0])  # too early to tell
    assert not stops(25, [0.0])  # one evaluation (the end of a first epoch) does not decide alone
    assert not stops(50, [0.0, 0.2, 0.0])  # it learnt something once: not a constant predictor
    assert not stops(50, [np.nan, 0.1])
    resumed = TrainingState(
        step=25, total_steps=100, history=[{"step": 10, "valid_mcc": 0.0}, {"step": 25, "valid_mcc": 0.0}]
    )
    _restarts.StallGuard("mcc").on_start(resumed)
    assert resumed.stop_requested  # a run the guard had stopped, resumed: it stops again before training


def test_a_run_without_valid_names_its_last_checkpoint_and_a_one_class_valid_is_refused(encoder, data, tmp_path):
    train, valid = data
    model = dn.finetune(encoder, train.head(64), None, **{**FAST, "epochs": 1}, output_dir=tmp_path / "run")
    assert model.checkpoint == tmp_path / "run" / "last" and (model.checkpoint / "config.json").is_file()
    one_class = valid[valid["label"] == valid["label"].iloc[0]]
    with pytest.raises(InputFormatError, match="evaluation data has one class only"):
        dn.finetune(encoder, train, one_class, **FAST)
    leaky = pd.concat([valid, train.head(8)])
    with pytest.warns(dn.DataWarning, match="8 of the .* evaluation sequences .* are also training") as caught:
        tuned = dn.finetune(encoder, train.head(64), leaky, **{**FAST, "epochs": 1, "baseline": False})
    assert any(warning.filename == __file__ for warning in caught if warning.category is dn.DataWarning)
    # the test data is checked against the training rows too, in this session
    lower = train.iloc[[0, 5, 63]].assign(sequence=lambda f: f.sequence.str.lower())
    with pytest.warns(dn.DataWarning, match=r"3 of the 83 evaluation sequences .*rows 80, 81, 82\)") as caught:
        dn.evaluate(tuned, pd.concat([valid, lower], ignore_index=True))
    assert caught[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error", dn.DataWarning)
        dn.evaluate(tuned, valid, progress=False)


def test_only_a_constant_predictor_counts_as_collapsed(encoder):
    model = copy.copy(encoder)
    for metrics, task, expected in [
        ({"mcc": 0.0}, "classification", True),
        ({"mcc": 0.2}, "classification", False),
        ({"r2": -0.1}, "regression", True),
        (None, "classification", False),  # no valid data: nothing to judge by
    ]:
        model.metrics = metrics
        assert _restarts.collapsed(model, task) is expected


def test_finetune_config_names_a_bad_option_and_holds_every_option_of_finetune():
    import inspect

    with pytest.raises(InputFormatError, match="crop = 2"):
        dn.FinetuneConfig(crop=2)
    with pytest.raises(InputFormatError, match="epochs = 0"):
        dn.FinetuneConfig(epochs=0)
    options = dn.FinetuneConfig(epochs=2, lr=1e-3).options()
    assert options["epochs"] == 2 and options["lr"] == 1e-3
    parameters = inspect.signature(dn.finetune).parameters
    assert set(options) == set(parameters) - {"model", "train", "valid"}  # the verb and the config cannot drift
    assert all(parameters[name].default == dn.FinetuneConfig().options()[name] for name in options)
