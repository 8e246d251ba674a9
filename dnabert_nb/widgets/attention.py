"""AttentionExplorer: a sequence's predicted classes and attention track; a selected region, its k-mers, its matches."""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np
import pandas as pd

from ..core.model import DNABERTModel
from ..core.predict import predict
from ..dna.alphabet import normalise, reverse_complement
from ..interpret.attention import attention_scores
from ..interpret.motifs import high_attention_regions
from ..io.sequences import SequencesLike, as_sequence_table
from ..pl.attention import attention as plot_attention
from ._inputs import SequenceInput
from ._model_choice import SharedModel, as_shared
from ._panel import Panel, figure_image, html_table, new_figure, show_figure

#: Above this many sequences, a search box narrows the list.
SEARCH_FROM = 20
#: What the shaded stretches of a track are.
REGIONS = "high-attention region"
#: Occurrences listed for a selected region.
MAX_OCCURRENCES = 50
#: Nucleotides shown with their letters; a longer sequence gets an overview track above a zoomed one.
ZOOM = 120


def occurrences(sequences: list[str], ids: list, motif: str, *, limit: int = MAX_OCCURRENCES) -> pd.DataFrame:
    """Where ``motif`` occurs in the sequences, on either strand: ``id``, 0-based ``start``, ``strand``."""
    found = []
    patterns = {"+": motif, "-": reverse_complement(motif)}
    for identifier, sequence in zip(ids, sequences):
        for strand, pattern in patterns.items():
            start = sequence.find(pattern)
            while start >= 0 and len(found) < limit:
                found.append({"id": identifier, "start": start, "strand": strand})
                start = sequence.find(pattern, start + 1)
            if strand == "+" and pattern == patterns["-"]:
                break  # a palindrome: each place once
    return pd.DataFrame(found, columns=["id", "start", "strand"])


class AttentionExplorer(Panel):
    """Browse sequences with their predicted classes and attention track (``attention_scores``, DNABERT-viz).

    Pick a sequence (a search box narrows long lists), a layer and a head; high-attention regions are shaded. A
    sequence longer than 120 nt is drawn whole above and, with its letters, 120 nt at a time below ("View from").
    Select a region with the slider to see its k-mers, its text (to copy) and where it occurs in the sequences.
    Paste or upload your own sequences and press Use to explore them instead.
    The current sequence's scores are ``panel.result``; the occurrences of the region ``panel.table``.

    Parameters
    ----------
    model
        A fine-tuned model (or a :class:`SharedModel` of other panels); without a task head only attention shows.
    sequences
        Anything :func:`dnabert_nb.predict` takes.
    """

    def __init__(self, model: DNABERTModel | SharedModel, sequences: SequencesLike):
        self.shared = as_shared(model)
        self.ids, self.sequences = self._read(sequences)
        self.result: np.ndarray | None = None
        self.table = pd.DataFrame(columns=["id", "start", "strand"])
        self._cache: dict[tuple, np.ndarray] = {}
        self.search = widgets.Text(placeholder="search ids", description="Search")
        self.search.layout.display = None if len(self.ids) > SEARCH_FROM else "none"
        self.choice = widgets.Dropdown(options=self.ids, description="Sequence")
        self.own = SequenceInput(self.use_sequences, self.reporting)
        self.layer = widgets.Dropdown(description="Layer")
        self.head = widgets.Dropdown(description="Heads")
        self.prediction = widgets.HTML()
        self.figure = figure_image()
        self.view = widgets.IntSlider(
            description="View from", continuous_update=False, layout=widgets.Layout(width="600px")
        )
        self.region = widgets.IntRangeSlider(
            description="Region", continuous_update=False, layout=widgets.Layout(width="600px")
        )
        self.kmers = widgets.HTML()
        self.subsequence = widgets.Textarea(description="Text", layout=widgets.Layout(width="600px", height="60px"))
        self.matches = widgets.HTML()
        super().__init__(
            [
                self.own,
                widgets.HBox([self.search, self.choice]),
                widgets.HBox([self.layer, self.head]),
                self.prediction,
                self.figure,
                self.view,
                self.region,
                self.kmers,
                self.subsequence,
                self.matches,
            ]
        )
        self.search.observe(lambda _: self._filter(), names="value")
        self.choice.observe(lambda _: self._select(), names="value")
        for control in (self.layer, self.head):
            control.observe(lambda _: self.show(), names="value")
        self.region.observe(lambda _: self._show_region(), names="value")
        self.view.observe(lambda _: self._redraw(), names="value")
        self.shared.observe(lambda _: self._model_changed(), names="model")
        self._model_changed()

    @property
    def model(self) -> DNABERTModel | None:
        """The model whose attention is shown."""
        return self.shared.model

    @property
    def sequence(self) -> str:
        """The selected sequence."""
        return self.sequences[self.ids.index(self.choice.value)]

    @staticmethod
    def _read(sequences: SequencesLike) -> tuple[list[str], list[str]]:
        table = as_sequence_table(sequences)
        return [str(identifier) for identifier in table.ids], normalise(table.sequences, table.ids)

    def use_sequences(self, sequences: SequencesLike) -> None:
        """Explore these sequences (anything :func:`dnabert_nb.predict` takes) instead; the first is shown."""
        ids, normalised = self._read(sequences)  # a bad letter is named here, before anything changes
        self.ids, self.sequences = ids, normalised
        self._cache.clear()
        self.search.layout.display = None if len(ids) > SEARCH_FROM else "none"
        with self.hold_trait_notifications():
            self.search.value = ""
            self.choice.options = ids
            self.choice.value = ids[0]
        self._select()

    def _model_changed(self) -> None:
        with self.reporting():
            self._cache.clear()
            config = self.model.network.config
            with self.hold_trait_notifications():
                self.layer.options = list(range(1, config.num_hidden_layers + 1))
                self.layer.value = config.num_hidden_layers
                self.head.options = ["all", *range(1, config.num_attention_heads + 1)]
                self.head.value = "all"
            self._select()

    def _filter(self) -> None:
        text = self.search.value.strip().lower()
        chosen = [identifier for identifier in self.ids if text in identifier.lower()] or self.ids
        self.choice.options = chosen

    def _select(self) -> None:
        with self.reporting():
            length = len(self.sequence)
            with self.hold_trait_notifications():
                self.region.max = length
                self.region.value = (0, 0)
                self.view.max = max(0, length - ZOOM)
                self.view.value = 0
            self.view.layout.display = None if length > ZOOM else "none"
            model = self.model
            if model.task is not None:
                probabilities = predict(model, self.sequence, progress=False).filter(like="prob_").iloc[0]
                cells = " · ".join(f"{name[5:]}: {value:.3f}" for name, value in probabilities.items())
                self.prediction.value = f"<b>Predicted</b> {cells}"
            else:
                self.prediction.value = "<i>This model has no task head: attention only.</i>"
            self.show()

    def show(self) -> None:
        """Draw the attention track of the selected sequence at the chosen layer and heads."""
        with self.reporting():
            if self.layer.value is None or self.head.value is None:
                return
            key = (self.choice.value, self.layer.value, self.head.value)
            if key not in self._cache:
                heads = None if self.head.value == "all" else [self.head.value - 1]
                self._cache[key] = attention_scores(
                    self.model, self.sequence, layer=self.layer.value - 1, heads=heads, progress=False
                )[0]
            self.result = self._cache[key]
            self._draw()

    def _draw(self) -> None:
        sequence, scores = self.sequence, self.result
        regions = pd.DataFrame(high_attention_regions(scores), columns=["start", "end"])
        first, last = self.region.value
        long = len(sequence) > ZOOM
        figure = new_figure(12, 4.4 if long else 2.6, layout=None)  # fixed margins: no layout engine to wait for
        axes = figure.subplots(2, 1) if long else [figure.subplots()]
        figure.subplots_adjust(left=0.07, right=0.99, top=0.92 if long else 0.88, bottom=0.15 if long else 0.3)
        figure.subplots_adjust(hspace=0.45)
        if long:  # the whole sequence above, the part in view (with its letters) below
            plot_attention(scores, sequence, instances=regions, letters=False, shaded=REGIONS, ax=axes[0])
            axes[0].axvspan(self.view.value - 0.5, self.view.value + ZOOM - 0.5, fill=False, edgecolor="black")
            shown = slice(self.view.value, self.view.value + ZOOM)
            in_view = regions.clip(lower=shown.start, upper=shown.stop)
            plot_attention(
                scores[shown],
                sequence[shown],
                instances=in_view,
                letters=True,
                start=shown.start,
                shaded=REGIONS,
                ax=axes[1],
            )
        else:
            plot_attention(scores, sequence, instances=regions, letters=True, shaded=REGIONS, ax=axes[0])
        for ax in axes:
            if last > first:
                ax.axvspan(first - 0.5, last - 0.5, color="tab:green", alpha=0.3)
        axes[0].set_title(f"{self.choice.value}: layer {self.layer.value}, heads {self.head.value}", fontsize=9)
        show_figure(self.figure, figure)

    def _redraw(self) -> None:
        with self.reporting():
            if self.result is not None:
                self._draw()

    def _show_region(self) -> None:
        with self.reporting():
            first, last = self.region.value
            text = self.sequence[first:last]
            k = self.model.tokenizer.k
            self.subsequence.value = text
            if not text:
                self.kmers.value = self.matches.value = ""
                self.table = self.table.iloc[0:0]
            else:
                kmers = [text[i : i + k] for i in range(len(text) - k + 1)]
                self.kmers.value = f"<b>{len(kmers)} k-mers</b> <code>{html.escape(' '.join(kmers))}</code>"
                self.table = occurrences(self.sequences, self.ids, text)
                where = f"{len(self.table)} occurrence{'s' if len(self.table) != 1 else ''} (both strands)"
                self.matches.value = f"<b>{where}</b>" + html_table(self.table)
            if text and not self.view.value <= first <= self.view.value + ZOOM - len(text):
                self.view.value = min(self.view.max, max(0, first - 10))  # bring the region into view (redraws)
            elif self.result is not None:
                self._draw()
