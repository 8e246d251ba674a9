"""The pre-training corpus: token ids of many sequences back to back, sampled as random windows."""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np

from ..core.tokenizer import UNK_ID, KmerTokenizer
from ..dna.errors import InputFormatError
from ..io.fasta import FASTA_SUFFIXES
from ..io.sequences import as_sequence_table

#: A training window may hold at most this fraction of [UNK] k-mers (long N runs are skipped).
MAX_UNKNOWN_FRACTION = 0.05


class Corpus:
    """Token ids of a set of sequences, back to back, with random window sampling."""

    def __init__(self, tokenizer: KmerTokenizer, sequences: list[str], ids: list):
        token_ids, offsets = tokenizer.kmer_ids(sequences, ids)
        self.token_ids = token_ids.astype(np.int16)
        self.offsets = offsets
        self.k = tokenizer.k
        self._unknown_prefix = np.concatenate([[0], np.cumsum(self.token_ids == UNK_ID)])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    @classmethod
    def _from_arrays(cls, token_ids: np.ndarray, offsets: np.ndarray, k: int) -> Corpus:
        corpus = cls.__new__(cls)
        corpus.token_ids, corpus.offsets, corpus.k = token_ids, offsets, k
        corpus._unknown_prefix = np.concatenate([[0], np.cumsum(token_ids == UNK_ID)])
        return corpus

    def split(self, fraction: float) -> tuple[Corpus, Corpus]:
        """Cut at ``fraction`` of all tokens: (everything before, everything after) the cut."""
        cut = int(len(self) * fraction)
        head = self._from_arrays(self.token_ids[:cut], np.minimum(self.offsets, cut), self.k)
        tail = self._from_arrays(self.token_ids[cut:], np.array([0, len(self) - cut]), self.k)
        return head, tail

    def sample(self, rng: np.random.Generator, n: int, n_kmers: int) -> np.ndarray:
        """``n`` random windows of ``n_kmers`` tokens, uniform over all start positions, few [UNK]."""
        lengths = np.diff(self.offsets)
        starts_per_record = np.maximum(lengths - n_kmers + 1, 0)
        total = int(starts_per_record.sum())
        if total == 0:
            raise InputFormatError(
                f"No corpus sequence holds a window of {n_kmers + 5} nt; lower max_length or add longer sequences."
            )
        cumulative = np.cumsum(starts_per_record)
        chosen: list[np.ndarray] = []
        for _ in range(100):
            draws = rng.integers(total, size=2 * n)
            record = np.searchsorted(cumulative, draws, side="right")
            starts = self.offsets[record] + draws - (cumulative[record] - starts_per_record[record])
            unknown = self._unknown_prefix[starts + n_kmers] - self._unknown_prefix[starts]
            chosen.append(starts[unknown <= MAX_UNKNOWN_FRACTION * n_kmers])
            if sum(map(len, chosen)) >= n:
                break
        else:
            raise InputFormatError("Almost every window of the corpus is mostly N; give sequences with real bases.")
        starts = np.concatenate(chosen)[:n]
        return self.token_ids[starts[:, None] + np.arange(n_kmers)].astype(np.int64)


def as_corpus(tokenizer: KmerTokenizer, corpus: Iterable | str | os.PathLike, what: str) -> Corpus:
    """Accept FASTA paths, sequences, DataFrames or GenomeRecord iterators as a corpus (a Corpus as it is)."""
    if isinstance(corpus, Corpus):
        if corpus.k != tokenizer.k:
            raise InputFormatError(f"The {what} corpus holds {corpus.k}-mers but the model reads {tokenizer.k}-mers.")
        return corpus
    if isinstance(corpus, (str, os.PathLike)) or hasattr(corpus, "columns"):
        table = as_sequence_table(corpus)
        return Corpus(tokenizer, table.sequences, table.ids)
    ids, sequences = [], []
    for index, item in enumerate(corpus):
        if isinstance(item, tuple) and len(item) == 2:  # GenomeRecord or (id, sequence)
            ids.append(item[0])
            sequences.append(item[1])
        elif isinstance(item, (str, os.PathLike)) and str(item).lower().endswith(FASTA_SUFFIXES):
            table = as_sequence_table(item)
            ids += table.ids
            sequences += table.sequences
        else:
            ids.append(index)
            sequences.append(item)
    if not sequences:
        raise InputFormatError(f"The {what} corpus is empty.")
    return Corpus(tokenizer, sequences, ids)
