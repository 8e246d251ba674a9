"""What every panel shares: a message line for errors, background work with progress and Stop, figures as images.

A panel only wires the library's verbs to controls. Quick answers (a prediction, a redrawn track) are computed in
the control's callback; long work (training, a mutagenesis map, motif discovery, many predictions) runs in a
background thread as a :class:`Job`, so that the kernel stays free to receive a click on Stop, with a progress bar
inside the panel. Errors never escape a callback: they are written into the panel in plain words and the panel stays
usable.
"""

from __future__ import annotations

import atexit
import base64
import html
import io
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import ipywidgets as widgets
import pandas as pd
from ipywidgets.widgets.widget_description import DescriptionStyle, DescriptionWidget
from matplotlib.figure import Figure

from ..dna.errors import DNABERTError

#: The rows a table shows; the full table stays in the panel's attribute.
TABLE_ROWS = 200
#: Jobs still running, stopped and awaited when Python exits (a thread killed inside torch aborts the process).
_RUNNING: weakref.WeakSet = weakref.WeakSet()


def figure_png(figure: Figure, dpi: int = 90) -> bytes:
    """The figure as PNG bytes (drawn with Agg, so that it works in any thread)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def figure_image() -> widgets.Image:
    """An image widget for a figure, hidden until :func:`show_figure` gives it one (no broken-image icon)."""
    return widgets.Image(format="png", layout=widgets.Layout(display="none"))


def show_figure(image: widgets.Image, figure: Figure) -> None:
    """Draw ``figure`` into ``image`` and show it."""
    image.value = figure_png(figure)
    image.layout.display = None


def new_figure(width: float, height: float, *, layout: str | None = "constrained") -> Figure:
    """A figure outside pyplot's registry: it is never shown twice and never leaks.

    ``layout=None`` skips the layout engine (much faster with many labels; place the axes yourself).
    """
    return Figure(figsize=(width, height), layout=layout)


def html_table(table: pd.DataFrame, *, rows: int = TABLE_ROWS, digits: int = 4) -> str:
    """A DataFrame as an HTML table (the first ``rows`` rows), with a note when rows were left out."""
    shown = table.head(rows).to_html(
        index=False, float_format=lambda value: f"{value:.{digits}g}", classes="dn-table", border=0
    )
    more = f"<p><i>{len(table) - rows} more rows in the panel's table attribute.</i></p>" if len(table) > rows else ""
    return f'<div style="max-height:320px;overflow:auto">{shown}</div>{more}'


def download_link(data: bytes, filename: str, text: str, mime: str = "text/plain") -> str:
    """An HTML link that saves ``data`` as ``filename`` in the browser (nothing is written on the server)."""
    encoded = base64.b64encode(data).decode("ascii")
    return (
        f'<a download="{html.escape(filename)}" href="data:{mime};base64,{encoded}" target="_blank">'
        f"{html.escape(text)}</a>"
    )


def sort_table(table: pd.DataFrame, column: str | None, descending: bool) -> pd.DataFrame:
    """The table sorted by one column (missing values last), or as it is when ``column`` is None."""
    if column is None or column not in table.columns:
        return table
    return table.sort_values(column, ascending=not descending, na_position="last", kind="stable")


def duration_words(seconds: float) -> str:
    """A duration as a person says it: ``"45 s"``, ``"3 min 05 s"``, ``"1 h 02 min"``."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def progress_words(phase: str, done: int, total: int, elapsed: float, left: float | None) -> str:
    """One line of progress: ``"training steps 140 / 1,000 · 1 min 29 s · about 8 min 10 s left"``."""
    words = f"{phase + ' ' if phase else ''}{done:,} / {total:,} · {duration_words(elapsed)}"
    return words + (f" · about {duration_words(left)} left" if left is not None and done < total else "")


def show_whole_labels(widget: widgets.Widget) -> None:
    """Give every labelled control under ``widget`` the width its label needs (ipywidgets cuts labels at 100 px:
    "Learning r…")."""
    if isinstance(widget, DescriptionWidget) and isinstance(widget.style, DescriptionStyle):
        widget.style.description_width = "initial"
    for child in getattr(widget, "children", ()):
        show_whole_labels(child)


def first_sentence(text: str) -> str:
    """The first sentence of a message (a warning's gist, for a panel)."""
    return re.split(r"(?<=[.!?])\s+(?=[A-Z(])", text.strip(), maxsplit=1)[0]


def plain_words(error: BaseException) -> str:
    """What a person reads in a panel for ``error``: the library's own message, or the kind of failure."""
    if isinstance(error, DNABERTError):
        return str(error)
    return f"Unexpected {type(error).__name__}: {error}"


class Job:
    """Work running in a background thread, with a stop flag, a progress callback and the error it ended with.

    ``work(job)`` calls ``job.progress(done, total)`` (or ``job.progress(done, total, phase)`` for work in named
    phases) as it goes and checks ``job.stopped`` between pieces.
    """

    def __init__(self, work: Callable[[Job], None], progress: Callable[..., None]):
        self._work, self.progress = work, progress
        self._stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    @property
    def stopped(self) -> bool:
        """Whether a stop was requested."""
        return self._stop.is_set()

    def stop(self) -> None:
        """Ask the work to stop at its next check."""
        self._stop.set()

    def _run(self) -> None:
        try:
            self._work(self)
        finally:
            _RUNNING.discard(self)


@atexit.register
def _stop_running_jobs() -> None:
    for job in list(_RUNNING):
        job.stop()
        job.thread.join(timeout=60)


class MessageLine(widgets.HTML):
    """One line of plain words under a panel's controls: errors in red, other news in grey."""

    def say(self, text: str, *, error: bool = False) -> None:
        """Show ``text`` (plain words); errors in red."""
        colour = "#b00020" if error else "#333"
        self.value = f'<span style="color:{colour}">{html.escape(text)}</span>' if text else ""

    @property
    def error_text(self) -> str:
        """The line's text when it shows an error, else an empty string."""
        if "#b00020" not in self.value:
            return ""
        return html.unescape(self.value.split(">", 1)[1].rsplit("<", 1)[0])

    @contextmanager
    def reporting(self) -> Iterator[None]:
        """Run a callback's body; an error is written on the line instead of escaping."""
        try:
            yield
        except Exception as error:  # noqa: BLE001 - a panel must stay usable whatever went wrong
            self.say(plain_words(error), error=True)


class Panel(widgets.VBox):
    """Base of every panel: a message line, a progress bar with Stop, and one background job at a time.

    The progress row and the message line follow the first ``status_after`` children (the controls), so that an
    error shows beside what caused it, above results; None puts them last.
    """

    def __init__(self, children: list[widgets.Widget], *, status_after: int | None = None, **kwargs):
        self.message = MessageLine(layout=widgets.Layout(min_height="1.5em"))
        self.progress_bar = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="300px"))
        self.stop_button = widgets.Button(description="Stop", icon="stop", disabled=True, button_style="warning")
        self.stop_button.on_click(lambda _: self.stop())
        self.progress_text = widgets.HTML()
        self.progress_row = widgets.HBox([self.progress_bar, self.stop_button, self.progress_text])
        self.progress_row.layout.display = "none"
        self.job: Job | None = None
        at = len(children) if status_after is None else status_after  # progress and errors under the controls
        super().__init__([*children[:at], self.progress_row, self.message, *children[at:]], **kwargs)
        self.add_class("dn-panel")
        show_whole_labels(self)

    # -- messages -------------------------------------------------------------------------------------------------
    def say(self, text: str, *, error: bool = False) -> None:
        """Show ``text`` (plain words) in the panel's message line; errors in red."""
        self.message.say(text, error=error)

    @property
    def error_text(self) -> str:
        """The message line's text when it shows an error, else an empty string."""
        return self.message.error_text

    def reporting(self) -> AbstractContextManager[None]:
        """Run a callback's body; an error is written into the panel instead of escaping."""
        return self.message.reporting()

    # -- background work ------------------------------------------------------------------------------------------
    def start(self, work: Callable[[Job], None], *, done: Callable[[], None] | None = None, what: str = "") -> Job:
        """Run ``work`` in the background with the progress bar and Stop shown; then ``done`` (if no error).

        A job still running is asked to stop and set aside: it ends at its next check, and only the newest job
        touches the panel, so that a new request never waits for an old one.
        """
        self.stop()

        def run(job: Job) -> None:
            try:
                work(job)
                if job is self.job:
                    self.say("")
                    if done is not None:
                        done()
            except Exception as error:  # noqa: BLE001 - shown in the panel, never lost in a thread
                job.error = error
                if job is self.job:  # what a stop asked for is said plainly, not as an error
                    self.say(plain_words(error), error=not job.stopped)
            finally:
                if job is self.job:
                    self.stop_button.disabled = True
                    self.progress_row.layout.display = "none"

        started = time.monotonic()
        phase_starts: dict[str, tuple[float, int]] = {}  # when each phase was first heard of, and its count then

        def progress(done_count: int, total: int, phase: str = "") -> None:
            if job is not self.job:
                return
            now = time.monotonic()
            since, first = phase_starts.setdefault(phase, (now, done_count))  # steps' pace includes evaluations
            self.progress_bar.max = max(1, total)
            self.progress_bar.value = min(done_count, self.progress_bar.max)
            rate = (done_count - first) / max(now - since, 1e-9)
            left = (total - done_count) / rate if rate > 0 else None
            if not job.stopped:
                self.progress_text.value = html.escape(progress_words(phase, done_count, total, now - started, left))

        self.progress_bar.value = 0
        self.progress_text.value = ""
        self.progress_bar.description = what
        self.progress_row.layout.display = "flex"
        self.stop_button.disabled = False
        self.say(f"{what}..." if what else "")
        job = self.job = Job(run, progress)
        _RUNNING.add(job)
        job.thread.start()
        return job

    def stop(self) -> None:
        """Ask the running job (if any) to stop after its current piece of work."""
        if self.job is not None:
            self.job.stop()
            if self.job.thread.is_alive():
                self.progress_text.value = "stopping after the current piece of work..."

    def wait(self, timeout: float | None = None) -> None:
        """Block until the running job has finished (for code and tests that want its result)."""
        job = self.job
        if job is not None and job.thread.is_alive() and job.thread is not threading.current_thread():
            job.thread.join(timeout)
