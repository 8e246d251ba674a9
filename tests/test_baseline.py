"""dn.baseline: k-mer counts + logistic regression, scored like dn.evaluate and shaped like dn.predict."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import pytest

import dnabert_nb as dn

MOTIF = "TATAAA"


def motif_data(n: int, rng: np.random.Generator, *, random_labels: bool = False) -> pd.DataFrame:
    """60-nt random DNA; label 1 has MOTIF planted at a random position, label 0 has it nowhere."""
    sequences, labels = [], []
    for row in range(n):
        label = row % 2
        while True:
            sequence = "".join(rng.choice(list("ACGT"), 60))
            if MOTIF not in sequence:
                break
        if label:
            start = int(rng.integers(0, 60 - len(MOTIF) + 1))
            sequence = sequence[:start] + MOTIF + sequence[start + len(MOTIF) :]
        sequences.append(sequence)
        labels.append(label)
    if random_labels:
        labels = rng.integers(0, 2, n).tolist()
    return pd.DataFrame({"sequence": sequences, "label": labels})


@pytest.fixture(scope="module")
def motif_splits():
    rng = np.random.default_rng(7)
    return motif_data(200, rng), motif_data(100, rng), motif_data(100, rng)


@pytest.fixture(scope="module")
def fitted(motif_splits):
    train, valid, _ = motif_splits
    return dn.baseline(train, valid)


def test_motif_is_learned_and_k_is_chosen_on_valid(fitted, motif_splits):
    _, _, test = motif_splits
    assert fitted.k in (3, 4, 5, 6)
    assert set(fitted.valid_scores) == {3, 4, 5, 6}
    assert fitted.valid_scores[fitted.k] == max(fitted.valid_scores.values())
    assert fitted.selected_by == "valid"
    assert fitted.labels == ["0", "1"]
    scores = fitted.evaluate(test)
    assert scores["mcc"] > 0.8
    assert scores["n"] == 100
    expected = {"loss", "accuracy", "macro_f1", "mcc", "precision", "recall", "auroc", "auprc", "n"}
    assert set(scores) == expected
    assert all(np.isfinite(value) for value in scores.values())
    assert "KmerBaseline(k=" in repr(fitted)


def test_random_labels_stay_near_zero():
    rng = np.random.default_rng(11)
    train, valid, test = (motif_data(n, rng, random_labels=True) for n in (200, 100, 100))
    assert abs(dn.baseline(train, valid).evaluate(test)["mcc"]) < 0.3


def test_predict_has_the_columns_of_dn_predict(fitted, motif_splits):
    _, _, test = motif_splits
    frame = fitted.predict(test.sequence.str.lower().tolist())
    assert list(frame.columns) == ["id", "length", "label", "score", "prob_0", "prob_1"]
    assert len(frame) == len(test)
    assert (frame["length"] == 60).all()
    assert np.allclose(frame[["prob_0", "prob_1"]].sum(axis=1), 1)
    assert np.allclose(frame["score"], frame[["prob_0", "prob_1"]].max(axis=1))
    # lower case and U read as T, as dn.predict reads them
    rna = fitted.predict(test.sequence.str.replace("T", "U").tolist())
    assert np.allclose(rna["prob_1"], frame["prob_1"])


def test_fixed_k_without_valid(motif_splits):
    train, _, _ = motif_splits
    base = dn.baseline(train, k=4)
    assert base.k == 4
    assert base.valid_scores == {}
    assert base.selected_by == "fixed"


def test_k_by_cross_validation_without_valid(motif_splits):
    train, _, test = motif_splits
    base = dn.baseline(train, k=(3, 6))
    assert base.selected_by == "cross-validation"
    assert set(base.valid_scores) == {3, 6}
    assert base.k == 6
    assert base.evaluate(test)["mcc"] > 0.8


def test_it_reads_every_sequence_it_was_fitted_on_whatever_k_it_chose(motif_splits):
    train, _, _ = motif_splits
    short = pd.concat([train, pd.DataFrame({"sequence": ["ACGT"], "label": [0]})], ignore_index=True)
    base = dn.baseline(short, k=(3, 6))
    assert base.k == 6 and base.min_length == 3  # the premise: a 4-nt training row has no 6-mer
    probabilities = base.predict(short)[["prob_0", "prob_1"]].to_numpy()
    intercept = base.pipeline[-1].intercept_[0]
    np.testing.assert_allclose(probabilities[-1], [1 / (1 + np.exp(intercept)), 1 / (1 + np.exp(-intercept))])
    with pytest.raises(dn.InvalidSequenceError, match="has 2 nt"):
        base.predict(["AC"])


def test_same_seed_same_predictions(motif_splits):
    train, valid, test = motif_splits
    first = dn.baseline(train, valid, k=(4, 5), seed=3).predict(test)
    second = dn.baseline(train, valid, k=(4, 5), seed=3).predict(test)
    pd.testing.assert_frame_equal(first, second)


def test_multiclass_names():
    rng = np.random.default_rng(5)
    motifs = {"a": "TATAAA", "b": "GGGCCC", "c": "CACGTG"}
    sequences, labels = [], []
    for row in range(150):
        name = "abc"[row % 3]
        sequence = "".join(rng.choice(list("ACGT"), 40))
        sequences.append(sequence[:10] + motifs[name] + sequence[16:])
        labels.append(name)
    base = dn.baseline((sequences[:120], labels[:120]), (sequences[120:], labels[120:]), k=6)
    assert base.labels == ["a", "b", "c"]
    frame = base.predict(sequences[120:])
    assert list(frame.columns[-3:]) == ["prob_a", "prob_b", "prob_c"]
    assert base.evaluate((sequences[120:], labels[120:]))["accuracy"] > 0.9


@pytest.mark.parametrize(
    ("train", "error", "match"),
    [
        (pd.DataFrame({"sequence": [], "label": []}), dn.InputFormatError, "empty"),
        ((["ACGTACGT", "TTTTGGGG"], [1, 1]), dn.InputFormatError, "one class only"),
        ((["ACGTACGT", "TTTTGGGG"], [0.25, 1.5]), dn.ModelTaskError, "classification only"),
        ((["ACGTACGT", "TTTTGGGG"], [["a"], ["b"]]), dn.ModelTaskError, "classification only"),
        ((["ACGTAC-T", "TTTTGGGG"], [0, 1]), dn.InvalidSequenceError, "position 7"),
    ],
)
def test_bad_input(train, error, match):
    with pytest.raises(error, match=match):
        dn.baseline(train)
    assert issubclass(error, dn.DNABERTError)


def test_bad_options_and_unknown_valid_labels(motif_splits):
    train, valid, _ = motif_splits
    with pytest.raises(dn.InputFormatError, match="k = "):
        dn.baseline(train, k=0)
    with pytest.raises(dn.InputFormatError, match="k = "):
        dn.baseline(train, k=[])
    with pytest.raises(dn.InputFormatError, match="task = "):
        dn.baseline(train, task="clustering")
    with pytest.raises(dn.ModelTaskError, match="classification only"):
        dn.baseline(train, task="regression")
    with pytest.raises(dn.InputFormatError, match="not among the model's classes"):
        dn.baseline(train, valid.assign(label=valid.label + 5))


def test_shipped_ecoli_promoters():
    df = dn.datasets.load("ecoli_promoters")
    base = dn.baseline(df[df.split == "train"], df[df.split == "valid"])
    scores = base.evaluate(df[df.split == "test"])
    assert scores["n"] == (df.split == "test").sum()
    assert all(np.isfinite(scores[name]) for name in ("loss", "accuracy", "mcc", "auroc"))
    assert len(base.predict(df[df.split == "test"])) == scores["n"]


# finetune fits the baseline beside the model; evaluate(baseline=...) scores both
# blend=False: these test the warning about the network alone; the blend that finetune returns instead is in
# test_blend.py
UNTRAINED = dict(
    epochs=1, lr=1e-12, batch_size=32, restarts=0, linear_probe=False, blend=False, log_every=5, live_plot=False
)


@pytest.fixture(scope="module")
def untrained(encoder, motif_splits):
    """A tiny model 'fine-tuned' at a learning rate too small to learn the motif the baseline finds."""
    train, valid, _ = motif_splits
    # far below the baseline on every resample: a loss, not noise
    clear = r"beats the fine-tuned network .* on 100% of bootstrap resamples of the 100 valid sequences \(a clear lead"
    with pytest.warns(dn.BaselineWarning, match=clear + r".* 200 training sequences"):
        return dn.finetune(encoder, train, valid, **UNTRAINED, progress=False)


def test_finetune_fits_the_baseline_on_its_data_and_warns_when_it_is_better(untrained, fitted):
    assert isinstance(untrained.baseline, dn.KmerBaseline)
    assert untrained.baseline.k == fitted.k and untrained.baseline.valid_scores == fitted.valid_scores
    assert untrained.baseline.valid_scores[fitted.k] > 0.8 > untrained.metrics["mcc"]


def test_finetune_prints_both_valid_scores_with_progress(encoder, motif_splits, capsys):
    train, valid, _ = motif_splits
    with pytest.warns(dn.BaselineWarning):
        model = dn.finetune(encoder, train.head(64), valid, **UNTRAINED, progress=True)
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("valid MCC"))
    base = model.baseline
    assert line == (
        f"valid MCC: fine-tuned network {model.metrics['mcc']:.3f}, k-mer baseline (k={base.k}) "
        f"{base.valid_scores[base.k]:.3f}"
    )


def scored_copy(model, outputs: np.ndarray, targets: np.ndarray):
    """A ScoredModel of ``model`` whose valid outputs are ``outputs`` (probabilities) and its valid MCC theirs."""
    from dnabert_nb.training.evaluate import EvaluationOutputs
    from dnabert_nb.training.metrics import classification_metrics
    from dnabert_nb.training.selection import ScoredModel

    copied = copy.copy(model)
    copied.metrics = {**model.metrics, "mcc": classification_metrics(targets, outputs)["mcc"]}
    return ScoredModel(copied, EvaluationOutputs(np.log(outputs), outputs))


def test_the_warning_says_when_a_few_rows_cannot_tell_the_two_apart(untrained, motif_splits):
    from dnabert_nb.training.selection import compare_with_baseline
    from dnabert_nb.training.targets import labelled_task

    data = labelled_task(untrained, *motif_splits[:2], "auto")
    sequences, targets = data.evaluation
    probabilities = untrained.baseline.probabilities(sequences)
    right = np.flatnonzero(probabilities.argmax(axis=1) == targets)
    worse = probabilities.copy()
    worse[right[:2]] = worse[right[:2], ::-1]  # two rows the baseline gets right, wrong here: most resamples show it
    scored = scored_copy(untrained, worse, targets)
    assert scored.model.metrics["mcc"] < untrained.baseline.valid_scores[untrained.baseline.k]
    unclear = r"on (8\d|9[0-4])% of bootstrap .* too few valid rows to tell the two apart"
    with pytest.warns(dn.BaselineWarning, match=unclear):
        compare_with_baseline(scored, data, show=False)
    with warnings.catch_warnings():  # the model level with the baseline, or above it: no warning
        warnings.simplefilter("error")
        compare_with_baseline(scored_copy(untrained, probabilities, targets), data, show=False)


def test_evaluate_with_the_baseline_scores_both_on_the_same_data(untrained, motif_splits):
    _, _, test = motif_splits
    table = dn.evaluate(untrained, test, baseline=True, progress=False)
    assert list(table.index) == ["model", "k-mer baseline"] and table.index.name == "scored"
    alone = dn.evaluate(untrained, test, progress=False)
    assert table.loc["model", list(alone)].to_dict() == pytest.approx(alone)
    assert table.loc["k-mer baseline", list(alone)].to_dict() == pytest.approx(untrained.baseline.evaluate(test))
    assert table.loc["k-mer baseline", "k"] == untrained.baseline.k
    # a baseline fitted elsewhere, with the classes named in another order, is scored by name
    reordered = dn.baseline(*(split.assign(label=split.label.map({0: "b", 1: "a"})) for split in motif_splits[:2]))
    renamed = copy.copy(untrained)
    renamed.labels = ["b", "a"]
    relabelled = test.assign(label=test.label.map({0: "b", 1: "a"}))
    table = dn.evaluate(renamed, relabelled, baseline=reordered, progress=False)
    assert table.loc["k-mer baseline", "mcc"] == pytest.approx(reordered.evaluate(relabelled)["mcc"])
    assert table.loc["k-mer baseline", "mcc"] > 0.8


def test_evaluate_baseline_errors(untrained, encoder, motif_splits):
    train, valid, test = motif_splits
    without = copy.copy(untrained)
    without.baseline = None
    with pytest.raises(dn.ModelTaskError, match="carries no k-mer baseline"):
        dn.evaluate(without, test, baseline=True)
    with pytest.raises(dn.InputFormatError, match="KmerBaseline"):
        dn.evaluate(untrained, test, baseline="yes")
    other_classes = dn.baseline(train.assign(label=train.label + 5), valid.assign(label=valid.label + 5))
    with pytest.raises(dn.ModelTaskError, match="fit the baseline on the data the model was fine-tuned on"):
        dn.evaluate(untrained, test, baseline=other_classes)
    assert dn.finetune(encoder, train.head(64), valid, **UNTRAINED, progress=False, baseline=False).baseline is None
    regression = dn.finetune(
        encoder,
        train.head(64).assign(label=0.5 + train.label),
        valid.assign(label=0.5 + valid.label),
        **UNTRAINED,
        progress=False,
    )
    assert regression.task == "regression" and regression.baseline is None


def test_valid_of_one_class_is_refused_and_valid_sharing_training_sequences_is_flagged(motif_splits):
    train, valid, _ = motif_splits
    with pytest.raises(dn.InputFormatError, match="evaluation data has one class only"):
        dn.baseline(train, valid[valid.label == 1])
    leaky = pd.concat([valid, train.head(10).assign(sequence=train.sequence.head(10).str.lower())], ignore_index=True)
    with pytest.warns(dn.DataWarning, match=r"10 of the 110 evaluation sequences \(9.1%; rows 100, 101") as caught:
        dn.baseline(train, leaky)
    assert caught[0].filename == __file__  # pointed at the caller's line
    with warnings.catch_warnings():
        warnings.simplefilter("error", dn.DataWarning)
        dn.baseline(train, valid)  # disjoint: no warning


def test_scoring_data_of_one_class_warns_that_mcc_and_auroc_cannot_compare_models(untrained, motif_splits):
    test = motif_splits[2]
    positives = test[test.label == 1]
    with pytest.warns(dn.DataWarning, match=r"one class only \('1' in all 50 rows\)") as caught:
        scores = dn.evaluate(untrained, positives, progress=False)
    assert caught[0].filename == __file__ and scores["mcc"] == 0 and np.isnan(scores["auroc"])
    with pytest.warns(dn.DataWarning, match="one class only") as caught:
        untrained.baseline.evaluate(positives)
    assert caught[0].filename == __file__
