"""motif_scores: log-odds matching on both strands, against hand-made sequences."""

import numpy as np
import pandas as pd
import pytest

import dnabert_nb as dn

# A 4-nt motif that is exactly GATC-like: GAAT (its reverse complement is ATTC).
PFM = pd.DataFrame({"A": [0, 10, 10, 0], "C": [0, 0, 0, 0], "G": [10, 0, 0, 0], "T": [0, 0, 0, 10]})


def test_planted_motif_scores_highest_on_either_strand():
    scores = dn.motif_scores(["CCCCGAATCCCC", "CCCCATTCCCCC", "CCCCCCCCCCCC", "GAA"], PFM)
    assert scores[0] == pytest.approx(scores[1]) and scores[0] > scores[2] + 10
    assert scores[3] == -np.inf


def test_ambiguous_bases_score_zero_and_probabilities_equal_counts():
    with_n = dn.motif_scores(["CCGANTCC"], PFM)[0]
    exact = dn.motif_scores(["CCGAATCC"], PFM)[0]
    weight = np.log2((10 + 0.5) / 12 / 0.25)
    assert with_n == pytest.approx(exact - weight)
    hundred = dn.motif_scores(["CCGAATCC"], PFM * 10)[0]  # probabilities count as 100 observations
    assert dn.motif_scores(["CCGAATCC"], PFM / 10)[0] == pytest.approx(hundred)


def test_one_rule_for_counts_and_probabilities_and_information_as_logomaker_has_it():
    import logomaker

    from dnabert_nb.dna.pfm import information, probabilities, reverse_complement

    counts = pd.DataFrame({"A": [3, 0, 5], "C": [1, 10, 5], "G": [0, 0, 0], "T": [6, 0, 0]}, dtype=float)
    pd.testing.assert_frame_equal(probabilities(counts), probabilities(counts / 10))  # rows of 10 counts
    smoothed = probabilities(counts, pseudocount=1)
    assert smoothed.loc[0, "G"] == pytest.approx(1 / 14) and np.allclose(smoothed.sum(axis=1), 1)
    expected = logomaker.transform_matrix(probabilities(counts), from_type="probability", to_type="information")
    np.testing.assert_allclose(information(counts), expected, atol=1e-6)
    assert information(counts).loc[1, "C"] == pytest.approx(2.0)  # a certain base carries 2 bits
    flipped = reverse_complement(counts)
    assert flipped.loc[0].tolist() == [0, 0, 5, 5] and reverse_complement(flipped).equals(counts)


@pytest.mark.parametrize(
    "bad",
    [
        pd.DataFrame({"A": [1, 0], "C": [1, 0], "G": [1, 0], "T": [1, 0]}),
        pd.DataFrame({"A": [1], "C": [-1], "G": [1], "T": [1]}),
        pd.DataFrame({"A": [1], "C": [np.nan], "G": [1], "T": [1]}),
    ],
)
def test_a_pfm_row_without_usable_counts_is_refused_with_its_position(bad):
    with pytest.raises(dn.InputFormatError, match="PFM row"):
        dn.pl.logo(bad)
