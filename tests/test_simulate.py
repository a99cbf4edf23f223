"""Simulated screening (litmon eval simulate) and labelled CSV files, on invented records."""

import csv
import json
import random

import numpy as np
import pytest
from click.testing import CliRunner

from litmon.cli import cli
from litmon.db.schema import open_db
from litmon.imports.labelled import read_labelled_csv
from litmon.model import Doc, fit, simulate
from litmon.model.features import Corpus
from litmon.model.linear import train_weights
from litmon.model.metrics import read_until, recall_after, wss

TOPICS = {
    1: "remyelination myelin repair oligodendrocyte clemastine",
    0: "vaccine influenza antibody immunisation covid",
}
FILLER = "patients cohort outcome baseline months analysis clinical disease measured".split()


def invented_rows(relevant=8, irrelevant=72, seed=0):
    """Rows whose abstracts mix filler with two words of their label's topic; a few
    irrelevant rows borrow a relevant word, so the ranking is not trivially perfect."""
    rng = random.Random(seed)
    rows = []
    for number in range(relevant + irrelevant):
        label = 1 if number < relevant else 0
        topic = TOPICS[label].split()
        words = rng.sample(FILLER, 5) + rng.sample(topic, 2)
        if label == 0 and rng.random() < 0.1:
            words.append(rng.choice(TOPICS[1].split()))
        rows.append(
            {
                "title": " ".join(words[:3]).capitalize(),
                "abstract": " ".join(words[3:]),
                "label": str(label),
                "keywords": "; ".join(rng.sample(topic, 1)),
            }
        )
    rng.shuffle(rows)
    return rows


def write_csv(path, rows, columns=("title", "abstract", "label", "keywords")):
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def docs_labels(rows):
    docs = [Doc(r["title"], r["abstract"], tuple(r["keywords"].split("; "))) for r in rows]
    return docs, [int(r["label"]) for r in rows]


def test_a_fixed_seed_gives_the_same_simulation_twice():
    docs, labels = docs_labels(invented_rows())
    first, second = simulate(docs, labels, seed=7), simulate(docs, labels, seed=7)
    assert first.order == second.order
    assert {k: v for k, v in first.summary().items() if k != "seconds"} == {
        k: v for k, v in second.summary().items() if k != "seconds"
    }


def test_another_seed_starts_from_other_records():
    docs, labels = docs_labels(invented_rows())
    assert {simulate(docs, labels, seed=s).priors for s in range(4)} != {
        simulate(docs, labels, seed=0).priors
    }


def test_the_simulation_reads_the_relevant_records_first():
    docs, labels = docs_labels(invented_rows())
    result = simulate(docs, labels, seed=1)
    assert result.found[:2] == (1, 0)  # the priors
    assert result.read_all <= 20  # of 80, 8 relevant: random order needs about 72
    assert result.wss95 > 0.6 and result.recall_after(0.2) == 1.0


def test_words_that_teach_nothing_save_little():
    # the near-twin: the same records with labels drawn at random
    rows = invented_rows()
    docs, labels = docs_labels(rows)
    random.Random(3).shuffle(labels)
    assert simulate(docs, labels, seed=1).wss95 < 0.4


def test_the_simulation_ranks_with_the_model_fit_trains():
    # the simulation counts the texts once; what it ranks by must be what fit() learns
    docs, labels = docs_labels(invented_rows())
    rows = [0, 2, 3, 5, 6, 8, 13, 21, 34]
    model = fit([docs[i] for i in rows], [labels[i] for i in rows])
    corpus = Corpus(docs, model.config["tag_scale"])
    for row in rows:
        corpus.label(row)
    weights, intercept = train_weights(
        corpus.training(), np.array([labels[i] for i in rows]), seed=0, config=model.config
    )
    assert np.allclose(corpus.scores(weights, intercept), model.decision(docs))


def test_wss_and_recall_follow_their_definitions():
    found = [1, 0, 0, 1, 0, 0, 0, 0, 0, 1]  # 3 relevant of 10, the last one read last
    assert read_until(found, 0.95) == 10 and read_until(found, 0.5) == 4
    assert wss(found, 0.95, 10) == pytest.approx(-0.05)
    assert wss([1, 1, 1, 0, 0, 0, 0, 0, 0, 0], 1.0, 10) == pytest.approx(0.7)
    assert recall_after(found, 0.2, 10, 3) == pytest.approx(1 / 3)


def test_eval_simulate_prints_its_figures(tmp_path):
    path = write_csv(tmp_path / "set.csv", invented_rows())
    result = CliRunner().invoke(cli, ["eval", "simulate", str(path), "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert "80 records, 8 relevant" in result.output
    assert "WSS@95" in result.output and "WSS@100" in result.output


def test_eval_simulate_json_is_one_object_with_the_documented_keys(tmp_path):
    path = write_csv(tmp_path / "set.csv", invented_rows())
    result = CliRunner().invoke(cli, ["eval", "simulate", str(path), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert set(figures) == {
        "wss95",
        "wss100",
        "recall_10",
        "recall_20",
        "read_95",
        "read_all",
        "n",
        "positives",
        "seconds",
    }
    assert figures["n"] == 80 and figures["positives"] == 8
    assert figures["wss95"] == pytest.approx(0.95 - figures["read_95"] / 80, abs=1e-4)


def test_eval_simulate_plot_writes_a_png(tmp_path):
    path = write_csv(tmp_path / "set.csv", invented_rows())
    plot = tmp_path / "curve.png"
    result = CliRunner().invoke(cli, ["eval", "simulate", str(path), "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_csv_without_a_label_column_is_refused_in_one_line(tmp_path):
    path = write_csv(tmp_path / "set.csv", invented_rows(), columns=("title", "abstract"))
    result = CliRunner().invoke(cli, ["eval", "simulate", str(path)])
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"litmon: {path}: line 1: no 'label' column (columns: title, abstract)"
    )


def test_a_label_that_is_not_0_or_1_is_refused_naming_its_line(tmp_path):
    rows = invented_rows()
    rows[0]["abstract"] = "first line\nsecond line"  # a quoted cell over two lines
    rows[2]["label"] = "yes"
    path = write_csv(tmp_path / "set.csv", rows)
    result = CliRunner().invoke(cli, ["eval", "simulate", str(path)])
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"litmon: {path}: line 5: column 'label' must be 1 or 0, not 'yes'"
    )


def test_a_file_with_one_kind_of_label_cannot_be_simulated(tmp_path):
    path = write_csv(tmp_path / "set.csv", invented_rows(relevant=0, irrelevant=10))
    result = CliRunner().invoke(cli, ["eval", "simulate", str(path)])
    assert result.exit_code == 1
    assert "at least one relevant (1) and one irrelevant (0)" in result.output


def test_labelled_rows_keep_their_optional_columns(tmp_path):
    path = tmp_path / "set.csv"
    path.write_text(
        "Title,Abstract,Label,Keywords,Journal,Year,DOI,PMID,notes\n"
        "Clemastine for remyelination,Text,1,myelin; repair ;,Lancet,2017,"
        "https://doi.org/10.1016/S0140-6736(17)32346-2,29029896,ignored\n"
        "Influenza vaccine,,0,,,,not a doi,n/a,\n",
        encoding="utf-8",
    )
    first, second = read_labelled_csv(path)
    assert first.keywords == ("myelin", "repair") and first.journal == "Lancet"
    assert (first.year, first.doi, first.pmid, first.line) == (
        2017,
        "10.1016/s0140-6736(17)32346-2",
        "29029896",
        2,
    )
    assert (second.label, second.abstract, second.year, second.doi, second.pmid) == (
        0,
        "",
        None,
        None,
        None,
    )


def test_eval_cross_validate_ranks_the_databases_own_labels(tmp_path):
    rows = invented_rows(relevant=12, irrelevant=40)
    for number, row in enumerate(rows):
        row["pmid"] = str(1000 + number)  # each row its own work
    path = write_csv(tmp_path / "labels.csv", rows, ("title", "abstract", "label", "pmid"))
    db = str(tmp_path / "labels.db")
    open_db(db)  # a deployment's database, before any label
    runner = CliRunner()
    imported = runner.invoke(
        cli, ["--db", db, "model", "labels", "import", str(path), "--source", "set"]
    )
    assert imported.exit_code == 0, imported.output
    result = runner.invoke(cli, ["--db", db, "eval", "cross-validate", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert (figures["relevant"], figures["irrelevant"], figures["folds"]) == (12, 40, 5)
    assert figures["auc"] > 0.9


def test_eval_cross_validate_without_labels_has_nothing_to_do(tmp_path):
    open_db(tmp_path / "empty.db")
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "empty.db"), "eval", "cross-validate"])
    assert result.exit_code == 3
    assert "too few labels to cross-validate: 0 relevant and 0 not relevant" in result.output
