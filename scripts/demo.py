"""The main job of `make demo`: a DNABERT checkpoint on a real promoter task, end to end.

Usage: python scripts/demo.py [CHECKPOINT_FOLDER]

With a checkpoint folder (an official DNABERT release, e.g. DNA_bert_6, or a
fine-tuned one), it embeds GUE promoter sequences (prom_core_tata from ../shared/gue),
trains a logistic-regression probe on the embeddings, reports test accuracy and MCC,
and predicts with the model's own head when it has one. Without a folder it builds a
small randomly initialised DNABERT-6 checkpoint, so the whole pipeline runs offline;
its numbers then show the pipeline, not a trained model.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, matthews_corrcoef

import dnabert_nb as dn
from dnabert_nb.testing import official_config, write_checkpoint

ROOT = Path(__file__).resolve().parents[1]
TASK = ROOT.parent / "shared" / "gue" / "prom_core_tata"
OUTPUT = ROOT / "demo_output"
N_TRAIN = 1000


def main(checkpoint: str | None) -> None:
    if not TASK.is_dir():
        sys.exit(f"The demo reads GUE prom_core_tata from {TASK}; it is not there.")
    if checkpoint is None:
        checkpoint = tempfile.mkdtemp(prefix="dnabert6-untrained-")
        print(f"No CHECKPOINT given: building an untrained DNABERT-6 (4 layers, hidden 128) in {checkpoint}.")
        print("Run `make demo CHECKPOINT=path/to/DNA_bert_6` for a real model.\n")
        sizes = {"hidden_size": 128, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 512}
        write_checkpoint(checkpoint, official_config(6, **sizes), weights="model.safetensors")
    started = time.perf_counter()
    model = dn.load(checkpoint)
    print(model, "\n")

    train = pd.read_csv(TASK / "train.csv").sample(N_TRAIN, random_state=0)
    test = pd.read_csv(TASK / "test.csv")
    print(f"GUE prom_core_tata: {len(train)} training and {len(test)} test sequences of {test.sequence.str.len().iloc[0]} bp")
    train_vectors = dn.embed(model, train, pooling="mean")
    test_vectors = dn.embed(model, test, pooling="mean")
    probe = LogisticRegression(max_iter=2000).fit(train_vectors, train.label)
    predicted = probe.predict(test_vectors)
    print(
        f"Linear probe on mean-pooled embeddings: test accuracy {accuracy_score(test.label, predicted):.3f}, "
        f"MCC {matthews_corrcoef(test.label, predicted):.3f}"
    )
    OUTPUT.mkdir(exist_ok=True)
    if model.task == "classification":
        predictions = dn.predict(model, test)
        predictions.to_csv(OUTPUT / "predictions.csv", index=False)
        mcc = matthews_corrcoef(test.label.astype(str), predictions.label)
        print(f"The checkpoint's own head: test MCC {mcc:.3f}; predictions in {OUTPUT / 'predictions.csv'}")

    projected = PCA(n_components=2).fit_transform(test_vectors)
    fig, ax = plt.subplots(figsize=(5, 4))
    for label, name in ((0, "non-promoter"), (1, "promoter")):
        mine = test.label.to_numpy() == label
        ax.scatter(*projected[mine].T, s=6, alpha=0.6, label=name)
    ax.set(xlabel="PC 1", ylabel="PC 2", title="GUE prom_core_tata test, DNABERT embeddings")
    ax.legend()
    fig.tight_layout()
    fig.savefig(OUTPUT / "embedding_pca.png", dpi=120)
    print(f"Figure: {OUTPUT / 'embedding_pca.png'}; done in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
