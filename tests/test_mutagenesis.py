"""mutagenesis: every value equals predict on the mutated sequence, windows included; the map plot."""

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
import pytest
import torch
from transformers import BertForSequenceClassification

import dnabert_nb as dn
from dnabert_nb import InputFormatError, InvalidSequenceError, ModelTaskError
from dnabert_nb.pl.mutagenesis import importance
from dnabert_nb.testing import short_context_config

BASES = list("ACGT")


def random_dna(length, seed):
    return "".join(np.random.default_rng(seed).choice(BASES, size=length))


def every_mutant(sequence):
    return [
        (p, b, sequence[:p] + b + sequence[p + 1 :]) for p in range(len(sequence)) for b in BASES if b != sequence[p]
    ]


def naive(model, sequence, column, **options):
    """The reference: one predict of the sequence and one of every mutant, as a user would write it."""
    mutants = every_mutant(sequence)
    base = dn.predict(model, sequence, progress=False, **options)[column].iloc[0]
    values = dn.predict(model, [m[2] for m in mutants], progress=False, **options)[column].to_numpy()
    expected = pd.DataFrame(0.0, index=pd.Index(range(len(sequence)), name="position"), columns=BASES)
    for (position, base_letter, _), value in zip(mutants, values):
        expected.loc[position, base_letter] = value - base
    return expected


@pytest.fixture(scope="module")
def classifier(checkpoints):
    return dn.load(checkpoints(4, num_labels=2), precision="fp32")


def test_every_value_is_the_change_predict_gives(classifier):
    sequence = random_dna(60, 1)
    ism = dn.mutagenesis(classifier, sequence, target="1", progress=False)
    pd.testing.assert_frame_equal(ism, naive(classifier, sequence, "prob_1"), atol=1e-5, check_exact=False)
    assert ism.attrs["target"] == "1" and ism.attrs["sequence"] == sequence
    assert ism.attrs["reference"] == pytest.approx(dn.predict(classifier, sequence, progress=False).prob_1[0], abs=1e-6)
    reference_bases = np.array([ism.loc[p, sequence[p]] for p in range(len(sequence))])
    assert (reference_bases == 0).all() and (ism.to_numpy() != 0).sum() > 150


def test_long_sequences_rerun_only_the_windows_a_substitution_touches(classifier):
    config = short_context_config(num_labels=2, problem_type="single_label_classification")
    torch.manual_seed(0)
    short = dn.DNABERTModel(
        BertForSequenceClassification(config), dn.KmerTokenizer(4), labels=["0", "1"], precision="fp32"
    )
    sequence = random_dna(90, 2)  # 33-nt windows: four of them, sharing 29 nt
    ism = dn.mutagenesis(short, sequence, target=0, progress=False)
    pd.testing.assert_frame_equal(ism, naive(short, sequence, "prob_0"), atol=1e-5, check_exact=False)


def test_options_log_odds_positions_several_sequences_and_the_default_target(classifier):
    sequence = random_dna(40, 3)
    both = dn.mutagenesis(classifier, [sequence, random_dna(30, 4)], positions=range(5, 9), progress=False)
    assert isinstance(both, list) and [len(frame) for frame in both] == [4, 4]
    predicted = dn.predict(classifier, sequence, progress=False).label[0]
    assert both[0].attrs["target"] == predicted and both[0].index.tolist() == [5, 6, 7, 8]
    probability = dn.mutagenesis(classifier, sequence, target="1", positions=[7], progress=False)
    odds = dn.mutagenesis(classifier, sequence, target="1", positions=[7], scale="log_odds", progress=False)
    p0 = probability.attrs["reference"]
    p1 = p0 + probability.loc[7]
    expected = np.log(p1 / (1 - p1)) - np.log(p0 / (1 - p0))
    expected[sequence[7]] = 0
    np.testing.assert_allclose(odds.loc[7], expected, atol=1e-4)
    rna = dn.mutagenesis(classifier, sequence.replace("T", "U").lower(), target="1", positions=[7], progress=False)
    pd.testing.assert_frame_equal(rna, probability)


def test_regression_reports_the_change_of_the_value(checkpoints):
    regressor = dn.load(checkpoints(4, num_labels=1), precision="fp32")
    sequence = random_dna(25, 5)
    ism = dn.mutagenesis(regressor, sequence, progress=False)
    pd.testing.assert_frame_equal(ism, naive(regressor, sequence, "value"), atol=1e-5, check_exact=False)
    with pytest.raises(InputFormatError, match="use 'probability' for a regression model"):
        dn.mutagenesis(regressor, sequence, scale="log_odds", progress=False)


def test_bad_input(checkpoints, classifier):
    with pytest.raises(ModelTaskError, match="task head"):
        dn.mutagenesis(dn.load(checkpoints(4)), "ACGTACGTAC", progress=False)
    with pytest.raises(InputFormatError, match="target = 'tata' is not one of the model's outputs"):
        dn.mutagenesis(classifier, "ACGTACGTAC", target="tata", progress=False)
    with pytest.raises(InputFormatError, match="from 0 to 9"):
        dn.mutagenesis(classifier, "ACGTACGTAC", positions=[10], progress=False)
    with pytest.raises(InvalidSequenceError, match="position 3"):
        dn.mutagenesis(classifier, "AC-TACGTAC", progress=False)
    with pytest.raises(InputFormatError, match="scale = 'bits'"):
        dn.mutagenesis(classifier, "ACGTACGTAC", scale="bits", progress=False)


def test_the_map_draws_the_importance_logo_over_the_heatmap(classifier):
    ism = pd.DataFrame([[0, -0.3, -0.3, -0.3], [0.2, 0.1, 0, 0.3]], columns=BASES)
    heights = importance(ism, "AG")
    assert heights.loc[0, "A"] == pytest.approx(0.3) and heights.loc[1, "G"] == pytest.approx(-0.2)
    assert (heights.drop(columns=["A"]).loc[0] == 0).all()
    sequence = random_dna(120, 6)
    axes = dn.pl.mutagenesis(dn.mutagenesis(classifier, sequence, progress=False))
    top, bottom = axes
    assert bottom.images[0].get_array().shape == (4, 120)
    assert [t.get_text() for t in bottom.get_yticklabels()] == BASES
    assert len(top.patches) + len(top.collections) + len(top.texts) > 0
    with pytest.raises(InputFormatError, match="sequence"):
        dn.pl.mutagenesis(pd.DataFrame(columns=BASES))


def test_the_map_of_a_trained_model_points_at_the_motif_it_learned(checkpoints):
    from test_finetune import FAST, MOTIF, planted

    model = dn.finetune(dn.load(checkpoints(4)), planted(320, 0), planted(80, 1), **{**FAST, "epochs": 4})
    assert model.metrics["auroc"] > 0.85
    rng = np.random.default_rng(7)
    inside, outside = [], []
    for _ in range(6):
        sequence = list(rng.choice(BASES, size=60))
        at = int(rng.integers(10, 40))
        sequence[at : at + len(MOTIF)] = MOTIF
        ism = dn.mutagenesis(model, "".join(sequence), target="1", progress=False)
        drop = -ism.to_numpy().mean(axis=1) * 4 / 3  # mean change of the three substitutions, sign flipped
        inside.append(drop[at : at + len(MOTIF)].mean())
        outside.append(np.r_[drop[: at - 4], drop[at + len(MOTIF) + 4 :]].mean())
    assert np.mean(inside) > 5 * max(np.mean(outside), 1e-6) and np.mean(inside) > 0.01
