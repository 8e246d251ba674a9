"""Panels driven as a person drives them: values set, buttons clicked, uploads given; what changed is checked."""

import matplotlib

matplotlib.use("Agg")
import base64
import datetime
import re
import tempfile
import time

import numpy as np
import pandas as pd
import pytest

import dnabert_nb as dn
from dnabert_nb.core.model import head_pooling
from dnabert_nb.interpret.motifs import MotifResult
from dnabert_nb.training import blend as _blend
from dnabert_nb.training import probe
from dnabert_nb.training.callbacks import REDRAW_SECONDS
from dnabert_nb.training.loop import TrainingState
from dnabert_nb.training.selection import is_linear_probe
from dnabert_nb.widgets import (
    AttentionExplorer,
    DesignPanel,
    MotifBrowser,
    MutationExplorer,
    PredictPanel,
    SharedModel,
    TrainingPanel,
    app,
)
from dnabert_nb.widgets.training import _PanelCallback

BASES = list("ACGT")
NOW = datetime.datetime.now(datetime.timezone.utc)
PNG = b"\x89PNG"


def is_png(value):
    return bytes(value).startswith(PNG)


def random_dna(length, seed):
    return "".join(np.random.default_rng(seed).choice(BASES, size=length))


def upload(name, text):
    """What ``FileUpload.value`` holds after a person chose one file."""
    data = text.encode() if isinstance(text, str) else text
    return ({"name": name, "type": "", "size": len(data), "content": memoryview(data), "last_modified": NOW},)


@pytest.fixture(scope="module")
def classifier(checkpoints):
    return dn.load(checkpoints(4, num_labels=2), precision="fp32")


def test_predict_panel_predicts_pasted_fasta_sorts_and_offers_the_csv(classifier):
    panel = PredictPanel(classifier)
    sequences = {f"s{i}": random_dna(40 + i, i) for i in range(5)}
    panel.pasted.value = "".join(f">{name}\n{text}\n" for name, text in sequences.items())
    panel.predict_button.click()
    panel.wait()
    expected = dn.predict(classifier, list(sequences.values()), progress=False)
    assert list(panel.table["id"]) == list(sequences)
    np.testing.assert_allclose(panel.table["prob_1"], expected["prob_1"], atol=1e-6)
    panel.sort_by.value, panel.descending.value = "prob_1", True
    shown = re.findall(r"<td>(s\d)</td>", panel.output.value)
    assert shown == list(panel.table.sort_values("prob_1", ascending=False)["id"])
    csv = base64.b64decode(re.search(r"base64,([^\"]+)", panel.download.value).group(1)).decode()
    assert csv.splitlines()[0].startswith("id,") and len(csv.splitlines()) == 6


def test_predict_panel_reads_uploads_and_reports_bad_input_in_plain_words(classifier, encoder, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the panel's temporary copies go
    panel = PredictPanel(classifier)
    panel.upload.value = upload("mine.csv", "id,sequence\na,ACGTACGTACGTAAAC\nb,TTTTGGGGCCCCAAAA\n")
    assert panel.source.value == "upload"
    panel.run()
    panel.wait()
    assert list(panel.table["id"]) == ["a", "b"]
    panel.upload.value = upload("mine.fa", b"\x00\x01binary\xff")
    panel.run()
    assert "mine.fa" in panel.error_text
    panel.source.value = "paste"
    panel.pasted.value = "ACGTACGT-ACGT"
    panel.run()
    assert "'-' at position 9" in panel.error_text
    panel.pasted.value = ">x\nACGTACGTAC\n"
    panel.run()
    panel.wait()
    assert list(panel.table["id"]) == ["x"]
    assert list(tmp_path.iterdir()) == []  # uploads and pastes leave no temporary files behind
    panel.pasted.value = ""
    panel.run()
    assert "Paste at least one sequence" in panel.error_text
    headless = PredictPanel(encoder)
    headless.pasted.value = "ACGTACGTACGT"
    headless.run()
    assert "no task head" in headless.error_text
    headless.chooser.folder_button.click()
    assert "Type the path of a checkpoint folder" in headless.chooser.error_text  # beside the control


def test_predict_panel_stop_keeps_what_was_predicted(classifier, monkeypatch):
    monkeypatch.setattr("dnabert_nb.widgets.predict.CHUNK", 1)
    panel = PredictPanel(classifier)
    panel.pasted.value = "\n".join(random_dna(30, i) for i in range(200))
    panel.run()
    panel.stop_button.click()
    panel.wait()
    assert panel.table is not None and 1 <= len(panel.table) < 200
    assert "Stopped" in panel.message.value


def test_mutation_explorer_maps_applies_undoes_and_redoes(classifier):
    sequence = random_dna(70, 3)
    panel = MutationExplorer(classifier, sequence, target="1")
    panel.wait()
    expected = dn.mutagenesis(classifier, sequence, target="1", progress=False)
    pd.testing.assert_frame_equal(panel.result, expected, atol=1e-6, check_exact=False)
    assert is_png(panel.figure.value)
    base = "A" if sequence[10] != "A" else "C"
    panel.position.value, panel.base.value = 10, base
    panel.apply_button.click()
    panel.wait()
    edited = sequence[:10] + base + sequence[11:]
    assert panel.sequence == edited and panel.result.attrs["sequence"] == edited
    row = panel.table.iloc[0]
    assert (row.position, row.ref, row.alt) == (10, sequence[10], base)
    assert row.after == pytest.approx(dn.predict(classifier, edited, progress=False).prob_1[0], abs=1e-6)
    assert f"{row.after:.4f}" in panel.prediction.value
    panel.undo_button.click()
    panel.wait()
    assert panel.sequence == sequence and panel.table.empty
    panel.redo_button.click()
    panel.wait()
    assert panel.sequence == edited and len(panel.table) == 1
    panel.apply(10, base)
    assert "already holds" in panel.error_text
    panel.apply(3, "X")
    assert "substitute one of A, C, G, T or N" in panel.error_text and panel.sequence == edited
    assert len(panel.history) == 2 and len(panel.table) == 1  # the refused edit is in neither
    panel.redo()
    assert "Nothing to redo" in panel.error_text


def test_mutation_explorer_maps_the_chosen_region_of_a_long_sequence(classifier):
    sequence = random_dna(400, 4)
    panel = MutationExplorer(classifier, sequence)
    panel.wait()
    first, last = panel.region.value
    assert last - first == 150 and list(panel.result.index) == list(range(first, last))
    panel.region.value = (0, 20)
    panel.wait()
    assert list(panel.result.index) == list(range(20))


def test_mutation_explorer_names_an_empty_sequence_as_such(classifier):
    with pytest.raises(dn.InvalidSequenceError, match="is empty; at least 1 nt are needed to make a sequence"):
        MutationExplorer(classifier, "")


def test_mutation_explorer_needs_a_task_head(encoder):
    panel = MutationExplorer(encoder, random_dna(50, 5))
    assert "task head" in panel.error_text


def test_training_panel_trains_tests_and_shares_the_model(encoder):
    shared = SharedModel(model=encoder)
    panel = TrainingPanel(shared, dataset="ecoli_promoters")
    panel.recipe.value, panel.epochs.value = "fine-tune", 1
    panel.start_button.click()
    panel.wait()
    assert panel.error_text == ""
    assert panel.model is not None and shared.model is panel.model and panel.model.task == "classification"
    assert set(panel.metrics) >= {"mcc", "auroc", "accuracy"} and panel.metrics["n"] == len(panel.parts["test"])
    assert is_png(panel.curves.value) and is_png(panel.plots.value)
    assert "mcc" in panel.scores.value
    assert f"k-mer baseline (k={panel.model.baseline.k})" in panel.scores.value  # the bar to clear, beside
    expected = "layers_mean" if is_linear_probe(panel.model) else "mean"  # finetune's probe, or its new head's
    assert head_pooling(panel.model.network) == expected


def test_training_panel_fits_a_linear_probe_by_default_and_offers_the_fine_tune_with_its_estimated_time(encoder):
    panel = TrainingPanel(encoder, dataset="ecoli_promoters")
    assert panel.recipe.value == "linear probe"
    full = dict((value, label) for label, value in panel.recipe.options)["fine-tune"]
    assert re.search(r"full fine-tune: \d+ steps, about \d+ s to \d+ s on 2 CPU cores", full), full
    panel.rows.value = 40
    assert "full fine-tune: 60 steps" in dict((v, k) for k, v in panel.recipe.options)["fine-tune"]  # 30 epochs of 2
    panel.train()
    panel.wait()
    assert panel.error_text == "" and is_linear_probe(panel.model) and panel.model.history is None
    assert "linear probe (encoder frozen)" in panel.scores.value and is_png(panel.plots.value)
    assert panel.curves.layout.display == "none"  # a probe alone has no curves to show


def test_training_panel_redraws_the_curves_at_most_every_few_seconds(encoder):
    panel = TrainingPanel(encoder, dataset="ecoli_promoters")
    drawn = []
    panel.show_curves = lambda history, baseline=None: drawn.append(len(history))
    callback = _PanelCallback(panel, job=None)
    state = TrainingState(history=[{"step": 1, "loss": 0.7}])
    callback.on_evaluate(state, {})
    state.history.append({"step": 2, "loss": 0.6})
    callback.on_evaluate(state, {})  # at once: not redrawn
    assert drawn == [1]
    callback.drawn -= REDRAW_SECONDS
    callback.on_evaluate(state, {})
    assert drawn == [1, 2]
    callback.on_end(state)
    assert drawn == [1, 2]  # the panel draws the final curves itself, with the k-mer baseline


def test_training_panel_head_menu_asks_finetune_for_a_cls_head(encoder):
    panel = TrainingPanel(encoder, dataset="ecoli_promoters")
    panel.recipe.value, panel.epochs.value, panel.rows.value, panel.pooling.value = "fine-tune", 1, 20, "cls"
    panel.train()
    panel.wait()
    assert panel.error_text == "" and head_pooling(panel.model.network) == "cls"


def test_training_panel_offers_finetune_s_auto_epochs_by_default(encoder):
    panel = TrainingPanel(encoder, dataset="ecoli_promoters")
    assert panel.epochs.value == "auto" and 1 in panel.epochs.options
    panel.recipe.value = "fine-tune"
    panel.rows.value = 40
    panel.train()
    panel.wait()
    assert panel.error_text == ""
    history = panel.model.history
    steps_per_epoch = history.loc[history["epoch"] == 1, "step"].max()
    assert history["epoch"].max() >= 3 and history["step"].max() > steps_per_epoch  # several epochs, not one


def test_training_panel_stop_ends_after_the_current_step_and_keeps_the_best_model(encoder):
    panel = TrainingPanel(encoder, dataset="ecoli_promoters")
    panel.recipe.value, panel.epochs.value = "fine-tune", 20
    panel.train()
    while "training steps" not in panel.progress_text.value and panel.job.thread.is_alive():
        time.sleep(0.01)  # Stop pressed during the steps (during the k-mer baseline nothing is trained yet)
    panel.stop_button.click()
    panel.wait()
    history = panel.model.history
    assert history["step"].max() < 20 * 3  # 20 epochs of 3 or more steps were asked for
    assert panel.model.metrics is not None  # the stopped run was evaluated, and its best model kept


def test_training_panel_names_the_phase_and_stop_ends_the_linear_probe_s_fits(encoder, monkeypatch):
    fits = []

    def slow_cross_validation(*args, **kwargs):  # a deliberately slow probe: 43 choices of 0.3 s each
        fits.append(1)
        time.sleep(0.3)
        return np.array([-0.5])

    monkeypatch.setattr(probe, "cross_val_score", slow_cross_validation)
    panel = TrainingPanel(encoder, dataset="ecoli_promoters")
    panel.recipe.value, panel.rows.value, panel.epochs.value = "fine-tune", 40, 1
    shown = []
    panel.progress_text.observe(lambda change: shown.append(change["new"]), names="value")
    panel.train()
    while len(fits) < 3 and panel.job.thread.is_alive():
        time.sleep(0.05)
    assert any(text.startswith("training steps ") and " / " in text for text in shown)
    assert any(text.startswith("evaluation ") for text in shown) and any(
        text.startswith("k-mer baseline") for text in shown
    )
    assert "linear probe fits 2 / " in panel.progress_text.value and "left" in panel.progress_text.value
    stopped_at = len(fits)
    panel.stop_button.click()
    assert "stopping" in panel.progress_text.value
    panel.wait(timeout=60)
    assert len(fits) <= stopped_at + 1  # the fit under way ends, no other starts
    assert panel.error_text == "" and not is_linear_probe(panel.model) and panel.model.metrics is not None
    assert "fine-tuned network" in panel.scores.value


def test_training_panel_shows_warnings_as_plain_notes_and_errors_under_its_controls(encoder, monkeypatch):
    monkeypatch.setattr(_blend, "SHARES", (1.0,))  # no blend: the k-mer baseline then beats the probe, and says so
    panel = TrainingPanel(encoder, dataset="ecoli_promoters")
    children = list(panel.children)
    assert children.index(panel.message) == children.index(panel.start_button) + 2  # under Start, above results
    panel.rows.value, panel.epochs.value = 40, 1
    panel.train()
    panel.wait()
    assert panel.error_text == "" and panel.notes.value.count("<div>Note: ") >= 1
    assert "k-mer baseline" in panel.notes.value and "dn.evaluate" not in panel.notes.value  # the gist, for a person
    panel.train()
    assert panel.scores.value == "" and panel.plots.layout.display == "none"  # the last run's results are gone
    panel.wait()


def test_training_panel_trains_on_an_uploaded_file_and_reports_a_bad_one(encoder):
    rows = [(random_dna(40, i), "yes" if i % 2 else "no") for i in range(60)]
    panel = TrainingPanel(encoder)
    panel.upload.value = upload("mine.csv", "sequence,label\n" + "".join(f"{s},{label}\n" for s, label in rows))
    assert panel.data.value == "uploaded file"
    panel.train()
    panel.wait()
    assert panel.error_text == "" and panel.model.labels == ["no", "yes"]
    assert [len(panel.parts[name]) for name in ("train", "valid", "test")] == [48, 6, 6]
    panel.upload.value = upload("mine.csv", "sequence;label\nACGT;1\n")
    panel.train()
    assert "mine.csv" in panel.error_text


def test_attention_explorer_shows_the_track_region_kmers_and_occurrences(classifier):
    sequences = pd.DataFrame({"id": [f"r{i}" for i in range(25)], "sequence": [random_dna(60, i) for i in range(25)]})
    panel = AttentionExplorer(classifier, sequences)
    expected = dn.attention_scores(classifier, sequences.sequence[0], progress=False)[0]
    np.testing.assert_allclose(panel.result, expected, atol=1e-6)
    assert is_png(panel.figure.value) and "prob" not in panel.prediction.value
    assert "Predicted" in panel.prediction.value
    panel.layer.value = 1
    first_layer = dn.attention_scores(classifier, sequences.sequence[0], layer=0, progress=False)[0]
    np.testing.assert_allclose(panel.result, first_layer, atol=1e-6)
    panel.region.value = (5, 15)
    assert panel.subsequence.value == sequences.sequence[0][5:15]
    assert panel.kmers.value.count(" ") >= 10 - 4  # 7 k-mers of 4 nt
    assert {"id": "r0", "start": 5, "strand": "+"} in panel.table.to_dict("records")
    assert panel.search.layout.display != "none"
    panel.search.value = "r1"
    assert set(panel.choice.options) == {"r1", *(f"r{i}" for i in range(10, 20))}
    panel.choice.value = "r12"
    np.testing.assert_allclose(
        panel.result, dn.attention_scores(classifier, sequences.sequence[12], layer=0, progress=False)[0], atol=1e-6
    )


def planted_result():
    """A MotifResult as attention_motifs makes it, around JASPAR's CTCF matrix."""
    ctcf = dn.datasets.jaspar("CTCF")
    name, pfm = next(iter(ctcf.items()))
    sequences = [random_dna(60, 10), random_dna(60, 11)]
    motifs = pd.DataFrame({"id": ["m1"], "consensus": ["CCGCGNGGNGGCAG"], "n_instances": [2], "p_adj": [1e-4]})
    instances = pd.DataFrame(
        {
            "motif": ["m1", "m1"],
            "sequence_id": [0, 1],
            "start": [10, 20],
            "end": [29, 39],
            "strand": ["+", "-"],
            "sequence": [sequences[0][10:29], sequences[1][20:39]],
        }
    )
    scores = [np.linspace(0, 1, 60), np.linspace(1, 0, 60)]
    return MotifResult(motifs, {"m1": pfm}, instances, scores), sequences, name


def test_motif_browser_shows_matches_instances_and_downloads_three_formats():
    result, sequences, name = planted_result()
    panel = MotifBrowser(result, sequences)
    assert panel.choice.value == "m1" and len(panel.table) == 1
    assert len(panel.matches) == 5 and panel.matches.iloc[0]["id"] == name
    assert is_png(panel.logos.value) and is_png(panel.track.value)
    links = re.findall(r'download="([^"]+)" href="data:text/plain;base64,([^"]+)"', panel.downloads.value)
    assert [file for file, _ in links] == ["m1.jaspar", "m1.meme", "m1.transfac"]
    assert base64.b64decode(links[1][1]).decode().startswith("MEME version 4")
    before = panel.track.value
    panel.instance.value = 1
    assert panel.track.value != before and panel.error_text == ""


def test_motif_browser_runs_attention_motifs_with_its_settings(classifier, monkeypatch):
    positives = [random_dna(60, 20 + i) for i in range(12)]
    calls = []

    def recording(model, found_in, background, **options):
        calls.append((model, found_in, background, options))
        return planted_result()[0]

    monkeypatch.setattr("dnabert_nb.widgets.motifs.attention_motifs", recording)
    panel = MotifBrowser(classifier, positives)
    panel.pval.value, panel.min_len.value, panel.window.value, panel.both_strands.value = 0.05, 4, 20, False
    panel.run_button.click()
    panel.wait()
    assert panel.error_text == "" and panel.choice.value == "m1" and is_png(panel.logos.value)
    model, found_in, background, options = calls[0]
    assert model is classifier and found_in is positives and background is None
    assert options == {"min_len": 4, "pval_cutoff": 0.05, "window": 20, "both_strands": False, "progress": False}


def test_motif_browser_says_when_no_motif_passes(classifier):
    panel = MotifBrowser(classifier, [random_dna(50, 40 + i) for i in range(8)])
    panel.run()
    panel.wait()
    assert panel.result is not None and len(panel.result.motifs) == 0  # a random tiny model attends evenly
    assert "No motif passed the cutoffs" in panel.message.value and panel.choice.options == ()


def test_motif_browser_on_a_mean_pooled_head_runs_the_seqlet_method_without_advice_for_coders(checkpoints, monkeypatch):
    model = dn.load(checkpoints(4, num_labels=2), precision="fp32")
    model.config.classifier_pooling = "mean"
    asked = []

    def recorded(*args, **options):
        asked.append(options)
        return planted_result()[0]

    monkeypatch.setattr("dnabert_nb.widgets.motifs.attention_motifs", recorded)
    panel = MotifBrowser(model, planted_result()[1])
    panel.run()
    panel.wait()
    assert panel.error_text == "" and panel.choice.value == "m1"
    assert "method" not in asked[0]  # attention_motifs' own choice: seqlets for this head
    assert panel.min_len.layout.display == "none"  # Region length is DNABERT's method's option only
    assert "pooling=" not in panel.message.value and "scores_from" not in panel.message.value


def test_the_app_tabs_every_panel_around_one_model(classifier, encoder):
    page = app(encoder, dataset="ecoli_promoters")
    titles = [page.tabs.get_title(i) for i in range(len(page.tabs.children))]
    assert titles == ["Train", "Predict", "Attention", "Motifs", "Mutations", "Design"]
    assert "Train a model" in page.tabs.children[2].value
    page.shared.model = classifier
    page.mutations.wait()
    assert isinstance(page.tabs.children[2], AttentionExplorer) and page.predicting.model is classifier
    assert isinstance(page.tabs.children[4], MutationExplorer) and page.mutations.result is not None
    assert isinstance(page.tabs.children[5], DesignPanel) and page.designing.model is classifier


def test_design_panel_runs_the_verb_with_its_controls_and_highlights_the_edits(classifier):
    start = random_dna(50, 60)
    panel = DesignPanel(classifier, start)
    assert panel.target.value == "1" and panel.table is None
    panel.steps.value, panel.max_edits.value, panel.fixed.value = 3, 2, "0-4, 10"
    panel.gc.value, panel.max_homopolymer.value = (0.2, 0.8), 5
    options = panel.options()
    assert options["fixed"] == [0, 1, 2, 3, 4, 10] and options["forbidden"] == ["GAATTC", "GGATCC"]
    panel.run()
    panel.wait()
    assert panel.error_text == "" and panel.result is not None
    expected = dn.design(classifier, "1", progress=False, **options)
    assert panel.sequence == expected.designs.sequence[0] != start and panel.table.edits[0] <= 2
    edited = [i for i, (a, b) in enumerate(zip(start, panel.sequence)) if a != b]
    assert panel.designed.value.count('class="dn-edit"') == len(edited) and not set(edited) & set(options["fixed"])
    assert is_png(panel.figure.value) and "model_calls" in panel.designs_table.value

    panel.start_text.value, panel.length.value, panel.method.value = "", 40, "random"
    panel.run()
    panel.wait()
    assert panel.error_text == "" and len(panel.sequence) == 40 and panel.table.method[0] == "random"

    panel.fixed.value = "3-x"
    panel.run()
    assert "Fixed positions: '3-x' is not a position" in panel.error_text
    panel.fixed.value, panel.start_text.value = "", "GAATTC" + start
    panel.run()
    panel.wait()
    assert "already breaks the constraints: the forbidden motif GAATTC at position 0" in panel.error_text


def test_attention_mutations_and_motifs_take_a_person_s_own_sequences(classifier):
    examples = pd.DataFrame({"id": ["e1", "e2"], "sequence": [random_dna(60, 70), random_dna(60, 71)]})
    attention = AttentionExplorer(classifier, examples)
    attention.own.text.value = ">mine\n" + random_dna(80, 72)
    attention.own.use_button.click()
    assert attention.error_text == "" and list(attention.choice.options) == ["mine"]
    np.testing.assert_allclose(
        attention.result, dn.attention_scores(classifier, random_dna(80, 72), progress=False)[0], atol=1e-6
    )
    attention.own.text.value = "ACGTXACGT"
    attention.own.use_button.click()
    assert "'X' at position 5" in attention.error_text and list(attention.choice.options) == ["mine"]  # kept

    mutations = MutationExplorer(classifier, random_dna(60, 73))
    mutations.wait()
    mutations.apply(3, "A" if mutations.sequence[3] != "A" else "C")
    mutations.wait()
    mutations.own.text.value = random_dna(90, 74)
    mutations.own.use_button.click()
    mutations.wait()
    assert mutations.error_text == "" and mutations.sequence == random_dna(90, 74) and mutations.table.empty
    assert mutations.region.max == 90 and len(mutations.result) == mutations.region.value[1] - mutations.region.value[0]

    motifs = MotifBrowser(classifier, examples)
    motifs.own.upload.value = upload("peaks.fa", "".join(f">p{i}\n{random_dna(50, 80 + i)}\n" for i in range(6)))
    motifs.own.use_button.click()
    assert motifs.error_text == "" and "6 sequences to search" in motifs.message.value
    motifs.run()
    motifs.wait()
    assert motifs.error_text == "" and motifs.result is not None and len(motifs.result.scores) == 6


def test_the_model_chooser_keeps_trained_models_loads_ready_ones_saves_and_reports_beside_itself(
    classifier, encoder, tmp_path
):
    page = app(encoder, dataset="ecoli_promoters")
    chooser = page.chooser
    page.shared.model = classifier  # as the Train tab does with a model it trained
    trained = [name for name in chooser.menu.options if isinstance(name, tuple) and name[0].startswith("trained 1")]
    assert len(trained) == 1 and chooser.menu.value == trained[0][1]
    chooser.use("embedded")
    assert page.shared.model.task is None and "pre-trained encoder" in chooser.current.value
    chooser.use(trained[0][1])
    assert page.shared.model is classifier  # loading another model lost nothing
    chooser.save(str(tmp_path / "saved"))
    assert chooser.error_text == "" and "Saved to" in chooser.message.value
    assert dn.load(tmp_path / "saved").labels == classifier.labels
    page.tabs.selected_index = 3
    chooser.folder.value = str(tmp_path / "missing")
    chooser.folder_button.click()
    assert "missing" in chooser.error_text and page.training.error_text == ""  # beside the control, not in Train
