"""``litmon score [--rescore]``: a one-line summary, events consumed once, a rescore after a
profile change, and profile errors in one line naming the key (exit 2)."""

import json

import pytest
from click.testing import CliRunner

from litmon.cli import cli
from litmon.core.records import Record
from litmon.db.schema import open_db
from litmon.db.store import save_records

PROFILE = """
[topics.imaging]
query = "ms"
[topics.imaging.profile]
threshold = 6
[topics.imaging.profile.groups.disease]
cap = 4
terms = { "multiple sclerosis" = { weight = 3, variants = ["MS"] } }
[topics.imaging.profile.groups.imaging]
terms = { "QSM" = 4 }
mesh = { "Magnetic Resonance Imaging" = 1 }
[topics.imaging.profile.negative]
animal_only = -5
publication_types = { "Editorial" = -8 }
"""


def record(pmid, title, **fields):
    return Record(
        source="pubmed",
        source_id=pmid,
        pmid=pmid,
        title=title,
        authors=[f"Writer{pmid}, B."],
        pub_date="2026",
        **fields,
    )


@pytest.fixture
def litmon(tmp_path, monkeypatch):
    db_path = tmp_path / "score.db"
    monkeypatch.setenv("LITMON_DB", str(db_path))
    save_records(
        open_db(db_path),
        [
            record("1", "QSM of rim lesions in multiple sclerosis", mesh=["Humans"]),
            record("2", "QSM of the deep grey matter in healthy ageing"),
            record("3", "Cognitive rehabilitation in MS"),
        ],
    )
    config = tmp_path / "litmon.toml"
    config.write_text(PROFILE)

    def run(*args, text=None):
        if text is not None:
            config.write_text(text)
        return CliRunner().invoke(cli, ["--config", str(config), *args])

    run.db = db_path
    return run


def test_score_prints_one_line_and_a_rerun_scores_nothing_new(litmon):
    first = litmon("score")
    assert first.exit_code == 0, first.output
    assert first.output == (
        "scored 3 works; at or above threshold: imaging 1\n"
        "queue: 1 new, 0 updated, 0 withdrawn candidates\n"
    )
    again = litmon("score", "--json")
    assert again.exit_code == 0
    assert json.loads(again.output) == {
        "scored": 0,
        "dropped": 0,
        "above": {"imaging": 0},
        "model": None,  # cold start: no labels, no model
        "trained": None,
        "outdated": {},
        "queue": {"new": 0, "updated": 0, "withdrawn": 0},
    }


def test_rescore_after_a_profile_change_changes_the_profile_hash(litmon):
    litmon("score")
    before = {row[0] for row in open_db(litmon.db).execute("SELECT profile FROM work_scores")}
    lower = PROFILE.replace("threshold = 6", "threshold = 3")
    result = litmon("score", "--rescore", text=lower)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "scored 3 works; at or above threshold: imaging 3",
        "queue: 2 new, 0 updated, 0 withdrawn candidates",  # the third was queued before
    ]
    after = {row[0] for row in open_db(litmon.db).execute("SELECT profile FROM work_scores")}
    assert len(before) == len(after) == 1 and before != after


def test_scores_of_an_edited_profile_are_reported_until_rescored(litmon):
    # an edited profile (or new scoring rules after an upgrade) leaves the stored scores as
    # they were: `score`, `status` and its metrics say how many, and what to run
    litmon("score")
    edited = PROFILE.replace('"QSM" = 4', '"QSM" = 5')
    result = litmon("score", text=edited)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1] == (
        "scored with an older profile or older scoring rules: imaging 3"
        " (`litmon score --rescore` scores them again)"
    )
    status = litmon("status", "--json")
    assert json.loads(status.output)["outdated_scores"] == {"imaging": 3}
    assert "imaging 3 (`litmon score --rescore`" in litmon("status").output
    metrics = litmon("status", "--format", "prometheus").output
    assert 'litmon_outdated_scores{topic="imaging"} 3.0' in metrics
    # a profile edited back and forth to the same one is not outdated: the hash is the same
    assert "older profile" not in litmon("score", text=PROFILE).output
    litmon("score", text=edited)
    rescored = litmon("score", "--rescore", "--json")
    assert json.loads(rescored.output)["outdated"] == {}
    assert json.loads(litmon("status", "--json").output)["outdated_scores"] == {}


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (("threshold = 6", "threshold = 'high'"), "topics.imaging.profile.threshold"),
        (("threshold = 6\n", ""), "topics.imaging.profile.threshold"),
        (("cap = 4", "cap = -1"), "topics.imaging.profile.groups.disease.cap"),
        (("weight = 3", "weight = -3"), "groups.disease.terms.multiple sclerosis.weight"),
        (('variants = ["MS"]', 'variants = "MS"'), "terms.multiple sclerosis.variants"),
        (('"QSM" = 4', '"QSM" = "four"'), "topics.imaging.profile.groups.imaging.terms.QSM"),
        (("animal_only = -5", "animal_only = 5"), "topics.imaging.profile.negative.animal_only"),
        (('"Editorial" = -8', '"Editorial" = 8'), "negative.publication_types.Editorial"),
        (("[topics.imaging.profile.negative]", "[topics.imaging.profile.nagative]"), "nagative"),
        (("groups.imaging]", "groups.negative]"), "topics.imaging.profile.groups.negative"),
    ],
)
def test_a_bad_profile_is_one_line_naming_the_key_and_nothing_is_scored(litmon, change, key):
    result = litmon("score", text=PROFILE.replace(*change))
    assert result.exit_code == 2
    (line,) = result.output.splitlines()
    assert key in line and "litmon.toml" in line
    assert open_db(litmon.db).execute("SELECT count(*) FROM work_scores").fetchone()[0] == 0


def test_a_config_without_profiles_refuses_to_score(litmon):
    result = litmon("score", text='[topics.imaging]\nquery = "ms"\n')
    assert result.exit_code == 2
    assert "has a profile" in result.output


def test_an_initialized_deployment_scores_with_the_shipped_profiles(tmp_path):
    runner = CliRunner()
    assert runner.invoke(cli, ["init", str(tmp_path / "deploy")]).exit_code == 0
    config = str(tmp_path / "deploy" / "litmon.toml")
    open_db(tmp_path / "d.db")  # what its first crawl leaves: a database with nothing scored
    result = runner.invoke(cli, ["--config", config, "--db", str(tmp_path / "d.db"), "score"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        "scored 0 works; at or above threshold: ms_neuroimaging 0, ms_clinical 0"
    )


def test_a_crawl_scores_what_it_stored(tmp_path):
    """The demo crawl (the real PubMed crawl job, offline) leaves every stored work scored,
    so `litmon score` afterwards has nothing new."""
    db_path = tmp_path / "demo.db"
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", str(db_path), "demo"]).exit_code == 0
    db = open_db(db_path)
    (works,) = db.execute("SELECT count(*) FROM works WHERE merged_into IS NULL").fetchone()
    (scored,) = db.execute("SELECT count(DISTINCT work_id) FROM work_scores").fetchone()
    assert works == scored > 10
    # and the works at or above a threshold wait in the queue, best first
    listed = runner.invoke(cli, ["--db", str(db_path), "queue", "list", "--json"])
    queue = json.loads(listed.output)
    assert queue and all(candidate["state"] == "new" for candidate in queue)
    assert [c["score"] for c in queue] == sorted((c["score"] for c in queue), reverse=True)
    again = runner.invoke(cli, ["--db", str(db_path), "score", "--json"])
    assert json.loads(again.output)["scored"] == 0


def test_an_ingest_scores_and_queues_what_it_stored(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(
        "ID,title,year,abstract\n"
        "1,Quantitative susceptibility mapping of paramagnetic rim lesions in multiple"
        " sclerosis,2026,QSM at 7T in 80 people with MS.\n"
        "2,Liver iron quantification with QSM in thalassaemia,2026,Hepatic iron in 40 patients.\n"
    )
    runner = CliRunner()
    db = str(tmp_path / "ingest.db")
    result = runner.invoke(cli, ["--db", db, "ingest", "csv", str(path), "--source", "s"])
    assert result.exit_code == 0, result.output
    queue = json.loads(runner.invoke(cli, ["--db", db, "queue", "list", "--json"]).output)
    assert [candidate["work_id"] for candidate in queue] == [1]  # the MS study, not the liver
