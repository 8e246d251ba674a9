"""One error hierarchy for everything dnabert_nb raises on purpose.

Every message says what was wrong, where (sequence id and position, file,
checkpoint folder) and what to do about it.
"""

from __future__ import annotations

import math
import numbers


class DNABERTError(Exception):
    """Base class of every error dnabert_nb raises on purpose."""


class InvalidSequenceError(DNABERTError, ValueError):
    """A sequence is empty, too short for k, or holds a character that is not a nucleotide.

    Attributes
    ----------
    sequence_id : str
        The id of the offending sequence (or ``"#i"``, its 0-based index, when it has no id).
    position : int or None
        1-based position of the offending character in the sequence after whitespace
        removal, or None when the problem is the sequence as a whole.
    """

    def __init__(self, message: str, *, sequence_id: str, position: int | None = None):
        super().__init__(message)
        self.sequence_id = sequence_id
        self.position = position


class CheckpointError(DNABERTError):
    """A model folder or weight file cannot be loaded as a DNABERT checkpoint, or is unsafe."""


class ModelNotFoundError(CheckpointError, FileNotFoundError):
    """Neither a local folder nor a reachable model hub id was given to ``load``."""


class InputFormatError(DNABERTError, ValueError):
    """Input data (a file, a DataFrame, an argument) is not in a form dnabert_nb can read."""


class ModelTaskError(DNABERTError):
    """The model cannot do what was asked, e.g. ``predict`` on a model without a task head."""


class TrainingError(DNABERTError):
    """Training cannot go on, e.g. the loss became NaN or infinite; the message says what was kept."""


class OutputError(DNABERTError, OSError):
    """A result cannot be written where asked (no permission, a full disk, a folder another process uses); the
    message says what was kept."""


class OutputWarning(UserWarning):
    """A result could not be written (e.g. a checkpoint on a full disk); the work went on and says what is missing."""


class MissingDependencyError(DNABERTError, ImportError):
    """An optional extra needed by the called function is not installed."""


class DataWarning(UserWarning):
    """The data makes a score misleading, e.g. evaluation sequences that also are training sequences, or a test
    set of one class."""


def require_positive_numbers(**values: object) -> None:
    """Raise InputFormatError naming the first argument that is not a finite number above zero."""
    for name, value in values.items():
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
            raise InputFormatError(f"{name} = {value!r}; give a finite number above zero.")


def require_positive_integers(**values: object) -> None:
    """Raise InputFormatError naming the first argument that is not a positive whole number."""
    for name, value in values.items():
        if not isinstance(value, numbers.Integral) or value < 1:
            raise InputFormatError(f"{name} = {value!r}; give a positive whole number.")


def require_positive_integers_or_none(**values: object) -> None:
    """:func:`require_positive_integers` for options where None means "not set"."""
    require_positive_integers(**{name: value for name, value in values.items() if value is not None})


def require_non_negative_integers(**values: object) -> None:
    """Raise InputFormatError naming the first argument that is not a whole number of zero or more."""
    for name, value in values.items():
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
            raise InputFormatError(f"{name} = {value!r}; give a whole number, 0 or more.")
