"""motif_scores: how well a known motif (a PFM) matches each of a user's sequences, on either strand."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..dna.pfm import best_match_scores, log_odds
from ..io.sequences import SequencesLike, as_sequence_table


def motif_scores(sequences: SequencesLike, pfm: pd.DataFrame, *, pseudocount: float = 0.5) -> np.ndarray:
    """Best log2-odds match of a motif in each sequence, over all positions of both strands.

    Parameters
    ----------
    sequences
        A str, list of str, Series, DataFrame with ``sequence``, or FASTA path.
    pfm
        Position frequency matrix, positions × ``A C G T`` (counts or probabilities), e.g.
        from :func:`dnabert_nb.datasets.jaspar`.
    pseudocount
        Added to every count before taking log-odds against a uniform background.

    Returns
    -------
    ndarray of float, shape (n_sequences,)
        ``-inf`` for a sequence shorter than the motif.
    """
    table = as_sequence_table(sequences)
    return best_match_scores(table.sequences, log_odds(pfm, pseudocount=pseudocount))
