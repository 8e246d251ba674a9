"""KmerTokenizer: the official DNABERT k-mer vocabulary, vectorised encoding and windows."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..dna.alphabet import AMBIGUOUS_CODE, NUCLEOTIDES, describe_id, encode_nucleotides, reverse_complement
from ..dna.errors import InputFormatError

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID = range(len(SPECIAL_TOKENS))
#: Most k-mers in one model input (512 positions minus [CLS] and [SEP]).
MAX_KMERS = 510
SUPPORTED_K = (3, 4, 5, 6)


class Windows(NamedTuple):
    """Windows cut from sequences too long for one model input.

    Attributes
    ----------
    sequence_index : ndarray of int64
        Which input sequence each window comes from.
    start, end : ndarray of int64
        0-based, end-exclusive nucleotide coordinates of each window in its sequence.
    """

    sequence_index: np.ndarray
    start: np.ndarray
    end: np.ndarray


class KmerTokenizer:
    """DNABERT's tokenizer: overlapping k-mers (stride 1) in the official vocabulary.

    Ids 0-4 are ``[PAD] [UNK] [CLS] [SEP] [MASK]``; then every k-mer in
    ``itertools.product("ATCG", repeat=k)`` order, as in the official ``vocab.txt``.
    A k-mer that covers ``N`` or another IUPAC ambiguity letter is ``[UNK]``.

    Parameters
    ----------
    k
        k-mer length, one of 3, 4, 5, 6.
    max_length
        Tokens one model input holds, [CLS] and [SEP] included: the model's
        ``max_position_embeddings`` (512 for DNABERT), at most 512.

    Examples
    --------
    >>> tok = KmerTokenizer(6)
    >>> tok.encode(["ACGTACGT"])["input_ids"]
    array([[   2,  727, 2896, 3378,    3]])
    """

    def __init__(self, k: int, max_length: int = MAX_KMERS + 2):
        if k not in SUPPORTED_K:
            raise InputFormatError(f"k = {k!r} is not supported; DNABERT has k = 3, 4, 5 or 6.")
        if not 3 <= max_length <= MAX_KMERS + 2:
            raise InputFormatError(f"max_length = {max_length!r}; a model input holds 3 to {MAX_KMERS + 2} tokens.")
        self.k = k
        self.max_kmers = max_length - 2
        self.tokens: list[str] = list(SPECIAL_TOKENS) + ["".join(p) for p in itertools.product(NUCLEOTIDES, repeat=k)]
        self.vocab: dict[str, int] = {token: i for i, token in enumerate(self.tokens)}

    def __repr__(self) -> str:
        return f"KmerTokenizer(k={self.k}, vocab_size={self.vocab_size}, max_length={self.max_kmers + 2})"

    @property
    def vocab_size(self) -> int:
        """Number of tokens: 5 specials + 4**k k-mers."""
        return len(self.tokens)

    @property
    def max_nucleotides(self) -> int:
        """Longest sequence that fits one model input (``max_kmers`` k-mers; 515 nt for DNABERT-6)."""
        return self.max_kmers + self.k - 1

    @staticmethod
    def k_for_vocab_size(vocab_size: int) -> int | None:
        """The k whose DNABERT vocabulary has ``vocab_size`` tokens (69, 261, 1029, 4101), else None."""
        for k in SUPPORTED_K:
            if vocab_size == len(SPECIAL_TOKENS) + 4**k:
                return k
        return None

    def kmers(self, sequence: str) -> list[str]:
        """Split one sequence into its overlapping k-mers (uppercase, stride 1)."""
        sequence = sequence.upper()
        return [sequence[i : i + self.k] for i in range(len(sequence) - self.k + 1)]

    def kmer_ids(self, sequences: Sequence[str], ids: Sequence[object] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Validate sequences and give the vocabulary id of every k-mer, back to back.

        Returns
        -------
        token_ids : ndarray of int64
            k-mer ids of all sequences concatenated (no special tokens).
        offsets : ndarray of int64, shape (n + 1,)
            Sequence ``i`` has ``token_ids[offsets[i]:offsets[i + 1]]``.
        """
        codes, nt_offsets = encode_nucleotides(sequences, ids, min_length=self.k)
        k = self.k
        if codes.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(len(nt_offsets), dtype=np.int64)
        # Base-4 number and ambiguity of every k-long stretch of the concatenated codes.
        n_stretches = codes.size - k + 1
        values = np.zeros(n_stretches, dtype=np.int64)
        ambiguous = np.zeros(n_stretches, dtype=bool)
        for offset in range(k):
            part = codes[offset : offset + n_stretches]
            values = values * 4 + (part & 3)
            ambiguous |= part == AMBIGUOUS_CODE
        all_ids = np.where(ambiguous, UNK_ID, values + len(SPECIAL_TOKENS))
        # Keep the stretches that start inside a sequence and end before its end.
        n_kmers = np.diff(nt_offsets) - k + 1
        offsets = np.zeros_like(nt_offsets)
        np.cumsum(n_kmers, out=offsets[1:])
        starts = np.repeat(nt_offsets[:-1] - offsets[:-1], n_kmers) + np.arange(offsets[-1])
        return all_ids[starts], offsets

    def encode(self, sequences: Sequence[str], ids: Sequence[object] | None = None) -> dict[str, np.ndarray]:
        """Encode a batch to ``input_ids`` and ``attention_mask``, padded to the batch's longest.

        Each row is ``[CLS] k-mer ... k-mer [SEP] [PAD] ...``, the same ids as
        ``BertTokenizer(vocab.txt, do_lower_case=False)`` on space-separated k-mers.

        Parameters
        ----------
        sequences
            Nucleotide strings, each at most :attr:`max_nucleotides` long.
        ids
            Names for error messages.

        Returns
        -------
        dict
            ``input_ids`` (int64, (n, L)) and ``attention_mask`` (int64, (n, L)).
        """
        token_ids, offsets = self.kmer_ids(sequences, ids)
        n_kmers = np.diff(offsets)
        if n_kmers.size and n_kmers.max() > self.max_kmers:
            index = int(np.argmax(n_kmers))
            raise InputFormatError(
                f"Sequence {describe_id(None if ids is None else ids[index], index)} has "
                f"{n_kmers[index] + self.k - 1} nt, more than one model input "
                f"holds ({self.max_nucleotides} nt); cut it with windows() first "
                "(predict and embed do this for you)."
            )
        return pack_inputs(token_ids, offsets[:-1], n_kmers)

    def windows(self, lengths: Sequence[int] | np.ndarray, *, overlap: int = 0) -> Windows:
        """Cut sequences of the given lengths into windows that each fit one model input.

        A sequence of at most :attr:`max_nucleotides` nt is one window. A longer one is
        cut into windows of exactly :attr:`max_nucleotides` nt, consecutive windows
        sharing at least ``overlap`` nt; the last window is aligned to the sequence's
        end, so it may share more.

        Parameters
        ----------
        lengths
            Sequence lengths in nucleotides.
        overlap
            Nucleotides shared by neighbouring windows, ``0 <= overlap < max_nucleotides - k``.

        Returns
        -------
        Windows
            ``sequence_index``, ``start``, ``end`` arrays, windows in sequence order.
        """
        size = self.max_nucleotides
        if not 0 <= overlap <= size - self.k:
            raise InputFormatError(
                f"window_overlap = {overlap} nt is out of range; use 0 to {size - self.k} nt "
                f"(a window holds {size} nt for k = {self.k})."
            )
        lengths = np.asarray(lengths, dtype=np.int64)
        stride = size - overlap
        n_windows = np.where(lengths <= size, 1, 1 + -(-(lengths - size) // stride))
        sequence_index = np.repeat(np.arange(len(lengths)), n_windows)
        first = np.repeat(np.cumsum(n_windows) - n_windows, n_windows)
        rank = np.arange(n_windows.sum()) - first
        seq_lengths = lengths[sequence_index]
        start = np.minimum(rank * stride, np.maximum(seq_lengths - size, 0))
        end = np.minimum(start + size, seq_lengths)
        return Windows(sequence_index, start, end)

    def save_vocabulary(self, folder: str | Path) -> Path:
        """Write ``vocab.txt`` (one token a line, in id order) into ``folder``; return its path."""
        path = Path(folder) / "vocab.txt"
        path.write_text("\n".join(self.tokens) + "\n", encoding="utf-8")
        return path


def reverse_complement_ids(tokenizer: KmerTokenizer) -> np.ndarray:
    """For every token id, the id of its reverse complement k-mer (special tokens, [UNK] included, map to
    themselves): a run of k-mer ids read backwards through it is the reverse complement's run."""
    table = np.arange(tokenizer.vocab_size, dtype=np.int64)
    for token, index in tokenizer.vocab.items():
        if token not in SPECIAL_TOKENS:
            table[index] = tokenizer.vocab[reverse_complement(token)]
    return table


def pack_inputs(token_ids: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
    """Lay runs of k-mer ids out as padded model inputs ``[CLS] ids [SEP] [PAD]...``.

    Parameters
    ----------
    token_ids
        k-mer ids, back to back.
    starts, counts
        Row ``i`` holds ``token_ids[starts[i]:starts[i] + counts[i]]`` (at most the model input's k-mers).

    Returns
    -------
    dict
        ``input_ids`` and ``attention_mask``, int64 arrays of shape (rows, max(counts) + 2).
    """
    starts = np.asarray(starts, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.int64)
    width = int(counts.max(initial=0)) + 2
    rows = np.arange(len(counts))
    input_ids = np.full((len(counts), width), PAD_ID, dtype=np.int64)
    row_of = np.repeat(rows, counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    input_ids[row_of, within + 1] = token_ids[np.repeat(starts, counts) + within]
    input_ids[:, 0] = CLS_ID
    input_ids[rows, counts + 1] = SEP_ID
    attention_mask = (np.arange(width) < (counts + 2)[:, None]).astype(np.int64)
    return {"input_ids": input_ids, "attention_mask": attention_mask}
