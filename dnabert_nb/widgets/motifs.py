"""MotifBrowser: attention motifs as a sortable table; a motif's logo, JASPAR matches, instances and downloads."""

from __future__ import annotations

import tempfile
from pathlib import Path

import ipywidgets as widgets
import pandas as pd

from ..core.model import DNABERTModel
from ..datasets import jaspar
from ..dna.alphabet import normalise
from ..dna.errors import InputFormatError
from ..interpret.compare import compare_motifs
from ..interpret.motifs import MotifResult, attention_motifs, reads_token_mean
from ..io.motifs import write_motifs
from ..io.sequences import SequencesLike, as_sequence_table
from ..pl.attention import attention as plot_attention
from ..pl.logos import logo, motif_match
from ._inputs import SequenceInput
from ._model_choice import SharedModel, as_shared
from ._panel import Job, Panel, download_link, figure_image, html_table, new_figure, show_figure, sort_table

#: JASPAR matches shown for a motif.
TOP_MATCHES = 5
DOWNLOADS = {"jaspar": ".jaspar", "meme": ".meme", "transfac": ".transfac"}


class MotifBrowser(Panel):
    """Browse motifs found where a model attends: ``MotifBrowser(result)`` or ``MotifBrowser(model, positives)``.

    The second form runs :func:`dnabert_nb.attention_motifs` itself, with its key settings as controls, again on
    each click of Run. For the selected motif: its logo over its best JASPAR match, the top matches with scores and
    p-values, its instances with the attention track of one, and its PFM to download (JASPAR, MEME, TRANSFAC).
    The result is ``panel.result``, the motif table as shown ``panel.table``.

    Parameters
    ----------
    source
        A :class:`~dnabert_nb.MotifResult`, or a fine-tuned model (or :class:`SharedModel`).
    positives, negatives
        With a model: the sequences to search and the optional background (as ``attention_motifs`` takes them).
        With a result: ``positives`` may give the searched sequences, to show letters under the attention tracks.
    """

    def __init__(
        self,
        source: MotifResult | DNABERTModel | SharedModel,
        positives: SequencesLike | None = None,
        negatives: SequencesLike | None = None,
    ):
        given = isinstance(source, MotifResult)
        self.shared = as_shared(None if given else source)
        self.result: MotifResult | None = source if given else None
        self.table: pd.DataFrame | None = None
        self.matches = pd.DataFrame()
        self.motif_instances = pd.DataFrame()
        self.positives, self.negatives = positives, negatives
        self._texts = self._sequence_texts(positives)
        self.min_len = widgets.BoundedIntText(value=5, min=3, max=30, description="Region length")
        self.pval = widgets.BoundedFloatText(value=0.005, min=1e-12, max=1.0, step=0.001, description="p cutoff")
        self.window = widgets.BoundedIntText(value=24, min=6, max=60, description="Window")
        self.both_strands = widgets.Checkbox(value=True, description="both strands")
        self.run_button = widgets.Button(description="Run", button_style="primary", icon="play")
        self.run_button.on_click(lambda _: self.run())
        self.own = SequenceInput(self.use_sequences, self.reporting)
        controls = widgets.VBox(
            [
                self.own,
                widgets.HBox([self.min_len, self.pval]),
                widgets.HBox([self.window, self.both_strands, self.run_button]),
            ]
        )
        controls.layout.display = "none" if given else None
        self.shared.observe(lambda _: self._offer_options(), names="model")
        self._offer_options()
        self.sort_by = widgets.Dropdown(description="Sort by", options=[None])
        self.descending = widgets.Checkbox(description="descending", value=False)
        self.motifs_table = widgets.HTML()
        self.choice = widgets.Dropdown(description="Motif")
        self.match = widgets.Dropdown(description="Match")
        self.logos = figure_image()
        self.matches_table = widgets.HTML()
        self.instance = widgets.Dropdown(description="Instance")
        self.instances_table = widgets.HTML()
        self.track = figure_image()
        self.downloads = widgets.HTML()
        super().__init__(
            [
                controls,
                widgets.HBox([self.sort_by, self.descending]),
                self.motifs_table,
                widgets.HBox([self.choice, self.match]),
                self.logos,
                self.matches_table,
                self.downloads,
                self.instance,
                self.track,
                self.instances_table,
            ]
        )
        for control in (self.sort_by, self.descending):
            control.observe(lambda _: self._show_table(), names="value")
        self.choice.observe(lambda _: self._select(), names="value")
        self.match.observe(lambda _: self._draw_match(), names="value")
        self.instance.observe(lambda _: self._draw_instance(), names="value")
        if given:
            self._show_result()

    @staticmethod
    def _sequence_texts(sequences: SequencesLike | None) -> dict[str, str]:
        if sequences is None:
            return {}
        table = as_sequence_table(sequences)
        return dict(zip(map(str, table.ids), normalise(table.sequences, table.ids)))

    def _offer_options(self) -> None:
        """Region length is an option of DNABERT's method only, which a mean-pooled head's motifs do not use."""
        model = self.shared.model
        self.min_len.layout.display = "none" if model is not None and reads_token_mean(model) else None

    def use_sequences(self, positives: SequencesLike) -> None:
        """Search these sequences (and shuffles of them as the background) at the next Run."""
        texts = self._sequence_texts(positives)  # a bad letter is named here, before anything changes
        self.positives, self.negatives, self._texts = positives, None, texts
        self.say(f"{len(texts)} sequence{'s' if len(texts) != 1 else ''} to search: press Run.")

    def run(self) -> Job | None:
        """Run :func:`dnabert_nb.attention_motifs` with the panel's settings in the background."""
        with self.reporting():
            if self.shared.model is None or self.positives is None:
                raise InputFormatError("Give MotifBrowser(model, positives) to discover motifs in the panel.")
            model, options = (
                self.shared.model,
                {
                    "min_len": self.min_len.value,
                    "pval_cutoff": self.pval.value,
                    "window": self.window.value,
                    "both_strands": self.both_strands.value,
                },
            )
            found: list[MotifResult] = []

            def work(job: Job) -> None:
                job.progress(0, 1)
                found.append(attention_motifs(model, self.positives, self.negatives, progress=False, **options))
                job.progress(1, 1)

            def done() -> None:
                if self.job.stopped:
                    self.say("Stopped: the run's result was set aside.")
                    return
                self.result = found[0]
                self._show_result()

            return self.start(work, done=done, what="finding motifs")
        return None

    def _show_result(self) -> None:
        """Show the result, and say in plain words when no motif passed."""
        motifs = self.result.motifs
        empty = "No motif passed the cutoffs; try a larger p cutoff or more sequences." if len(motifs) == 0 else ""
        self.say(empty)
        self.sort_by.options = [None, *motifs.columns]
        self._show_table()
        self.choice.options = list(motifs["id"])
        self.choice.value = self.choice.options[0] if len(motifs) else None

    def _show_table(self) -> None:
        if self.result is None:
            return
        self.table = sort_table(self.result.motifs, self.sort_by.value, self.descending.value)
        self.motifs_table.value = html_table(self.table)

    def _select(self) -> None:
        with self.reporting():
            motif = self.choice.value
            if motif is None:
                return
            pfm = self.result.pfms[motif]
            self.matches = compare_motifs(pfm, top=TOP_MATCHES)
            self.matches_table.value = "<b>Best JASPAR matches</b>" + html_table(self.matches)
            labels = [f"{row.id} {row.name} ({row.strand})" for row in self.matches.itertuples()]
            self.match.options = list(zip(labels, range(len(labels))))
            self.match.value = 0 if labels else None
            self._draw_match()
            instances = self.result.instances[self.result.instances["motif"] == motif].reset_index(drop=True)
            self.motif_instances = instances
            self.instances_table.value = html_table(instances[["sequence_id", "start", "end", "strand", "sequence"]])
            self.instance.options = [
                (f"{row.sequence_id}:{row.start}-{row.end} ({row.strand})", i)
                for i, row in enumerate(instances.itertuples())
            ]
            self.instance.value = 0 if len(instances) else None
            self._draw_instance()
            self._offer_downloads(motif, pfm)

    def _draw_match(self) -> None:
        with self.reporting():
            motif, chosen = self.choice.value, self.match.value
            pfm = self.result.pfms[motif]
            figure = new_figure(max(4, 0.35 * len(pfm) + 2), 3.6)
            if chosen is None:
                logo(pfm, ax=figure.subplots(), title=motif)
            else:
                row = self.matches.iloc[chosen]
                motif_match(
                    pfm, jaspar()[row["id"]], offset=int(row["offset"]), strand=row["strand"], ax=figure.subplots(2, 1)
                )
            show_figure(self.logos, figure)

    def _draw_instance(self) -> None:
        with self.reporting():
            chosen = self.instance.value
            if chosen is None:
                return
            row = self.motif_instances.iloc[chosen]
            name = str(row["sequence_id"])
            if self._texts:
                index = list(self._texts).index(name)
            elif name.isdigit():  # sequences given without ids are numbered in order
                index = int(name)
            else:
                raise InputFormatError("Give MotifBrowser(result, positives) to see an instance's attention track.")
            scores = self.result.scores[index]
            sequence = self._texts.get(str(row["sequence_id"]), "·" * len(scores))
            figure = new_figure(max(6, len(scores) / 10), 2.2)
            ax = plot_attention(
                scores, sequence, instances=self.motif_instances.iloc[[chosen]], letters=True, ax=figure.subplots()
            )
            ax.set_title(f"{row['sequence_id']}: instance {row['start']}-{row['end']} ({row['strand']})", fontsize=9)
            show_figure(self.track, figure)

    def _offer_downloads(self, motif: str, pfm: pd.DataFrame) -> None:
        links = []
        with tempfile.TemporaryDirectory(prefix="dnabert_nb_motif_") as folder:
            for format_name, suffix in DOWNLOADS.items():
                path = write_motifs({motif: pfm}, Path(folder) / f"{motif}{suffix}", format=format_name)
                links.append(download_link(path.read_bytes(), path.name, format_name.upper()))
        self.downloads.value = "<b>Download the PFM:</b> " + " · ".join(links)
