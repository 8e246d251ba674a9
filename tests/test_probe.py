"""The linear probe: a logistic regression on the frozen encoder's layer-averaged token means, as a task head."""

import time

import numpy as np
import pandas as pd
import pytest
import torch
from test_finetune import FAST, planted

import dnabert_nb as dn
from dnabert_nb.training import finetune as _finetune
from dnabert_nb.training import finetune_job as _finetune_job
from dnabert_nb.training import probe as _probe
from dnabert_nb.training import selection as _selection
from dnabert_nb.training.evaluate import EvaluationOutputs, bootstrap_wins, window_outputs
from dnabert_nb.training.heads import task_network
from dnabert_nb.training.probe import fit_probe_head, probe_inputs, probe_layers, probe_solver
from dnabert_nb.training.targets import labelled_task

PROBING = {**FAST, "linear_probe": True, "baseline": False}


@pytest.fixture(scope="module")
def data():
    return planted(240, 5), planted(80, 6)


def test_embedding_every_layer_is_the_mean_of_each_layer_s_embedding(encoder):
    sequences = ["ACGTTGCAAGCTAGCTAGGATCCA", "TTTTGGGGCCCCAAAATATAAAAGG" * 3]
    each = [dn.embed(encoder, sequences, pooling="mean", layer=i, progress=False) for i in range(3)]
    every = dn.embed(encoder, sequences, pooling="mean", layer="all", progress=False)
    np.testing.assert_allclose(every, np.mean(each, axis=0), rtol=1e-5, atol=1e-6)
    side_by_side = dn.embed(encoder, sequences, pooling="mean", layer="each", progress=False)
    np.testing.assert_allclose(side_by_side, np.stack(each, axis=1), rtol=1e-5, atol=1e-6)
    with pytest.raises(dn.InputFormatError, match="'all'"):
        dn.embed(encoder, sequences, layer="every")


@pytest.mark.parametrize(("n_classes", "layers"), [(2, None), (3, None), (2, [1])])
def test_the_probe_head_computes_the_logistic_regression_it_fitted(
    encoder, data, n_classes, layers, monkeypatch, tmp_path
):
    train = data[0]
    if n_classes == 3:  # a third class carrying another motif
        other = planted(120, 7, motif="GCGCGCGC")
        train = pd.concat([train, other[other.label == 1].assign(label=2)], ignore_index=True)
    names = [str(c) for c in range(n_classes)]
    # fp32 throughout: the head must compute the fitted regression exactly (bf16, where a CPU has it, rounds)
    features = dn.embed(encoder, train, pooling="mean", layer="each", precision="fp32", progress=False)
    read = features.mean(axis=1) if layers is None else features[:, layers].mean(axis=1)
    monkeypatch.setattr(_probe, "probe_candidates", lambda _: [(layers, read.astype(np.float64))])
    network = task_network(encoder, "classification", names, seed=0)
    network.config.classifier_pooling = "layers_mean"
    regression = fit_probe_head(network, features, train.label.to_numpy(), seed=0)
    assert network.config.classifier_layers == layers
    model = dn.DNABERTModel(network.eval(), encoder.tokenizer, labels=names, precision="fp32")
    model.save(tmp_path / "probe")
    for head in (model, dn.load(tmp_path / "probe", precision="fp32")):  # the hidden states it reads are saved with it
        predicted = dn.predict(head, train, progress=False)[[f"prob_{name}" for name in names]].to_numpy()
        expected = regression.predict_proba(probe_inputs(read.astype(np.float64))[0])
        np.testing.assert_allclose(predicted, expected, atol=1e-5)
    assert np.ptp(expected) > 0.1  # the fitted regression is not a constant


def test_the_probe_reads_the_hidden_state_that_fits_the_training_rows_best(encoder):
    rng = np.random.default_rng(0)
    targets = rng.integers(0, 2, 300)
    hidden = encoder.config.hidden_size
    features = rng.normal(size=(300, 3, hidden))
    features[:, 2, :4] += 1.5 * targets[:, None]  # the signal sits in hidden state 2 alone
    network = task_network(encoder, "classification", ["0", "1"], seed=0)
    network.config.classifier_pooling = "layers_mean"
    fit_probe_head(network, features, targets, seed=0)
    assert network.config.classifier_layers == [2]
    features = rng.normal(size=(300, 3, hidden))
    features[:, :, :4] += 0.6 * targets[:, None, None]  # the same signal in each, the noise of each its own
    fit_probe_head(network, features, targets, seed=0)
    assert network.config.classifier_layers is None


def test_finetune_keeps_the_probe_when_it_scores_higher_on_valid(encoder, data, tmp_path, capsys):
    train, valid = data
    untrained = {
        **PROBING,
        "epochs": 1,
        "lr": 1e-12,
        "progress": True,
        "baseline": True,
        "blend": False,
    }  # the fine-tuned head learns nothing
    with pytest.warns(
        dn.BaselineWarning, match=r"beats the linear probe \(encoder frozen\)"
    ):  # the planted motif is 5-mer counts' game
        model = dn.finetune(encoder, train, valid, **untrained, output_dir=tmp_path)
    assert model.source.startswith("linear_probe(") and model.config.classifier_pooling == "layers_mean"
    assert model.metrics == pytest.approx(dn.evaluate(model, valid, progress=False))
    assert model.metrics["mcc"] > 0.3 and model.history["valid_mcc"].notna().any()  # the fine-tuning run's curves
    for original, probed in zip(encoder.network.bert.encoder.parameters(), model.network.bert.encoder.parameters()):
        torch.testing.assert_close(original, probed, rtol=0, atol=0)  # the encoder stayed frozen
    lines = capsys.readouterr().out.splitlines()
    line = next(line for line in lines if line.startswith("valid mcc: fine-tuned model "))
    probe_text = f"linear probe ({probe_layers(model.config)}) {model.metrics['mcc']:.3f}"
    assert f"{probe_text}; the fine-tuned model scores higher on " in line
    assert line.endswith("(95% needed): kept the linear probe")
    assert any(
        line.startswith(f"valid MCC: linear probe (encoder frozen) {model.metrics['mcc']:.3f}, k-mer baseline")
        for line in lines
    )
    reloaded = dn.load(tmp_path / "linear-probe")
    pd.testing.assert_frame_equal(dn.predict(reloaded, valid, progress=False), dn.predict(model, valid, progress=False))
    contributions = dn.token_contributions(model, valid.sequence[:3].tolist(), progress=False)
    assert all(np.isfinite(c).all() and np.abs(c).max() > 0 for c in contributions)


@pytest.fixture
def network_always_wins(monkeypatch):
    """finetune's bootstrap test, replaced by one the fine-tuned network always wins; the list of what it was given
    (task, targets, network outputs, probe outputs, metric)."""
    given = []

    def network_wins(task, targets, network, probe, metric, labels, **options):
        given.append((task, targets, network, probe, metric))
        return 1.0

    monkeypatch.setattr(_selection, "bootstrap_wins", network_wins)
    return given


@pytest.fixture
def valid_passes(monkeypatch):
    """The (model source, number of sequences) of every inference pass finetune makes through window_outputs."""
    passes = []

    def counted_window_outputs(model, sequences, **options):
        passes.append((model.source, len(sequences)))
        return window_outputs(model, sequences, **options)

    for module in (_finetune, _finetune_job, _selection):  # evaluations, the probe, a resumed run's best model
        monkeypatch.setattr(module, "window_outputs", counted_window_outputs)
    return passes


def test_finetune_keeps_the_fine_tuned_network_when_it_scores_higher_on_most_resamples(
    encoder, data, network_always_wins, valid_passes
):
    train, valid = data
    kept = dn.finetune(encoder, train.head(96), valid, **PROBING)
    evaluations = kept.history["valid_mcc"].notna().sum()
    passes = [n for _, n in valid_passes]
    assert passes == [len(valid)] * (evaluations + 1)  # each evaluation and the probe's: valid is not run again
    without = dn.finetune(encoder, train.head(96), valid, **{**FAST, "baseline": False})
    assert kept.source.startswith("finetune(") and kept.metrics == without.metrics
    seen = [
        (task, len(targets), a.outputs.shape, b.outputs.shape, metric)
        for task, targets, a, b, metric in network_always_wins
    ]
    assert seen == [("classification", len(valid), (len(valid), 2), (len(valid), 2), "mcc")]  # valid's outputs of both
    given = network_always_wins[0][2]
    kept_outputs = window_outputs(kept, valid.sequence.tolist())  # the best evaluation's outputs were given
    np.testing.assert_allclose(given.outputs, kept_outputs.outputs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(given.logits, kept_outputs.logits, rtol=1e-5, atol=1e-5)


def test_a_new_or_re_chosen_head_reads_every_hidden_state_not_a_former_probe_s_choice(encoder, data):
    train, valid = data
    network = task_network(encoder, "classification", ["0", "1"], seed=0)
    network.config.classifier_pooling, network.config.classifier_layers = "layers_mean", [1]
    probe = dn.DNABERTModel(network, encoder.tokenizer, labels=["0", "1"], precision="fp32")
    assert "classifier_layers=[1]" in repr(probe)
    again = dn.finetune(probe, train.head(64), valid, **{**FAST, "epochs": 1, "pooling": "layers_mean"})
    assert again.config.classifier_pooling == "layers_mean" and again.config.classifier_layers is None
    relabelled = task_network(probe, "classification", ["no", "yes"], seed=0)
    assert relabelled.config.classifier_pooling == "mean" and relabelled.config.classifier_layers is None


def test_bootstrap_wins_counts_the_resamples_where_the_first_classifier_scores_higher():
    rng = np.random.default_rng(0)
    targets = rng.integers(0, 2, 400)

    def right_on(share):  # probabilities that are right on about this share of the rows
        right = rng.random(len(targets)) < share
        predicted = np.where(right, targets, 1 - targets)
        return np.stack([1 - predicted, predicted], axis=1) * 0.8 + 0.1

    good, poor = right_on(0.9), right_on(0.6)

    def wins(first, second, metric, rows=slice(None)):
        first, second = (EvaluationOutputs(np.log(p[rows]), p[rows]) for p in (first, second))
        return bootstrap_wins("classification", targets[rows], first, second, metric, ["a", "b"])

    assert wins(good, poor, "mcc") > 0.99 and wins(poor, good, "mcc") < 0.01
    assert wins(good, poor, "loss") > 0.99  # lower is better for the loss
    assert wins(good, good, "mcc") == 0  # a tie is not a win
    few = slice(0, 10)  # ten rows: one more right answer is no evidence
    slightly = poor.copy()
    wrong = np.flatnonzero(slightly[few].argmax(axis=1) != targets[few])[0]
    slightly[wrong] = slightly[wrong][::-1]
    assert 0.2 < wins(slightly, poor, "accuracy", few) < 0.95


def test_no_probe_without_two_rows_of_every_class_for_regression_or_for_an_explicit_other_head(
    encoder, data, monkeypatch
):
    train, valid = data
    lonely = pd.concat([train[train.label == 0].head(40), train[train.label == 1].head(1)])
    task = labelled_task(encoder, lonely, valid, "auto")
    assert _selection.probe_model(encoder, task, seed=0, device=encoder.device, precision=None, progress=False) is None

    def never(*args, **options):
        raise AssertionError("the probe is for classification only")

    monkeypatch.setattr(_selection, "probe_model", never)
    small = train.head(64)
    regression = dn.finetune(
        encoder, small.assign(label=small.label + 0.5), valid.assign(label=valid.label + 0.5), **PROBING
    )
    assert regression.task == "regression"
    cls_head = dn.finetune(encoder, small, valid, **PROBING, pooling="cls")  # the [CLS] head asked for is kept
    assert cls_head.config.classifier_pooling == "cls"


def test_a_run_resumed_past_its_best_evaluation_scores_valid_again_for_the_pick(
    encoder, data, tmp_path, network_always_wins, valid_passes
):
    train, valid = data
    options = {**PROBING, "epochs": 12, "early_stopping_patience": 1, "output_dir": tmp_path}
    stopped = dn.finetune(encoder, train.head(64), valid, **options)
    assert stopped.history["step"].max() < 12 * 4  # it stopped early: resuming evaluates nothing new
    valid_passes.clear()
    resumed = dn.finetune(encoder, train.head(64), valid, **options, resume=True)
    assert resumed.metrics == stopped.metrics and len(network_always_wins) == 2
    sources = [source.split("(")[0] for source, _ in valid_passes]
    assert sources == ["linear_probe", "finetune"]  # the network's, once more
    before, after = (network for _, _, network, _, _ in network_always_wins)
    np.testing.assert_allclose(after.outputs, before.outputs, rtol=1e-5, atol=1e-6)


def test_the_probe_solves_by_newton_steps_only_where_the_rows_outnumber_the_coefficients():
    # 256 features: one set of coefficients for two classes, one per class for three or more
    assert probe_solver(300, 256, 2) == "newton-cholesky"
    assert probe_solver(84, 256, 2) == "lbfgs"
    assert probe_solver(300, 256, 3) == "lbfgs"
    assert probe_solver(1000, 256, 3) == "newton-cholesky"


@pytest.mark.parametrize("stop_in", ["linear probe features", "linear probe fits"])
def test_a_stop_during_the_probe_keeps_the_network_and_ends_the_probe_at_once(encoder, data, monkeypatch, stop_in):
    train, valid = data
    fits, phases = [], []

    def slow_cross_validation(*args, **kwargs):  # a deliberately slow probe: each choice takes a while
        fits.append(1)
        time.sleep(0.05)
        return np.array([-0.5])

    class StopDuringTheProbe(dn.Callback):
        def on_phase(self, phase, done, total):
            phases.append((phase, done, total))

        def wants_stop(self):  # Stop pressed once the probe has done a few pieces of the phase
            return sum(phase == stop_in for phase, _, _ in phases) > 2

    monkeypatch.setattr(_probe, "cross_val_score", slow_cross_validation)
    model = dn.finetune(encoder, train, valid, **PROBING, callbacks=[StopDuringTheProbe()])
    assert not model.source.startswith("linear_probe(") and model.metrics is not None  # the network, evaluated
    assert [phase for phase, _, _ in phases][-1] == stop_in  # nothing after the stop
    if stop_in == "linear probe fits":
        assert len(fits) == 2 and phases[-1][1:] == (2, phases[-1][2])  # the third fit never started
    else:
        assert fits == [] and [done for phase, done, _ in phases if phase == stop_in] == [
            0,
            _selection.PROBE_CHUNK,
            2 * _selection.PROBE_CHUNK,
        ]


def test_linear_probe_alone_fits_the_probe_finetune_would_fit_and_refuses_what_it_cannot_fit(encoder, data):
    train, valid = data
    probe = dn.linear_probe(encoder, train, valid, progress=False)
    assert probe.source.startswith("linear_probe(") and probe.history is None and probe.baseline is not None
    assert probe.metrics == pytest.approx(dn.evaluate(probe, valid, progress=False))
    for original, probed in zip(encoder.network.bert.encoder.parameters(), probe.network.bert.encoder.parameters()):
        torch.testing.assert_close(original, probed, rtol=0, atol=0)  # the encoder stays frozen
    with pytest.raises(dn.InputFormatError, match="needs valid data"):
        dn.linear_probe(encoder, train, None)
    values = train.assign(label=np.linspace(0.1, 0.9, len(train)))
    with pytest.raises(dn.InputFormatError, match="regression task; use dn.finetune"):
        dn.linear_probe(encoder, values, values)


def test_a_stop_while_the_k_mer_baseline_is_fitted_ends_the_run_before_any_step(encoder, data):
    train, valid = data
    phases, steps = [], []

    class StopAtTheBaseline(dn.Callback):
        def on_phase(self, phase, done, total):
            phases.append((phase, done, total))

        def on_step(self, state, row):
            steps.append(state.step)

        def wants_stop(self):
            return True

    with pytest.raises(dn.TrainingError, match="before any training"):
        dn.finetune(encoder, train, valid, **{**PROBING, "baseline": True}, callbacks=[StopAtTheBaseline()])
    assert phases == [("k-mer baseline", 0, 1), ("k-mer baseline", 1, 1)] and steps == []
    with pytest.raises(dn.TrainingError, match="before any training"):
        dn.linear_probe(encoder, train, valid, progress=False, callbacks=[StopAtTheBaseline()])
