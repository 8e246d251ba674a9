"""Plots return Axes with the data drawn on them."""

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
import pytest

import dnabert_nb as dn


def test_training_curves_draws_losses_and_metrics():
    history = pd.DataFrame(
        {
            "step": [10, 20, 30],
            "loss": [3.0, 2.0, 1.5],
            "masked_accuracy": [0.1, 0.2, 0.3],
            "tokens_per_s": [5.0, 5.0, 5.0],
            "valid_loss": [np.nan, 2.5, np.nan],
            "valid_accuracy": [np.nan, 0.15, np.nan],
        }
    )
    left, right = dn.pl.training_curves(history)
    assert [line.get_label() for line in left.lines] == ["loss", "valid_loss"]
    assert [line.get_label() for line in right.lines] == ["masked_accuracy", "valid_accuracy"]
    np.testing.assert_array_equal(left.lines[1].get_xdata(), [20])
    assert left.get_xlim() == right.get_xlim() and left.get_xlim()[0] == 0 and left.get_xlim()[1] >= 30
    once = dn.pl.training_curves(
        pd.DataFrame({"step": [20, 40, 40], "loss": [0.7, 0.6, np.nan], "valid_mcc": [np.nan, np.nan, 0.3]})
    )
    assert once[1].get_xlim() == once[0].get_xlim()  # one evaluation is drawn on the training's step axis
    empty = dn.pl.training_curves(pd.DataFrame({"step": [], "loss": []}))  # nothing logged yet: no NaN limits
    assert len(empty[0].lines[0].get_xdata()) == 0
    with pytest.raises(dn.InputFormatError, match="step"):
        dn.pl.training_curves(pd.DataFrame({"loss": [1.0]}))


def test_a_panel_of_many_curves_has_its_legend_beside_it_not_over_the_curves():
    scores = {f"valid_{name}": [0.5, 0.6] for name in ("accuracy", "mcc", "auroc", "auprc")}
    left, right = dn.pl.training_curves(pd.DataFrame({"step": [10, 20], "loss": [0.7, 0.6], **scores}))
    right.figure.canvas.draw()
    renderer = right.figure.canvas.get_renderer()
    assert right.get_legend().get_window_extent(renderer).x0 >= right.get_window_extent(renderer).x1
    legend, axes = left.get_legend().get_window_extent(renderer), left.get_window_extent(renderer)
    assert axes.x0 <= legend.x0 and legend.x1 <= axes.x1  # two curves: the legend stays inside


def test_training_curves_draw_the_baselines_valid_mcc_as_the_bar_to_clear():
    rng = np.random.default_rng(0)
    sequences = ["".join(rng.choice(list("ACGT"), 40)) for _ in range(60)]
    labels = [int("TATA" in sequence) for sequence in sequences]
    base = dn.baseline((sequences[:40], labels[:40]), (sequences[40:], labels[40:]))
    history = pd.DataFrame({"step": [10, 20], "loss": [0.7, 0.6], "valid_mcc": [np.nan, 0.3]})
    left, right = dn.pl.training_curves(history, baseline=base)
    bar = right.lines[-1]
    assert bar.get_label() == f"k-mer baseline mcc (k={base.k}, valid)" and right.get_ylabel() == "metric"
    assert set(bar.get_ydata()) == {base.valid_scores[base.k]} and len(left.lines) == 1
    assert bar.get_label() in [text.get_text() for text in right.get_legend().get_texts()]
    with pytest.raises(dn.InputFormatError, match="no score to draw"):
        dn.pl.training_curves(history, baseline=dn.baseline((sequences, labels), k=4))


PREDICTIONS = pd.DataFrame(
    {
        "label": ["a", "b", "b", "a"],
        "score": [0.9, 0.8, 0.6, 0.7],
        "prob_a": [0.9, 0.2, 0.4, 0.7],
        "prob_b": [0.1, 0.8, 0.6, 0.3],
    }
)


def test_confusion_counts_and_normalises():
    ax = dn.pl.confusion(PREDICTIONS, ["a", "b", "a", "b"])
    np.testing.assert_array_equal(ax.images[0].get_array(), [[1, 1], [1, 1]])
    ax = dn.pl.confusion(PREDICTIONS, ["a", "b", "b", "b"], normalize=True)
    np.testing.assert_allclose(ax.images[0].get_array(), [[1, 0], [1 / 3, 2 / 3]])
    with pytest.raises(dn.InputFormatError, match="3 true labels"):
        dn.pl.confusion(PREDICTIONS, ["a", "b", "a"])


def test_confusion_counts_are_readable_on_their_cells_when_the_counts_are_close():
    counts = {("a", "a"): 45, ("a", "b"): 40, ("b", "a"): 42, ("b", "b"): 48}  # a weak two-class model
    truth = [true for (true, _), n in counts.items() for _ in range(n)]
    predicted = [guess for (_, guess), n in counts.items() for _ in range(n)]
    predictions = pd.DataFrame({"label": predicted, "prob_a": 0.5, "prob_b": 0.5})
    ax = dn.pl.confusion(predictions, truth)
    image = ax.images[0]
    assert image.norm.vmin == 0  # the colour scale starts at no rows, so 40 of 48 is dark, not white
    for text in ax.texts:
        row, column = round(text.get_position()[1]), round(text.get_position()[0])
        red, green, blue, _ = image.cmap(image.norm(image.get_array()[row, column]))
        face = 0.299 * red + 0.587 * green + 0.114 * blue
        assert (text.get_color() == "white") == (face < 0.5), (text.get_text(), face)


def test_roc_draws_the_positive_class_with_its_auroc():
    ax = dn.pl.roc(PREDICTIONS, ["a", "b", "b", "a"])
    assert [line.get_label() for line in ax.lines][0] == "b (AUROC 1.000)"
    with pytest.raises(dn.InputFormatError, match="dn.predict"):
        dn.pl.roc(pd.DataFrame({"x": [1]}), [1])


def test_training_curves_of_a_kept_linear_probe_draw_its_valid_mcc_beside_the_run_s_curves(checkpoints):
    model = dn.load(checkpoints(4, num_labels=2))
    history = pd.DataFrame({"step": [20, 40], "loss": [0.7, 0.6], "valid_mcc": [0.2, 0.3]})
    model.source, model.metrics, model.history = "linear_probe(x)", {"mcc": 0.59}, history
    axes = dn.pl.training_curves(model)
    labels = [line.get_label() for line in axes[1].lines]
    kept = "valid mcc of the model kept"
    assert kept in labels and "valid_mcc" in labels
    assert list(axes[1].lines[labels.index(kept)].get_ydata()) == [0.59, 0.59]
    model.source = "finetune(x)"
    network_lines = dn.pl.training_curves(model)[1].lines
    assert not any(line.get_label().startswith("valid mcc of the model kept") for line in network_lines)


def test_a_mutagenesis_map_is_titled_in_words():
    from dnabert_nb.pl.mutagenesis import map_title

    assert map_title(0, "donor", "probability") == "change of p(donor) for every substitution"
    assert map_title("chr1:5-65", "1", "log-odds") == "chr1:5-65: change of log-odds of 1 for every substitution"
    assert map_title(None, None, "probability") == "change of the output for every substitution"
