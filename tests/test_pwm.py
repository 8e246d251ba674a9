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
