"""dn.baseline: k-mer counts + logistic regression, scored like dn.evaluate and shaped like dn.predict."""

from __future__ import annotations

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
