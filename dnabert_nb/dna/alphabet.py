"""The nucleotide alphabet: cleaning, validation and integer codes for sequences.

Accepted input, case-insensitive:

* ``A C G T`` -- the four nucleotides;
* ``U`` -- read as ``T``, so RNA (a transcript, an siRNA) goes through the DNA
  vocabulary unchanged; DNABERT was trained on DNA only, so this is a mapping,
  not RNA modelling;
* ``N`` and the IUPAC ambiguity letters ``R Y S W K M B D H V`` -- kept in place;
  every k-mer that covers one becomes ``[UNK]``, as in DNABERT;
* whitespace anywhere (line breaks of FASTA records, spaces) -- removed.

Anything else (digits, ``-`` or ``.`` alignment gaps, ``*``, non-ASCII letters)
raises :class:`~dnabert_nb.InvalidSequenceError` naming the sequence and the
1-based position in the sequence after whitespace removal.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import InvalidSequenceError

#: Nucleotides in the order of the official DNABERT vocabulary (``itertools.product("ATCG")``).
NUCLEOTIDES = "ATCG"
AMBIGUOUS = "NRYSWKMBDHV"
#: Integer code of an ambiguous base; the four nucleotides are 0-3 in ``NUCLEOTIDES`` order.
AMBIGUOUS_CODE = 4
INVALID_CODE = 255

_CODE_TABLE = np.full(256, INVALID_CODE, dtype=np.uint8)
for _code, _base in enumerate(NUCLEOTIDES):
    _CODE_TABLE[ord(_base)] = _CODE_TABLE[ord(_base.lower())] = _code
_CODE_TABLE[ord("U")] = _CODE_TABLE[ord("u")] = NUCLEOTIDES.index("T")
for _base in AMBIGUOUS:
    _CODE_TABLE[ord(_base)] = _CODE_TABLE[ord(_base.lower())] = AMBIGUOUS_CODE

_DROP_WHITESPACE = str.maketrans("", "", " \t\n\r\v\f")


def describe_id(sequence_id: object, index: int) -> str:
    """Name a sequence for messages: ``#i`` for a position or integer index label, else its id."""
    if sequence_id is None:
        return f"#{index}"
    if isinstance(sequence_id, (int, np.integer)):
        return f"#{sequence_id}"
    return repr(sequence_id)


def encode_nucleotides(
    sequences: Sequence[str], ids: Sequence[object] | None = None, *, min_length: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Validate sequences and turn them into one array of integer codes.

    Parameters
    ----------
    sequences
        Nucleotide strings (see the module docstring for the accepted alphabet).
    ids
        Names of the sequences, used in error messages; None names them by index.
    min_length
        Shortest allowed length after whitespace removal (``k`` for a k-mer tokenizer).

    Returns
    -------
    codes : ndarray of uint8
        All sequences back to back; ``A T C G`` are 0-3, ambiguous letters 4.
    offsets : ndarray of int64, shape (n + 1,)
        Sequence ``i`` is ``codes[offsets[i]:offsets[i + 1]]``.

    Raises
    ------
    InvalidSequenceError
        For a non-string, an empty or too-short sequence, or a character outside the alphabet.
    """
    cleaned = []
    for index, sequence in enumerate(sequences):
        if not isinstance(sequence, str):
            name = describe_id(None if ids is None else ids[index], index)
            raise InvalidSequenceError(
                f"Sequence {name} is a {type(sequence).__name__}, not a string of nucleotides. "
                "Pass sequences as str (e.g. 'ACGT...'); missing values (NaN/None) must be dropped first.",
                sequence_id=name,
            )
        cleaned.append(sequence.translate(_DROP_WHITESPACE))
    lengths = np.fromiter((len(s) for s in cleaned), dtype=np.int64, count=len(cleaned))
    too_short = np.flatnonzero(lengths < min_length)
    if too_short.size:
        index = int(too_short[0])
        name = describe_id(None if ids is None else ids[index], index)
        what = "is empty" if lengths[index] == 0 else f"has {lengths[index]} nt"
        needed = "a sequence" if min_length == 1 else f"one k-mer (k = {min_length})"
        raise InvalidSequenceError(
            f"Sequence {name} {what}; at least {min_length} nt are needed to make {needed}. Remove it or lengthen it.",
            sequence_id=name,
        )
    offsets = np.zeros(len(cleaned) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    raw = np.frombuffer("".join(cleaned).encode("ascii", errors="replace"), dtype=np.uint8)
    codes = _CODE_TABLE[raw]
    bad = np.flatnonzero(codes == INVALID_CODE)
    if bad.size:
        where = int(bad[0])
        index = int(np.searchsorted(offsets, where, side="right") - 1)
        position = where - int(offsets[index])
        name = describe_id(None if ids is None else ids[index], index)
        character = cleaned[index][position]
        raise InvalidSequenceError(
            f"Sequence {name} has {character!r} at position {position + 1}, which is not a nucleotide. "
            f"Allowed: A C G T (U is read as T), N and IUPAC ambiguity letters {' '.join(AMBIGUOUS[1:])} "
            "(their k-mers become [UNK]), in either case. Remove gaps and other symbols first.",
            sequence_id=name,
            position=position + 1,
        )
    return codes, offsets


def normalise(sequences: Sequence[str], ids: Sequence[object] | None = None, *, min_length: int = 1) -> list[str]:
    """Checked sequences as upper-case DNA text: whitespace removed, ``U`` read as ``T``.

    Raises :class:`~dnabert_nb.InvalidSequenceError` as :func:`encode_nucleotides` does.
    """
    encode_nucleotides(sequences, ids, min_length=min_length)
    return [sequence.translate(_DROP_WHITESPACE).upper().replace("U", "T") for sequence in sequences]


_COMPLEMENT = str.maketrans("ACGTRYSWKMBDHVNacgtryswkmbdhvn", "TGCAYRSWMKVHDBNtgcayrswmkvhdbn")


def reverse_complement(sequence: str) -> str:
    """The reverse complement of a sequence or motif of A, C, G, T and IUPAC letters (either case)."""
    return sequence.translate(_COMPLEMENT)[::-1]


def gc_content(sequence: str) -> float:
    """G+C fraction of the A, C, G, T letters of ``sequence`` (NaN when it has none)."""
    called = len(sequence) - sequence.count("N")
    return (sequence.count("G") + sequence.count("C")) / called if called else float("nan")
