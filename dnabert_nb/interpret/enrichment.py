"""What the two motif searches share: the enrichment of a candidate in positives over negatives, and the tables
they return."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import hypergeom

#: The columns of a motif search's motif table and instance table (before the JASPAR columns).
MOTIF_COLUMNS = ["id", "consensus", "core", "n_instances", "n_pos", "n_neg", "p_adj"]
INSTANCE_COLUMNS = ["motif", "sequence_id", "start", "end", "strand", "sequence"]


def no_motifs() -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """A motif search's result when nothing passed: empty motif and instance tables, no PFM."""
    return pd.DataFrame(columns=MOTIF_COLUMNS), {}, pd.DataFrame(columns=INSTANCE_COLUMNS)


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values."""
    n = len(p_values)
    if n == 0:
        return p_values
    order = np.argsort(p_values)
    ranked = p_values[order] * n / np.arange(1, n + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    result = np.empty(n)
    result[order] = np.minimum(adjusted, 1)
    return result


def enrichment(n_pos: np.ndarray, n_neg: np.ndarray, positives: int, negatives: int) -> tuple[np.ndarray, np.ndarray]:
    """One-sided hypergeometric p-values (and Benjamini–Hochberg adjusted ones) of candidates found in ``n_pos`` of
    ``positives`` units and ``n_neg`` of ``negatives`` units."""
    n_pos, n_neg = np.asarray(n_pos), np.asarray(n_neg)
    p_values = hypergeom.sf(n_pos - 1, positives + negatives, positives, n_pos + n_neg)
    return p_values, benjamini_hochberg(p_values)
