"""PredictPanel: paste or upload sequences, predict with a chosen model, sort and download the table."""

from __future__ import annotations

import ipywidgets as widgets
import pandas as pd

from ..core.model import DNABERTModel
from ..core.predict import predict
from ..dna.alphabet import encode_nucleotides
from ..dna.errors import ModelTaskError
from ._inputs import pasted_sequences, uploaded_sequences
from ._model_choice import ModelChooser, SharedModel, as_shared
from ._panel import Job, Panel, download_link, html_table, sort_table

#: Sequences predicted between two progress updates (and two checks of Stop).
CHUNK = 256


class PredictPanel(Panel):
    """Predict pasted or uploaded sequences; the result is ``panel.table``.

    Parameters
    ----------
    model
        A :class:`~dnabert_nb.DNABERTModel` with a task head, a :class:`SharedModel` of other panels, or None to
        choose one in the panel (the embedded model, a checkpoint folder).
    choose_model
        Show the controls that load another model (the app shows them once, above its tabs).
    """

    def __init__(self, model: DNABERTModel | SharedModel | None = None, *, choose_model: bool = True):
        self.shared = as_shared(model)
        self.table: pd.DataFrame | None = None
        self.chooser = ModelChooser(self.shared)
        self.chooser.layout.display = None if choose_model else "none"
        self.pasted = widgets.Textarea(
            placeholder=">id1\nACGT...\n>id2\nACGT...   (FASTA, or one sequence per line)",
            layout=widgets.Layout(width="100%", height="120px"),
        )
        self.upload = widgets.FileUpload(accept=".fa,.fasta,.fna,.gz,.csv,.tsv,.txt", description="Upload")
        self.source = widgets.ToggleButtons(options=["paste", "upload"], value="paste")
        self.predict_button = widgets.Button(description="Predict", button_style="primary", icon="play")
        self.predict_button.on_click(lambda _: self.run())
        self.upload.observe(lambda _: setattr(self.source, "value", "upload"), names="value")
        self.sort_by = widgets.Dropdown(description="Sort by", options=[None])
        self.descending = widgets.Checkbox(description="descending", value=True)
        for control in (self.sort_by, self.descending):
            control.observe(lambda _: self._show(), names="value")
        self.output = widgets.HTML()
        self.download = widgets.HTML()
        super().__init__(
            [
                self.chooser,
                widgets.HBox([self.source, self.upload]),
                self.pasted,
                self.predict_button,
                widgets.HBox([self.sort_by, self.descending]),
                self.output,
                self.download,
            ]
        )

    @property
    def model(self) -> DNABERTModel | None:
        """The model predictions are made with."""
        return self.shared.model

    def run(self) -> Job | None:
        """Predict the pasted (or uploaded) sequences in the background; the table appears when done."""
        with self.reporting():
            sequences = pasted_sequences(self.pasted.value) if self.source.value == "paste" else None
            if sequences is None:
                sequences = uploaded_sequences(self.upload.value)
            model = self.model
            if model is None or model.task is None:
                raise ModelTaskError(
                    "This model has no task head, so it cannot predict classes. Choose a ready model (dn.models()), "
                    "fine-tune one (the Train tab or dn.finetune) or load a fine-tuned checkpoint folder."
                )
            # Checked here, not in the background job, so a bad letter is reported the moment Predict is clicked.
            encode_nucleotides(list(sequences["sequence"]), list(sequences["id"]), min_length=model.k)
            parts: list[pd.DataFrame] = []

            def work(job: Job) -> None:
                for first in range(0, len(sequences), CHUNK):
                    if job.stopped:
                        break
                    parts.append(predict(model, sequences.iloc[first : first + CHUNK], progress=False))
                    job.progress(first + CHUNK, len(sequences))

            def done() -> None:
                self.table = pd.concat(parts, ignore_index=True) if parts else None
                self._show()
                if self.table is not None and len(self.table) < len(sequences):
                    self.say(f"Stopped: {len(self.table)} of {len(sequences)} sequences predicted.")

            return self.start(work, done=done, what="predicting")
        return None

    def _show(self) -> None:
        if self.table is None:
            return
        columns = [None, *self.table.columns]
        if list(self.sort_by.options) != columns:
            self.sort_by.options = columns
        shown = sort_table(self.table, self.sort_by.value, self.descending.value)
        self.output.value = html_table(shown)
        self.download.value = download_link(
            shown.to_csv(index=False).encode(), "predictions.csv", "Download the table (CSV)", "text/csv"
        )
