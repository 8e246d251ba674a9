"""Every panel in a real browser: Voilà serves the pages, Debian's Chromium (driven by Playwright) renders them.

Each page must render its widgets (no "Error displaying widget", no "Loading widget..." left) and answer one real
interaction by changing the page. JupyterLab renders one notebook too. Screenshots are kept in
``tests/browser/screenshots/`` (what a person looks at when a test fails). Skipped, with the reason, where
Chromium, Voilà or Playwright is absent; ``.ci/run`` installs Chromium so that they run in CI.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).parent
PAGES = HERE / "pages"
APP = HERE.parents[1] / "notebooks" / "app.ipynb"
SCREENSHOTS = HERE / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install .[test])")
pytest.importorskip("voila", reason="voila is not installed (pip install .[test])")
if CHROMIUM is None:
    pytest.skip("Chromium is absent: apt-get install -y --no-install-recommends chromium", allow_module_level=True)

#: Seconds a page may take to start a kernel, run its cells and render its widgets on 2 CPU cores.
RENDER_TIMEOUT = 120_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_server(url: str, process: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped (exit {process.returncode}); see its log")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {seconds} s")


def serve(command: list[str], url: str, log: Path):
    handle = log.open("w")
    environment = {**os.environ, "MPLBACKEND": "Agg"}
    process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=environment)
    try:
        wait_for_server(url, process)
    except Exception:
        process.terminate()
        handle.close()
        raise
    return process, handle


def stop(process: subprocess.Popen, handle) -> None:
    """Stop a server started by :func:`serve`; kill it if it has not stopped within 30 s (a kernel still
    starting can hold JupyterLab up)."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    handle.close()


@pytest.fixture(scope="module")
def voila(tmp_path_factory):
    """A Voilà server on 127.0.0.1 serving the panel pages and the app; its base URL."""
    root = tmp_path_factory.mktemp("voila")
    for page in [*PAGES.glob("*.ipynb"), APP]:
        shutil.copy(page, root / page.name)
    port = free_port()
    command = [
        sys.executable, "-m", "voila", "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
        "--ServerApp.ip=127.0.0.1", str(root),
    ]  # fmt: skip
    process, handle = serve(command, f"http://127.0.0.1:{port}/", SCREENSHOTS.parent / "voila.log")
    yield f"http://127.0.0.1:{port}"
    stop(process, handle)


@pytest.fixture(scope="module")
def browser():
    SCREENSHOTS.mkdir(exist_ok=True)
    with playwright_api.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless=new"])
        yield chromium
        chromium.close()


def open_page(browser, url: str, ready: str):
    """A page at ``url`` once ``ready`` (a selector inside the panel) is visible and no widget failed."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url, wait_until="commit")
    page.wait_for_selector(ready, timeout=RENDER_TIMEOUT)
    page.wait_for_function("!document.body.innerText.includes('Loading widget')", timeout=RENDER_TIMEOUT)
    assert "Error displaying widget" not in page.inner_text("body")
    return page


def render(voila: str, name: str) -> str:
    return f"{voila}/voila/render/{name}.ipynb"


def test_predict_panel_uploads_a_fasta_and_predicts(voila, browser, tmp_path):
    page = open_page(browser, render(voila, "predict"), ".dn-panel button:has-text('Predict')")
    page.screenshot(path=SCREENSHOTS / "predict-before.png", full_page=True)
    fasta = tmp_path / "mine.fa"
    fasta.write_text(">first\nACGTACGTTTGACAGCTAGCTCAGTCCTAGG\n>second\nGGGCCCATATATCGCGATTTAAACCCGGGTT\n")
    with page.expect_file_chooser() as chooser:
        page.locator(".dn-panel button:has-text('Upload (0)')").click()
    chooser.value.set_files(str(fasta))
    page.wait_for_selector(".dn-panel button:has-text('Upload (1)')", timeout=30_000)
    page.locator(".dn-panel button:has-text('Predict')").click()
    page.wait_for_selector(".dn-panel table.dn-table td:has-text('second')", timeout=60_000)
    # the table and its download link are two widget updates: the browser may draw one before the other arrives
    page.wait_for_selector(".dn-panel a[download='predictions.csv']", timeout=10_000)
    assert page.locator(".dn-panel a[download='predictions.csv']").count() == 1
    page.screenshot(path=SCREENSHOTS / "predict-after.png", full_page=True)


def test_attention_explorer_picks_a_sequence(voila, browser):
    page = open_page(browser, render(voila, "attention"), ".dn-panel img")
    before = page.locator(".dn-panel img").first.get_attribute("src")
    page.locator(".dn-panel .widget-dropdown select").first.select_option(label="3")
    page.wait_for_function(
        "src => document.querySelector('.dn-panel img').getAttribute('src') !== src", arg=before, timeout=60_000
    )
    page.screenshot(path=SCREENSHOTS / "attention.png", full_page=True)


def test_mutation_explorer_applies_a_substitution(voila, browser):
    page = open_page(browser, render(voila, "mutation"), ".dn-panel img[src^='blob:'], .dn-panel img[src^='data:']")
    page.get_by_label("Position").fill("5")
    page.keyboard.press("Enter")
    page.get_by_label("New base").select_option("T")
    page.locator(".dn-panel button:has-text('Apply')").click()
    page.wait_for_selector(".dn-panel table.dn-table td:has-text('5')", timeout=60_000)
    assert "1 edit" in page.inner_text(".dn-panel")
    page.screenshot(path=SCREENSHOTS / "mutation.png", full_page=True)


def test_design_panel_runs_and_marks_the_edits(voila, browser):
    page = open_page(browser, render(voila, "design"), ".dn-panel button:has-text('Run')")
    page.get_by_label("Max edits").fill("4")
    page.keyboard.press("Enter")
    page.locator(".dn-panel button:has-text('Run')").click()
    page.wait_for_selector(".dn-panel :text('Designed')", timeout=60_000)
    # the designs' table (with its model_calls column) is the next widget update after the designed sequence
    page.wait_for_selector(".dn-panel :text('model_calls')", timeout=60_000)
    edits = page.locator(".dn-panel span.dn-edit").count()
    assert 1 <= edits <= 4 and page.locator(".dn-panel img").count() == 1
    assert "judge" in page.inner_text(".dn-panel") and "model_calls" in page.inner_text(".dn-panel")
    page.screenshot(path=SCREENSHOTS / "design.png", full_page=True)


def test_training_panel_starts_and_stops(voila, browser):
    page = open_page(browser, render(voila, "training"), ".dn-panel button:has-text('Start')")
    recipe = page.get_by_label("Recipe")
    shown = "menu => menu.options[menu.selectedIndex].text.replaceAll('\\u00a0', ' ')"  # ipywidgets: no-break spaces
    assert recipe.evaluate(shown).startswith("quick: linear probe")
    recipe.select_option(index=1)
    assert recipe.evaluate(shown).startswith("full fine-tune: ")
    head = page.get_by_label("Head")
    head.select_option(label="[CLS] (DNABERT)")
    assert head.evaluate("menu => menu.options[menu.selectedIndex].text").startswith("[CLS]")
    page.locator(".dn-panel button:has-text('Start')").click()
    stop = page.locator(".dn-panel button:has-text('Stop')")
    stop.wait_for(state="visible", timeout=60_000)
    page.wait_for_function(  # Stop during the steps: pressed during the k-mer baseline, nothing would be trained
        "() => ['training steps', 'Test scores'].some(text => document.body.innerText.includes(text))",
        timeout=60_000,
    )
    stop.click()
    page.wait_for_selector(".dn-panel :text('Test scores')", timeout=120_000)
    stop.wait_for(state="hidden", timeout=120_000)  # the run is over: curves, scores, confusion matrix and ROC
    assert page.locator(".dn-panel img").count() == 2
    assert "k-mer baseline (k=" in page.inner_text(".dn-panel")  # the test scores' second row
    page.screenshot(path=SCREENSHOTS / "training.png", full_page=True)


def test_motif_browser_shows_an_instance(voila, browser):
    page = open_page(browser, render(voila, "motifs"), ".dn-panel a[download='m1.meme']")
    track = page.locator(".dn-panel img").nth(1)
    before = track.get_attribute("src")
    page.get_by_label("Instance").select_option(index=1)
    page.wait_for_function(
        "src => document.querySelectorAll('.dn-panel img')[1].getAttribute('src') !== src", arg=before, timeout=60_000
    )
    assert "MA0139" in page.inner_text(".dn-panel")
    page.screenshot(path=SCREENSHOTS / "motifs.png", full_page=True)


def test_the_genome_view_draws_the_scan_peaks_and_variants_in_igv(voila, browser):
    page = open_page(browser, render(voila, "genome_view"), "iframe.dn-genome-view")
    frame = page.frame_locator("iframe.dn-genome-view")
    frame.locator("body[data-ready='yes']").wait_for(state="attached", timeout=60_000)
    shown = frame.locator("body").inner_text()
    assert "The genome view failed" not in shown
    for name in ("prob_bound", "peaks", "variants"):
        frame.locator(f".igv-track-label:has-text('{name}')").first.wait_for(timeout=30_000)
    assert frame.locator("canvas").count() > 3  # the ruler, the sequence and the tracks are drawn
    page.screenshot(path=SCREENSHOTS / "genome-view.png", full_page=True)


def visible(page, selector: str):
    """The first element matching ``selector`` that a person can see (the other tabs' panels are hidden)."""
    return page.locator(f"{selector} >> visible=true").first


def open_tab(page, title: str) -> None:
    page.locator(f".lm-TabBar-tab:has-text('{title}')").click()


def test_a_class_in_the_app_answers_in_every_tab_with_a_ready_model(voila, browser):
    """Open, predict with the ready model, attention, a mutation, motifs with a JASPAR match on another ready model,
    a design, training with Stop: each step checked on what the page shows. Timings go to class-timings.json."""
    timings, began = {}, time.monotonic()
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(render(voila, "app"), wait_until="commit")
    page.wait_for_selector(".lm-TabBar-tab:has-text('Predict')", timeout=RENDER_TIMEOUT)
    assert "mini6-splice" in page.inner_text("body") and "Error displaying widget" not in page.inner_text("body")
    open_tab(page, "Predict")
    visible(page, ".dn-panel textarea").fill(">my_donor\nCAGGTGAGTACCTGCTGAGCAGAGGTAAGTGCTGGCTTCCTGCTCAGGTAAGCTGCAGG\n")
    visible(page, ".dn-panel button:has-text('Predict')").click()
    page.wait_for_selector(".dn-panel table.dn-table td:has-text('my_donor') >> visible=true", timeout=60_000)
    timings["page open to first prediction, s"] = round(time.monotonic() - began, 1)
    assert "prob_donor" in page.inner_text(".dn-panel table.dn-table >> visible=true")
    page.screenshot(path=SCREENSHOTS / "class-1-predict.png", full_page=True)

    open_tab(page, "Attention")
    visible(page, ".dn-panel img").wait_for(timeout=60_000)
    assert "Predicted" in visible(page, ".dn-panel").inner_text()
    page.screenshot(path=SCREENSHOTS / "class-2-attention.png", full_page=True)

    open_tab(page, "Mutations")
    visible(page, ".dn-panel img").wait_for(timeout=60_000)
    visible(page, "input[type='number']").fill("31")  # the Position box: the G of the intron's GT
    page.keyboard.press("Enter")
    visible(page, ".dn-panel button:has-text('Apply')").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.dn-panel')].some(p => p.offsetParent && p.innerText.includes('1 edit'))",
        timeout=60_000,
    )
    page.screenshot(path=SCREENSHOTS / "class-3-mutations.png", full_page=True)

    menu = visible(page, "select")  # the model menu: the ready models first, in name order
    menu.select_option(index=[i for i, text in enumerate(menu.evaluate("m => [...m.options].map(o => o.text)"))
                              if text.startswith("mini6-ctcf")][0])  # fmt: skip
    visible(page, "button:has-text('Use')").click()
    page.wait_for_function("() => document.body.innerText.includes('Model: mini6-ctcf')", timeout=60_000)
    rebuilt = "() => [...document.querySelectorAll('.dn-panel select option')].some(o => o.text.startsWith('chr'))"
    page.wait_for_function(rebuilt, timeout=60_000)  # the tabs hold the CTCF model's examples (named chr...:...)
    assert page.locator(".lm-TabBar-tab.lm-mod-current").inner_text() == "Mutations"  # the tab stays
    open_tab(page, "Motifs")
    visible(page, ".dn-panel :text('p cutoff')").wait_for(timeout=30_000)
    started = time.monotonic()
    visible(page, ".dn-panel button:has-text('Run')").click()
    try:
        page.wait_for_selector(".dn-panel :text('Best JASPAR matches') >> visible=true", timeout=180_000)
    finally:
        page.screenshot(path=SCREENSHOTS / "class-4-motifs.png", full_page=True)
    timings["motifs on the CTCF examples, s"] = round(time.monotonic() - started, 1)
    assert "CTCF" in visible(page, ".dn-panel").inner_text()

    open_tab(page, "Design")
    visible(page, ".dn-panel button:has-text('Run')").click()
    page.wait_for_selector(".dn-panel :text('Designed') >> visible=true", timeout=120_000)
    page.screenshot(path=SCREENSHOTS / "class-5-design.png", full_page=True)

    open_tab(page, "Train")
    visible(page, ".dn-panel button:has-text('Start')").click()
    stop = visible(page, ".dn-panel button:has-text('Stop')")
    stop.wait_for(timeout=60_000)
    page.wait_for_function(
        "() => document.body.innerText.includes('linear probe features')", timeout=60_000
    )  # the progress line names the phase
    started = time.monotonic()
    stop.click()
    page.wait_for_function(
        "() => ![...document.querySelectorAll('.dn-panel button')].some(b => b.offsetParent && "
        "b.innerText.includes('Stop') && !b.disabled)",
        timeout=60_000,
    )
    timings["Stop during the linear probe to the panel free again, s"] = round(time.monotonic() - started, 1)
    assert "stopped" in visible(page, ".dn-panel").inner_text() and page.locator("span[style*='#b00020']").count() == 0
    page.screenshot(path=SCREENSHOTS / "class-6-train-stopped.png", full_page=True)
    (SCREENSHOTS / "class-timings.json").write_text(json.dumps(timings, indent=2) + "\n")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 over a folder holding the predict page; (base URL, token)."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copy(PAGES / "predict.ipynb", root / "predict.ipynb")
    port, token = free_port(), "dnabert-nb-browser-test"
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        *(["--allow-root"] if os.geteuid() == 0 else []),
    ]  # fmt: skip
    process, handle = serve(
        command, f"http://127.0.0.1:{port}/api/status?token={token}", SCREENSHOTS.parent / "lab.log"
    )
    yield f"http://127.0.0.1:{port}", token
    stop(process, handle)


def wait_for_connected_kernel(base: str, token: str, seconds: float = RENDER_TIMEOUT / 1000) -> None:
    """Wait until the server has an idle kernel with a client (the page) connected to it."""
    deadline, kernels = time.monotonic() + seconds, []
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/api/kernels?token={token}", timeout=5) as answer:
                kernels = json.load(answer)
        except urllib.error.HTTPError as error:  # jupyter_server answers 500 while a kernel it lists is starting
            if error.code < 500:
                raise
        if any(k["connections"] > 0 and k["execution_state"] == "idle" for k in kernels):
            return
        time.sleep(0.5)
    raise TimeoutError(f"no idle kernel with the page connected within {seconds} s: {kernels}")


def dismiss_dialogs(page, seen: list[str]) -> None:
    """Answer any JupyterLab dialog as a person would, with its default button, keeping its text.

    On a loaded machine JupyterLab can raise a modal dialog (a slow server or kernel) over the menu bar; the
    test then goes on, and its text goes into ``seen`` for the failure message and a screenshot is kept.
    """
    for dialog in page.locator(".jp-Dialog").all():
        if not dialog.is_visible():
            continue
        seen.append(dialog.inner_text()[:500])
        page.screenshot(path=SCREENSHOTS / f"jupyterlab-dialog-{len(seen)}.png", full_page=True)
        dialog.get_by_role("button").last.click()  # JupyterLab puts the default answer last
        dialog.wait_for(state="detached", timeout=10_000)


def test_predict_panel_in_jupyterlab(lab, browser):
    base, token = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{base}/lab/tree/predict.ipynb?token={token}", wait_until="commit")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=RENDER_TIMEOUT)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=RENDER_TIMEOUT)
    panel_button = ".jp-OutputArea .dn-panel button:has-text('Predict')"
    wait_for_connected_kernel(base, token)
    dialogs: list[str] = []
    # A Run All given while the page is still connecting to its kernel is dropped (no cell gets a prompt number or
    # "*") or raises the Select Kernel dialog: so answer any dialog and give it again until the panel shows.
    started = "() => [...document.querySelectorAll('.jp-InputPrompt')].some(p => /[*0-9]/.test(p.textContent))"
    for attempt in range(4):
        dismiss_dialogs(page, dialogs)
        try:  # a dialog raised meanwhile blocks the menu: answered at the next attempt
            page.locator(".lm-MenuBar-itemLabel:text-is('Run')").click(timeout=10_000)
            page.locator(".lm-Menu-itemLabel:text-is('Run All Cells')").click(timeout=10_000)
            page.wait_for_function(started, timeout=15_000)
            page.wait_for_selector(panel_button, timeout=RENDER_TIMEOUT // 2)
            break
        except playwright_api.TimeoutError:
            page.screenshot(path=SCREENSHOTS / f"jupyterlab-no-panel-{attempt}.png", full_page=True)
    else:
        raise AssertionError(
            f"no Predict panel after four Run All; dialogs answered: {dialogs}; "
            f"the page said: {page.inner_text('body')[:2000]}"
        )
    assert "Error displaying widget" not in page.inner_text(".jp-Notebook")
    page.locator(".dn-panel textarea").fill(">pasted\nACGTACGTTTGACAGCTAGCTCAGTCCTAGG\n")
    page.locator(".dn-panel button:has-text('Predict')").click()
    page.wait_for_selector(".dn-panel table.dn-table td:has-text('pasted')", timeout=60_000)
    page.screenshot(path=SCREENSHOTS / "jupyterlab-predict.png", full_page=True)
