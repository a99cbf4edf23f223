"""The queue learns from the editors: their decisions become labels (an undo takes one
back, a duplicate teaches nothing), a model trained on them ranks the queue beside the
profile and lets in works under the threshold, imported labels train it without ever
queueing their works, and a stored model is data that nothing runs.

Invented papers in two families the profile cannot tell apart (each title names MS and
MRI, so each scores the same): myelin repair, and hospital costs."""

import gc
import json
import os
import pickle

import pytest
from click.testing import CliRunner

from litmon.cli import cli
from litmon.core.records import Record
from litmon.db.models import prune
from litmon.db.schema import open_db
from litmon.db.store import save_records

CONFIG = """
[topics.imaging]
query = "ms"
[topics.imaging.profile]
threshold = 6
[topics.imaging.profile.groups.disease]
terms = { "multiple sclerosis" = 3 }
[topics.imaging.profile.groups.imaging]
terms = { "MRI" = 4 }
[model]
min_labels = 4
retrain_after = 1
"""

PLACES = ["cortical", "spinal", "periventricular", "brainstem", "cerebellar", "thalamic",
          "juxtacortical", "callosal"]  # fmt: skip


def repair(pmid: str, place: str, mri: bool = True) -> Record:
    scan = "MRI of " if mri else ""
    return Record(
        source="pubmed",
        source_id=pmid,
        pmid=pmid,
        title=f"{scan}remyelination of {place} lesions in multiple sclerosis",
        abstract=f"Myelin repair by oligodendrocyte precursors in {place} lesions: remyelination"
        " and axonal recovery followed over two years.",
        authors=[f"Repairer{pmid}, A."],
        pub_date="2026",
    )


def costs(pmid: str, place: str, mri: bool = True) -> Record:
    scan = "MRI " if mri else ""
    return Record(
        source="pubmed",
        source_id=pmid,
        pmid=pmid,
        title=f"Hospital costs of {place} {scan}follow-up in multiple sclerosis",
        abstract=f"Billing records, insurance claims and reimbursement of {place} follow-up"
        " visits: spending per patient and year.",
        authors=[f"Accountant{pmid}, B."],
        pub_date="2026",
    )


@pytest.fixture
def litmon(tmp_path, monkeypatch):
    """The CLI over a fresh database with 8 repair and 8 cost papers stored and scored:
    16 candidates the profile ties."""
    db_path = tmp_path / "learn.db"
    monkeypatch.setenv("LITMON_DB", str(db_path))
    config = tmp_path / "litmon.toml"
    config.write_text(CONFIG)

    def run(*args, code=0):
        result = CliRunner().invoke(cli, ["--config", str(config), *args])
        assert result.exit_code == code, result.output
        return result

    papers = [repair(str(100 + i), p) for i, p in enumerate(PLACES)]
    papers += [costs(str(200 + i), p) for i, p in enumerate(PLACES)]
    save_records(open_db(db_path), papers)
    run("score")
    run.db_path = db_path
    run.tmp = tmp_path
    return run


def queue(run, *args) -> list[dict]:
    return json.loads(run("queue", "list", "--json", *args).output)


def by_pmid(run, *args) -> dict[str, dict]:
    return {item["pmid"]: item for item in queue(run, *args)}


def decide(run, pmids, action, *extra):
    ids = [str(by_pmid(run)[pmid]["id"]) for pmid in pmids]
    run("review", *ids, action, *extra)


def status(run) -> dict:
    return json.loads(run("model", "status", "--json").output)


def teach(run, approve: list[str], reject: list[str]):
    """The editors approve one family and reject the other as off-topic; a scoring run."""
    decide(run, approve, "approve")
    decide(run, reject, "reject", "--reason", "off-topic")
    run("score")


REPAIR = [str(100 + i) for i in range(8)]
COSTS = [str(200 + i) for i in range(8)]


def test_cold_start_the_profile_alone_ranks_and_ties(litmon):
    items = queue(litmon)
    assert len(items) == 16
    assert {item["score"] for item in items} == {7.0}
    assert all(item["model_score"] is None for item in items)
    assert status(litmon)["active"] is None


@pytest.mark.parametrize("approved", ["repair", "costs"])
def test_decisions_rank_the_rest_of_the_queue_their_way(litmon, approved):
    liked, disliked = (REPAIR, COSTS) if approved == "repair" else (COSTS, REPAIR)
    teach(litmon, approve=liked[:4], reject=disliked[:4])
    found = status(litmon)
    assert found["active"]["relevant"] == 4 and found["active"]["irrelevant"] == 4
    waiting = queue(litmon, "--state", "new")
    order = [item["pmid"] for item in waiting]
    # every undecided paper of the approved family above every one of the other
    assert set(order[:4]) == set(liked[4:]) and set(order[4:]) == set(disliked[4:])
    assert all(item["model_score"] > 0.5 for item in waiting[:4])
    assert all(item["model_score"] < 0.5 for item in waiting[4:])
    # the profile tie is broken: a rank score of its own for each
    assert len({item["score"] for item in waiting}) > 1


def test_a_decision_moves_its_kind_up_and_its_undo_takes_it_back(litmon):
    teach(litmon, approve=REPAIR[:4], reject=COSTS[:4])
    before = by_pmid(litmon)["207"]["model_score"]
    decide(litmon, ["204", "205"], "approve")  # the editors now want some cost papers
    litmon("score")
    after = by_pmid(litmon)["207"]["model_score"]
    assert after > before
    for pmid in ("204", "205"):
        litmon("review", str(by_pmid(litmon)[pmid]["id"]), "undo")
    litmon("score")
    assert by_pmid(litmon)["207"]["model_score"] == before  # seeded: the same labels, the same
    assert status(litmon)["labels"] == {"relevant": 4, "irrelevant": 4}


def test_a_duplicate_teaches_nothing_an_off_topic_rejection_does(litmon):
    teach(litmon, approve=REPAIR[:4], reject=COSTS[:4])
    trained = status(litmon)
    decide(litmon, ["104"], "reject", "--reason", "duplicate")
    litmon("score")
    after = status(litmon)
    assert after["labels"] == trained["labels"]
    assert after["active"]["id"] == trained["active"]["id"]  # nothing new to learn
    decide(litmon, ["105"], "reject", "--reason", "off-topic")  # the near-twin: a judgement
    litmon("score")
    judged = status(litmon)
    assert judged["labels"] == {"relevant": 4, "irrelevant": 5}
    assert judged["active"]["id"] > trained["active"]["id"]


def test_a_deferral_teaches_nothing(litmon):
    teach(litmon, approve=REPAIR[:4], reject=COSTS[:4])
    decide(litmon, ["104"], "defer", "--until", "2099-01-01")
    assert status(litmon)["labels"] == {"relevant": 4, "irrelevant": 4}


def test_a_work_under_the_threshold_the_model_rates_relevant_is_queued_and_marked(litmon):
    # neither title names MRI: both score 3, under the threshold of 6
    save_records(open_db(litmon.db_path), [repair("300", "optic", mri=False),
                                           costs("301", "optic", mri=False)])  # fmt: skip
    litmon("score")
    assert {"300", "301"}.isdisjoint(by_pmid(litmon))  # cold start: the profile alone
    teach(litmon, approve=REPAIR[:4], reject=COSTS[:4])
    queued = by_pmid(litmon)
    assert "301" not in queued  # the near-twin the model rates irrelevant stays out
    let_in = queued["300"]
    assert let_in["let_in_by_model"] is True and let_in["model_score"] >= 0.5
    assert all(not item["let_in_by_model"] for pmid, item in queued.items() if pmid != "300")
    shown = litmon("queue", "list", "--state", "new", "--explain", "-n", "50").output
    assert "let in by the model" in shown
    # and says why: the words that moved the model up, from the same scoring pass
    explained = {i["pmid"]: i for i in queue(litmon, "--state", "new", "--explain")}
    assert any(c["weight"] > 0 for c in explained["300"]["model_explanation"])


def test_the_uncertain_order_puts_the_least_sure_first(litmon):
    teach(litmon, approve=REPAIR[:4], reject=COSTS[:4])
    items = queue(litmon, "--state", "new", "--order", "uncertain")
    doubts = [abs(item["model_score"] - 0.5) for item in items]
    assert doubts == sorted(doubts) and len(items) == 8
    # paged through the same order
    first = litmon("queue", "list", "--state", "new", "--order", "uncertain", "-n", "3").output
    marker = first.rsplit("--after ", 1)[1].strip()
    rest = queue(litmon, "--state", "new", "--order", "uncertain", "--after", marker)
    assert [i["id"] for i in rest] == [i["id"] for i in items[3:]]


def test_explanations_name_the_terms_that_moved_the_model(litmon):
    teach(litmon, approve=REPAIR[:4], reject=COSTS[:4])
    item = by_pmid(litmon)["106"]
    explained = queue(litmon, "--state", "new", "--explain")
    why = next(i for i in explained if i["pmid"] == "106")["model_explanation"]
    ups = {c["term"] for c in why if c["weight"] > 0}
    assert ups & {"remyelination", "repair", "myelin", "oligodendrocyte"}
    shown = litmon("queue", "show", str(item["id"])).output
    assert "model:" in shown and "remyelination" in shown.split("model:", 1)[1]
    packet = json.loads(litmon("queue", "show", str(item["id"]), "--json").output)
    assert packet["model_explanation"] == why


def test_export_works_gives_each_works_probability_or_null(litmon):
    lines = litmon("export", "works").output.splitlines()
    assert {json.loads(line)["model_score"] for line in lines} == {None}
    teach(litmon, approve=REPAIR[:4], reject=COSTS[:4])
    scores = {
        json.loads(line)["pmid"]: json.loads(line)["model_score"]
        for line in litmon("export", "works").output.splitlines()
    }
    assert scores["107"] > 0.5 > scores["207"]


LABELS = "title,abstract,label,keywords,journal,pmid,extra\n" + "".join(
    f'"{r.title}","{r.abstract}",{label},Myelin;Humans,Brain Journal,{r.pmid},ignored\n'
    for r, label in [
        *((repair(str(400 + i), place), 1) for i, place in enumerate(PLACES[:5])),
        *((costs(str(500 + i), place), 0) for i, place in enumerate(PLACES[:5])),
    ]
)


def test_imported_labels_train_the_model_and_their_works_never_reach_the_queue(litmon):
    path = litmon.tmp / "labels.csv"
    path.write_text(LABELS)
    out = litmon("model", "labels", "import", str(path), "--source", "other-service").output
    assert "10 rows (5 relevant, 5 not)" in out
    found = status(litmon)
    assert found["active"]["relevant"] == 5 and found["active"]["irrelevant"] == 5
    queued = by_pmid(litmon)
    # each labels-only work scores 7 on the profile and high on the model: still not queued
    assert {str(n) for n in range(400, 405)}.isdisjoint(queued)
    assert queued["107"]["model_score"] > 0.5 > queued["207"]["model_score"]
    litmon("review", str(queued["107"]["id"]), "approve")
    claimed = json.loads(litmon("queue", "claim", "--worker", "w", "--json").output)
    assert claimed["work"]["pmid"] == "107"
    assert claimed["model"]["probability"] > 0.5  # the packet carries the model's view
    assert {"kind", "term", "weight"} <= claimed["model"]["explanation"][0].keys()
    litmon("queue", "claim", "--worker", "w", code=3)  # nothing from the labels file
    # again: nothing new; the near-twin: the same paper crawled from PubMed enters the queue
    again = litmon("model", "labels", "import", str(path), "--source", "other-service").output
    assert "0 labels new or changed" in again
    save_records(open_db(litmon.db_path), [repair("400", PLACES[0])])
    litmon("score", "--rescore")
    assert "400" in by_pmid(litmon)


def test_a_broken_labels_file_names_the_line_and_stores_nothing(litmon):
    path = litmon.tmp / "labels.csv"
    path.write_text("title,abstract,label\nA paper,An abstract,1\nAnother,Text,maybe\n")
    result = litmon("model", "labels", "import", str(path), "--source", "x", code=1)
    assert "line 3" in result.output and "label" in result.output
    assert status(litmon)["labels"] == {"relevant": 0, "irrelevant": 0}


def test_training_is_deterministic_and_rollback_returns_to_the_version_before(litmon):
    decide(litmon, REPAIR[:4], "approve")
    decide(litmon, COSTS[:4], "reject", "--reason", "low-quality")
    first = json.loads(litmon("model", "train", "--json").output)
    second = json.loads(litmon("model", "train", "--json").output)
    db = open_db(litmon.db_path)
    data = [row[0] for row in db.execute("SELECT data FROM model_versions ORDER BY id")]
    assert data[0] == data[1] and second["id"] == first["id"] + 1
    assert 0 <= first["auc"] <= 1
    out = litmon("model", "rollback").output
    assert f"model version {first['id']}" in out
    assert status(litmon)["active"]["id"] == first["id"]
    litmon("model", "rollback", code=3)


def keep_versions(run, keep: int) -> None:
    """The fixture's config with ``[model] keep_versions`` (its last table) set."""
    (run.tmp / "litmon.toml").write_text(CONFIG + f"keep_versions = {keep}\n")


def train_times(run, times: int) -> list[int]:
    decide(run, REPAIR[:4], "approve")
    decide(run, COSTS[:4], "reject", "--reason", "off-topic")
    return [json.loads(run("model", "train", "--json").output)["id"] for _ in range(times)]


def stored_data(run) -> dict[int, tuple[str, str]]:
    db = open_db(run.db_path)
    rows = db.execute("SELECT id, data, labels FROM model_versions").fetchall()
    db.close()
    return {model_id: (data, labels) for model_id, data, labels in rows}


def test_only_the_newest_keep_versions_keep_their_model_and_status_lists_them_all(litmon):
    keep_versions(litmon, 2)
    ids = train_times(litmon, 4)
    found = status(litmon)
    assert [v["id"] for v in found["versions"]] == ids[::-1]
    assert [v["pruned"] for v in found["versions"]] == [False, False, True, True]
    stored = stored_data(litmon)
    assert [stored[i] for i in ids[:2]] == [("", "{}")] * 2
    assert all(json.loads(stored[i][0])["format"] for i in ids[2:])
    # the figures of a pruned version stay, and the newest still knows what it learnt
    assert all(v["relevant"] == 4 and v["irrelevant"] == 4 for v in found["versions"])
    assert found["new_labels"] == 0 and found["keep_versions"] == 2
    decide(litmon, COSTS[4:5], "reject", "--reason", "off-topic")
    assert status(litmon)["new_labels"] == 1
    text = litmon("model", "status").output
    assert text.count("pruned") == 2 and f"model version {ids[0]}," in text


def test_rollback_skips_the_versions_whose_model_was_pruned(litmon):
    keep_versions(litmon, 2)
    ids = train_times(litmon, 3)
    assert f"model version {ids[1]}," in litmon("model", "rollback").output
    # the version before it was pruned: nothing to go back to, and nothing changed
    result = litmon("model", "rollback", code=3)
    assert "no earlier model version" in result.output
    assert status(litmon)["active"]["id"] == ids[1]
    litmon("score")


def test_the_version_a_rollback_put_in_use_keeps_its_model_through_the_next_training(litmon):
    keep_versions(litmon, 2)
    ids = train_times(litmon, 3)
    litmon("model", "rollback")
    newest = json.loads(litmon("model", "train", "--json").output)["id"]
    # the newest two, and the one in use when it was trained (third newest, beyond 2)
    pruned = {v["id"]: v["pruned"] for v in status(litmon)["versions"]}
    assert pruned == {newest: False, ids[2]: False, ids[1]: False, ids[0]: True}
    litmon("model", "rollback")
    assert f"model version {ids[1]}," in litmon("model", "rollback").output
    litmon("score")
    # it is kept through one training only: the next one replaces a version nobody
    # rolled back to, and only the newest two keep their model
    litmon("model", "train")
    litmon("model", "train")
    assert [v["pruned"] for v in status(litmon)["versions"]] == [False, False] + [True] * 4


def test_pruning_never_drops_the_model_in_use(litmon):
    """Pruning to the newest version alone, with an older one in use after two rollbacks:
    the one in use keeps its model, and scoring runs on it."""
    ids = train_times(litmon, 3)
    litmon("model", "rollback")
    litmon("model", "rollback")
    db = open_db(litmon.db_path)
    with db.conn:
        assert prune(db.conn, 1) == 1
    db.close()
    assert {v["id"]: v["pruned"] for v in status(litmon)["versions"]} == {
        ids[2]: False, ids[1]: True, ids[0]: False
    }  # fmt: skip
    assert status(litmon)["active"]["id"] == ids[0]
    litmon("score")


def test_too_few_labels_train_nothing(litmon):
    decide(litmon, REPAIR[:4], "approve")
    result = litmon("model", "train", code=3)
    assert "4 relevant and 0 not relevant" in result.output


def test_a_stored_model_is_data_nothing_runs(litmon):
    """A crafted row (a pickle whose loading would run a command) is refused in one line
    naming its version; opening the database, listing the queue run nothing of it."""
    marker = litmon.tmp / "ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    teach(litmon, approve=REPAIR[:4], reject=COSTS[:4])
    db = open_db(litmon.db_path)
    with db.conn:
        db.execute(
            "UPDATE model_versions SET data = ? WHERE active = 1", (pickle.dumps(Payload()),)
        )
    db.close()
    open_db(litmon.db_path).close()
    queue(litmon)
    result = litmon("score", code=2)
    assert result.output.count("\n") == 1 and "model version" in result.output
    assert "not plain JSON model data" in result.output
    assert not marker.exists()
    # scoring pauses the cycle collector while it runs: a failed run turns it back on
    assert gc.isenabled()
    # JSON of the wrong shape: refused as well, naming what is wrong
    db = open_db(litmon.db_path)
    with db.conn:
        db.execute("UPDATE model_versions SET data = ? WHERE active = 1", ('{"format": "x"}',))
    result = litmon("score", code=2)
    assert result.output.count("\n") == 1 and "format" in result.output
    # a rollback or a training gets the queue going again
    litmon("model", "train")
    litmon("score")


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ('irrelevant_reasons = ["boring"]', "model.irrelevant_reasons"),
        ("min_labels = 0", "model.min_labels"),
        ("let_in = 1.5", "model.let_in"),
        ("retrain = 3", "model.retrain"),
        ("keep_versions = 0", "model.keep_versions"),
        ('keep_versions = "x"', "model.keep_versions"),
    ],
)
def test_a_bad_model_setting_is_one_line_naming_the_key(tmp_path, line, named):
    config = tmp_path / "litmon.toml"
    config.write_text(CONFIG.split("[model]")[0] + f"[model]\n{line}\n")
    result = CliRunner().invoke(cli, ["--config", str(config), "model", "status"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and named in result.output


def test_the_candidate_page_shows_what_moved_the_model_and_the_queue_orders_by_doubt(litmon):
    """Real HTTP: the queue page in the model's least-sure order, and a candidate page with
    the model's probability and the terms that moved it up and down."""
    import re

    import requests
    from web_server import serving

    from litmon.web import auth
    from litmon.web.app import create_app

    mixed = repair("310", "hippocampal")  # half of each family: the model is least sure
    mixed.abstract += " " + costs("311", "hippocampal").abstract
    save_records(open_db(litmon.db_path), [mixed])
    teach(litmon, approve=REPAIR[:4], reject=COSTS[:4])
    auth.add_user(open_db(litmon.db_path), "maria", "a long enough password")
    item = by_pmid(litmon)["106"]
    doubt = [i["id"] for i in queue(litmon, "--state", "new", "--order", "uncertain")]
    rank = [i["id"] for i in queue(litmon, "--state", "new")]
    with serving(create_app(litmon.db_path)) as url:
        browser = requests.Session()
        browser.post(
            f"{url}/login",
            data={"name": "maria", "password": "a long enough password", "next": "/"},
        )
        page = browser.get(f"{url}/candidates/{item['id']}").text
        model = page.split('id="model-title"', 1)[1]
        assert f"{item['model_score']:.2f}" in model.split("</h3>", 1)[0]
        up = model.split('class="model-up"', 1)[1].split("</p>", 1)[0]
        assert "remyelination" in up or "repair" in up or "myelin" in up
        listed = browser.get(f"{url}/", params={"order": "uncertain"}).text
        ids = [int(i) for i in re.findall(r'<li class="row[^"]*" data-id="(\d+)"', listed)]
        assert ids == doubt and ids != rank


def test_a_decision_on_merged_candidates_counts_once(litmon):
    decide(litmon, REPAIR[:2], "approve")
    assert status(litmon)["labels"]["relevant"] == 2
    works = {pmid: item["work_id"] for pmid, item in by_pmid(litmon).items()}
    litmon("dupes", "merge", str(works[REPAIR[0]]), str(works[REPAIR[1]]))
    litmon("queue", "list")  # the queue follows the merge
    assert status(litmon)["labels"]["relevant"] == 1


def test_training_without_a_profile_to_rank_by_changes_nothing(litmon, tmp_path):
    decide(litmon, REPAIR[:4], "approve")
    decide(litmon, COSTS[:4], "reject", "--reason", "off-topic")
    bare = tmp_path / "bare.toml"
    bare.write_text('[topics.imaging]\nquery = "ms"\n')
    result = CliRunner().invoke(cli, ["--config", str(bare), "model", "train"])
    assert result.exit_code == 2 and "has a profile" in result.output
    assert status(litmon)["versions"] == []
