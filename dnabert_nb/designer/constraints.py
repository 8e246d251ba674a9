"""DesignConstraints: what a designed sequence must keep, checked for whole sequences and for single substitutions.

>>> rules = dn.DesignConstraints(forbidden=["GAATTC"], gc=(0.35, 0.65), max_homopolymer=6, max_edits=10)
>>> rules.violations("ACGT...", start="ACGT...")      # [] when every rule holds, else one line per broken rule

Every rule is checked exactly: a substitution is offered to a search only when the sequence it makes keeps
every rule, so no designed sequence ever breaks one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..dna.alphabet import gc_content, reverse_complement
from ..dna.errors import InputFormatError, require_non_negative_integers, require_positive_integers
from ..dna.pfm import BASES, check_pfm, probabilities

#: The nucleotides each IUPAC letter stands for.
IUPAC = {
    "A": "A", "C": "C", "G": "G", "T": "T", "R": "AG", "Y": "CT", "S": "CG", "W": "AT", "K": "GT", "M": "AC",
    "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT",
}  # fmt: skip


def _motif_text(motif: object, what: str) -> str:
    text = str(motif).strip().upper().replace("U", "T") if isinstance(motif, str) else None
    if not text or any(letter not in IUPAC for letter in text):
        raise InputFormatError(
            f"{what} {motif!r} is not a motif; give a string of IUPAC letters (A C G T R Y S W K M B D H V N), "
            "e.g. 'GAATTC'."
        )
    return text


def consensus(pfm: pd.DataFrame) -> str:
    """The IUPAC consensus of a PFM (Cavener's rules), one letter per row.

    A base is written where its frequency is over 0.5 and twice the second; two bases (their IUPAC letter)
    where together they pass 0.75; three where the fourth is under 0.05 (e.g. ``B``); else ``N``.
    """
    check_pfm(pfm)
    letters = []
    for row in probabilities(pfm).to_numpy(dtype=float):
        order = np.argsort(-row, kind="stable")
        first, second, third, fourth = row[order]
        if first > 0.5 and first > 2 * second:
            chosen = order[:1]
        elif first + second > 0.75:
            chosen = order[:2]
        elif fourth < 0.05:
            chosen = order[:3]
        else:
            chosen = order
        bases = "".join(sorted(BASES[i] for i in chosen))
        letters.append(next(letter for letter, stands in IUPAC.items() if "".join(sorted(stands)) == bases))
    return "".join(letters)


def _forbidden_pattern(motifs: tuple[str, ...]) -> re.Pattern | None:
    """One regular expression finding any of ``motifs`` on either strand, overlapping matches included."""
    if not motifs:
        return None
    variants = {variant for motif in motifs for variant in (motif, reverse_complement(motif))}
    classes = ["".join(f"[{IUPAC[letter]}]" for letter in variant) for variant in sorted(variants)]
    return re.compile(f"(?=({'|'.join(classes)}))")


def _longest_run(sequence: str) -> tuple[int, int]:
    """Length and 0-based start of the longest run of one base."""
    best, best_start, start = 0, 0, 0
    for position in range(1, len(sequence) + 1):
        if position == len(sequence) or sequence[position] != sequence[start]:
            if position - start > best:
                best, best_start = position - start, start
            start = position
    return best, best_start


@dataclass(frozen=True)
class DesignConstraints:
    """Rules every designed sequence keeps.

    Parameters
    ----------
    fixed
        0-based positions that are never changed: a list or range of positions, a slice, or a boolean mask
        as long as the sequence.
    forbidden
        Motifs that must occur on neither strand (IUPAC letters, e.g. ``"GAATTC"`` for EcoRI, ``"GGTNACC"``
        for BstEII).
    gc
        ``(low, high)``: the GC fraction of the whole sequence stays within it (ends included).
    max_homopolymer
        The longest allowed run of one base.
    max_edits
        The most positions at which a design may differ from its start.
    required
        ``{position: motif}``: a motif that must stay at that 0-based position on the given strand, as an
        IUPAC consensus (``"TATAWAWR"``) or a PFM DataFrame (columns ``A C G T``, e.g. from
        ``dn.datasets.jaspar``), which is read as its IUPAC :func:`consensus`. Each of its positions keeps
        to the bases its letter allows.
    """

    fixed: Iterable[int] | slice | np.ndarray | None = None
    forbidden: Iterable[str] | str = ()
    gc: tuple[float, float] | None = None
    max_homopolymer: int | None = None
    max_edits: int | None = None
    required: Mapping[int, str | pd.DataFrame] | None = None
    _reach: int = field(init=False, repr=False)  # the longest forbidden motif, less one
    _pattern: re.Pattern | None = field(init=False, repr=False)
    _required: tuple[tuple[int, str], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        forbidden = [self.forbidden] if isinstance(self.forbidden, str) else list(self.forbidden or ())
        motifs = tuple(_motif_text(motif, "The forbidden motif") for motif in forbidden)
        object.__setattr__(self, "_reach", max((len(motif) for motif in motifs), default=1) - 1)
        object.__setattr__(self, "_pattern", _forbidden_pattern(motifs))
        if self.gc is not None:
            try:
                low, high = (float(value) for value in self.gc)
            except (TypeError, ValueError):
                low = high = float("nan")
            if not 0 <= low <= high <= 1:
                raise InputFormatError(f"gc = {self.gc!r}; give (low, high) GC fractions with 0 <= low <= high <= 1.")
        if self.max_homopolymer is not None:
            require_positive_integers(max_homopolymer=self.max_homopolymer)
        if self.max_edits is not None:
            require_non_negative_integers(max_edits=self.max_edits)
        required = []
        for position, motif in dict(self.required or {}).items():
            require_non_negative_integers(**{"a position of required": position})
            text = consensus(motif) if isinstance(motif, pd.DataFrame) else _motif_text(motif, "The required motif")
            required.append((int(position), text))
        object.__setattr__(self, "_required", tuple(sorted(required)))

    # -- per position ---------------------------------------------------------------------------------------------
    def allowed_bases(self, start: str) -> list[str]:
        """For each position of ``start``, the bases a design may hold there (fixed: only the start's base).

        Raises
        ------
        InputFormatError
            A fixed position or required motif that does not fit in ``start``.
        """
        allowed = self.required_bases(len(start))
        for position in self._fixed_positions(len(start)):
            allowed[position] = start[position]
        return allowed

    def required_bases(self, length: int) -> list[str]:
        """For each position of a ``length``-nt sequence, the bases the required motifs allow there."""
        allowed = ["ACGT"] * length
        for position, motif in self._required:
            if position + len(motif) > length:
                raise InputFormatError(
                    f"The required motif {motif} at position {position} runs past the end of a {length}-nt "
                    "sequence; give a position within it."
                )
            for offset, letter in enumerate(motif):
                here = position + offset
                allowed[here] = "".join(base for base in allowed[here] if base in IUPAC[letter])
        return allowed

    def _fixed_positions(self, length: int) -> np.ndarray:
        if self.fixed is None:
            return np.zeros(0, dtype=np.int64)
        if isinstance(self.fixed, slice):
            return np.arange(length)[self.fixed]
        chosen = np.asarray(list(self.fixed) if not isinstance(self.fixed, np.ndarray) else self.fixed)
        if chosen.dtype == bool:
            if chosen.shape != (length,):
                raise InputFormatError(
                    f"fixed is a mask of {chosen.size} values for a {length}-nt sequence; give one per position."
                )
            return np.flatnonzero(chosen)
        if chosen.size and (chosen.dtype.kind not in "iu" or chosen.min() < 0 or chosen.max() >= length):
            raise InputFormatError(
                f"fixed = {self.fixed!r} for a {length}-nt sequence; give 0-based positions from 0 to {length - 1}."
            )
        return chosen.astype(np.int64)

    # -- whole sequences ------------------------------------------------------------------------------------------
    def violations(self, sequence: str, *, start: str | None = None) -> list[str]:
        """Every rule ``sequence`` breaks, in plain words (an empty list when it keeps them all).

        Parameters
        ----------
        sequence
            An upper-case ``ACGT`` sequence.
        start
            The sequence it was designed from; ``fixed`` and ``max_edits`` are checked against it (without
            it, only the rules on the sequence alone).
        """
        broken = []
        if start is not None:
            if len(start) != len(sequence):
                return [f"it is {len(sequence)} nt long, its start {len(start)} nt"]
            for position in self._fixed_positions(len(sequence)):
                if sequence[position] != start[position]:
                    broken.append(f"fixed position {position} changed from {start[position]} to {sequence[position]}")
            edits = sum(a != b for a, b in zip(sequence, start))
            if self.max_edits is not None and edits > self.max_edits:
                broken.append(f"{edits} edits from its start, more than max_edits = {self.max_edits}")
        for position, motif in self._required:
            found = sequence[position : position + len(motif)]
            if len(found) < len(motif):
                broken.append(f"the required motif {motif} at position {position} runs past its end")
            elif any(base not in IUPAC[letter] for base, letter in zip(found, motif)):
                broken.append(f"the required motif {motif} is not at position {position} (found {found or 'nothing'})")
        if self._pattern is not None:
            for match in self._pattern.finditer(sequence):
                broken.append(f"the forbidden motif {match.group(1)} at position {match.start()}")
        if self.gc is not None:
            gc = gc_content(sequence)
            if not self.gc[0] <= gc <= self.gc[1]:
                broken.append(f"GC fraction {gc:.3f} is outside {self.gc[0]:.3g}-{self.gc[1]:.3g}")
        if self.max_homopolymer is not None:
            run, where = _longest_run(sequence)
            if run > self.max_homopolymer:
                broken.append(
                    f"a run of {run} {sequence[where]} at position {where}, longer than "
                    f"max_homopolymer = {self.max_homopolymer}"
                )
        return broken

    # -- single substitutions -------------------------------------------------------------------------------------
    def substitutions(self, sequence: str, start: str, allowed: list[str]) -> list[tuple[int, str]]:
        """Every single-base substitution ``(position, base)`` of ``sequence`` that keeps every rule.

        ``sequence`` must itself keep every rule; ``allowed`` is :meth:`allowed_bases` of ``start``.
        """
        edits = sum(a != b for a, b in zip(sequence, start))
        gc_count = sequence.count("G") + sequence.count("C")
        return [
            (position, base)
            for position, bases in enumerate(allowed)
            for base in bases
            if self.keeps(sequence, position, base, start=start, edits=edits, gc_count=gc_count)
        ]

    def keeps(self, sequence: str, position: int, base: str, *, start: str, edits: int, gc_count: int) -> bool:
        """Whether writing ``base`` at ``position`` of ``sequence`` (which keeps every rule) keeps every rule.

        ``edits`` and ``gc_count`` are the sequence's differences from ``start`` and its G+C count; the
        base must be one :meth:`allowed_bases` allows there (not checked here).
        """
        if base == sequence[position]:
            return False
        if self.max_edits is not None and edits >= self.max_edits and sequence[position] == start[position]:
            return False
        if self.gc is not None:
            count = gc_count + (base in "GC") - (sequence[position] in "GC")
            if not self.gc[0] <= count / len(sequence) <= self.gc[1]:
                return False
        if self.max_homopolymer is not None and self._run_through(sequence, position, base) > self.max_homopolymer:
            return False
        return self._pattern is None or not self._creates_forbidden(sequence, position, base)

    @staticmethod
    def _run_through(sequence: str, position: int, base: str) -> int:
        """Length of the run of ``base`` through ``position`` once it is written there."""
        left = position
        while left > 0 and sequence[left - 1] == base:
            left -= 1
        right = position + 1
        while right < len(sequence) and sequence[right] == base:
            right += 1
        return right - left

    def _creates_forbidden(self, sequence: str, position: int, base: str) -> bool:
        low = max(0, position - self._reach)
        piece = sequence[low:position] + base + sequence[position + 1 : position + self._reach + 1]
        return self._pattern.search(piece) is not None
