"""dnabert_nb: DNABERT, the k-mer BERT language model of DNA, for Jupyter.

>>> import dnabert_nb as dn
>>> model = dn.load()                                   # the embedded pretrained model, offline
>>> dn.models()                                         # ready task models; dn.load("mini6-splice") loads one
>>> ft = dn.finetune(model, train, valid)               # DataFrames with sequence, label
>>> dn.predict(ft, ["ACGT..."])                         # DataFrame: one row per sequence

The verbs live on the floors of the flow (README, "Layout"): ``dna`` (errors, alphabet, PFMs), ``io`` (readers),
``datasets``, ``core`` (model, tokenizer, inference engine, predict, embed), ``training`` (one loop: finetune,
pretrain, evaluate), ``interpret`` (attention, motifs, mutagenesis, variants, scan), ``designer`` (the search behind
``design``), ``pl`` (plots), ``widgets``. Everything a user needs is re-exported here.
"""

from . import datasets, io, pl, widgets
from .core.model import DNABERTModel, UntrainedHeadWarning, load
from .core.predict import embed, predict
from .core.processes import is_main_process
from .core.ready import model_card, models
from .core.tokenizer import KmerTokenizer
from .designer import DesignConstraints, DesignResult, design
from .dna.errors import (
    CheckpointError,
    DataWarning,
    DNABERTError,
    InputFormatError,
    InvalidSequenceError,
    MissingDependencyError,
    ModelNotFoundError,
    ModelTaskError,
    OutputError,
    OutputWarning,
    TrainingError,
)
from .interpret.attention import attention_scores
from .interpret.compare import compare_motifs
from .interpret.contributions import token_contributions
from .interpret.motif_scores import motif_scores
from .interpret.motifs import MotifResult, attention_motifs
from .interpret.mutagenesis import mutagenesis
from .interpret.scan import scan
from .interpret.variants import variant_effects
from .io import read_dnabert_tsv, read_fasta, read_gue, read_labelled_fasta
from .training.baseline import KmerBaseline, baseline
from .training.callbacks import Callback
from .training.evaluate import evaluate
from .training.finetune import FinetuneConfig, finetune
from .training.loop import TrainingState
from .training.pretrain import pretrain
from .training.restarts import CollapseWarning
from .training.selection import BaselineWarning, linear_probe

__version__ = "0.1.0"

__all__ = [
    "BaselineWarning",
    "Callback",
    "CheckpointError",
    "OutputError",
    "OutputWarning",
    "CollapseWarning",
    "DNABERTError",
    "DataWarning",
    "DNABERTModel",
    "FinetuneConfig",
    "DesignConstraints",
    "DesignResult",
    "InputFormatError",
    "InvalidSequenceError",
    "KmerBaseline",
    "KmerTokenizer",
    "MissingDependencyError",
    "ModelNotFoundError",
    "ModelTaskError",
    "MotifResult",
    "TrainingError",
    "TrainingState",
    "UntrainedHeadWarning",
    "attention_motifs",
    "attention_scores",
    "baseline",
    "compare_motifs",
    "datasets",
    "design",
    "embed",
    "evaluate",
    "finetune",
    "io",
    "is_main_process",
    "linear_probe",
    "load",
    "model_card",
    "models",
    "motif_scores",
    "mutagenesis",
    "pl",
    "predict",
    "scan",
    "pretrain",
    "read_dnabert_tsv",
    "read_fasta",
    "read_gue",
    "read_labelled_fasta",
    "token_contributions",
    "variant_effects",
    "widgets",
]
