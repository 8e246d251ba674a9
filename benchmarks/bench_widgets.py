"""How long one interaction with a panel keeps a person waiting, against the bare verb it wires (same run).

On the embedded model with a quick ``splice`` head and sequences of ``--length`` nt (default 500):

- AttentionExplorer: pick another sequence (prediction + attention track, drawn), change the layer;
  reference: ``dn.predict`` + ``dn.attention_scores`` of that sequence.
- MutationExplorer: apply a substitution (until the new prediction shows; the map follows in the background) and
  the map of the default 150-nt region itself; reference: two ``dn.predict`` calls, and ``dn.mutagenesis`` of the
  region.
- PredictPanel: 100 pasted sequences until the table shows; reference: ``dn.predict`` of them.

Usage: python benchmarks/bench_widgets.py [--length 500]
"""

from __future__ import annotations

import argparse
import time

import matplotlib

matplotlib.use("Agg")
import numpy as np
import torch

import dnabert_nb as dn


def seconds(action) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def median_of(action, repeats: int = 3) -> float:
    return float(np.median([seconds(action) for _ in range(repeats)]))


def report(what: str, panel: float, bare: float) -> None:
    print(f"{what:58s} panel {panel * 1000:7.0f} ms   bare verb {bare * 1000:7.0f} ms   ratio {panel / bare:4.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--length", type=int, default=500)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    data = dn.datasets.load("splice")
    model = dn.finetune(dn.load(), data[data.split == "valid"], epochs=1, progress=False, live_plot=False)
    rng = np.random.default_rng(0)
    sequences = ["".join(rng.choice(list("ACGT"), args.length)) for _ in range(6)]

    explorer = dn.widgets.AttentionExplorer(model, sequences)
    picks = iter(["1", "2", "3", "4", "5", "1"])
    panel = median_of(lambda: setattr(explorer.choice, "value", next(picks)))
    bare = median_of(
        lambda: (
            dn.predict(model, sequences[1], progress=False),
            dn.attention_scores(model, sequences[1], progress=False),
        )
    )
    report(f"AttentionExplorer: pick a {args.length}-nt sequence", panel, bare)
    layers = iter([1, 2, 3])
    panel = median_of(lambda: setattr(explorer.layer, "value", next(layers)))
    bare = median_of(lambda: dn.attention_scores(model, sequences[1], layer=0, progress=False))
    report("AttentionExplorer: change the layer", panel, bare)

    mutations = dn.widgets.MutationExplorer(model, sequences[0])
    mutations.wait()
    edits = iter([(250, "A"), (251, "C"), (252, "G")])

    def apply() -> float:  # the map of the previous edit is finished first, and not timed
        mutations.wait()
        position, base = next(edits)
        return seconds(lambda: mutations.apply(position, base if mutations.sequence[position] != base else "T"))

    panel = float(np.median([apply() for _ in range(3)]))
    mutations.wait()
    bare = median_of(lambda: [dn.predict(model, sequences[0], progress=False) for _ in range(2)])
    report("MutationExplorer: apply a substitution (new prediction)", panel, bare)
    first, last = mutations.region.value
    mutations.wait()
    panel = median_of(lambda: (mutations.refresh(), mutations.wait()), repeats=1)
    bare = median_of(
        lambda: dn.mutagenesis(model, mutations.sequence, positions=range(first, last), progress=False), repeats=1
    )
    report(f"MutationExplorer: map of {last - first} positions (background)", panel, bare)

    predicting = dn.widgets.PredictPanel(model)
    pasted = ["".join(rng.choice(list("ACGT"), 200)) for _ in range(100)]
    predicting.pasted.value = "\n".join(pasted)
    panel = median_of(lambda: (predicting.run(), predicting.wait()))
    bare = median_of(lambda: dn.predict(model, pasted, progress=False))
    report("PredictPanel: 100 pasted 200-nt sequences", panel, bare)


if __name__ == "__main__":
    main()
