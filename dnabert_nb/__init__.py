"""dnabert_nb: DNABERT, the k-mer BERT language model of DNA, for Jupyter.

>>> import dnabert_nb as dn
>>> model = dn.load("path/to/DNA_bert_6", num_labels=2)
>>> dn.predict(model, ["ACGT..."])
"""

from ._attention import attention_scores
from ._errors import (
    CheckpointError,
    DNABERTError,
    InputFormatError,
    InvalidSequenceError,
    MissingDependencyError,
    ModelNotFoundError,
    ModelTaskError,
)
from . import datasets, pl
from ._finetune import evaluate, finetune
from ._io import read_dnabert_tsv, read_fasta, read_gue, read_labelled_fasta
from ._motif_compare import compare_motifs
from ._motifs import MotifResult, attention_motifs
from ._model import DNABERTModel, UntrainedHeadWarning, load
from ._predict import embed, predict
from ._pretrain import pretrain
from ._pwm import motif_scores
from ._tokenizer import KmerTokenizer

__version__ = "0.1.0"

__all__ = [
    "MotifResult",
    "attention_motifs",
    "attention_scores",
    "compare_motifs",
    "CheckpointError",
    "DNABERTError",
    "DNABERTModel",
    "InputFormatError",
    "InvalidSequenceError",
    "KmerTokenizer",
    "MissingDependencyError",
    "ModelNotFoundError",
    "ModelTaskError",
    "UntrainedHeadWarning",
    "embed",
    "evaluate",
    "finetune",
    "load",
    "motif_scores",
    "pl",
    "predict",
    "pretrain",
    "datasets",
    "read_dnabert_tsv",
    "read_fasta",
    "read_gue",
    "read_labelled_fasta",
]
