"""`litmon summarize`, the summarizer worker, against a fake OpenAI-compatible server on
loopback (tests/llm_server.py) and a real database: drafts that pass the guards are handed
in, drafts that fail go back to the model once with the failed checks and then fail the
candidate, malformed answers, 429 with Retry-After, 5xx and timeouts (waits measured at
the client), the lease kept alive under a slow model, what the prompt carries, where the
API key goes (the Authorization header, nowhere else), the HTTP API path against a served
app, and a worker process stopped by SIGTERM."""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import openai
import pytest
from click.testing import CliRunner
from llm_server import FakeLLM, Reply
from web_server import serving

from litmon import review
from litmon.cli import cli
from litmon.core.records import Record
from litmon.db.schema import open_db
from litmon.db.store import save_records
from litmon.review.guards import GuardSettings
from litmon.settings import load_config
from litmon.summarize import (
    ChatModel,
    HttpHandOff,
    LocalHandOff,
    PromptError,
    SummarizerSettings,
    Worker,
    compile_prompt,
    render_prompt,
)
from litmon.web import auth
from litmon.web.app import create_app

KEY = "sk-test-Zq9vW3xY7kL2mN5pR8tU"  # an invented key: it must reach the header only
NOTE = "lead with what the scans showed"

MS_ABSTRACT = (
    "BACKGROUND: Paramagnetic rim lesions mark inflammation that lingers in multiple"
    " sclerosis.\n"
    "METHODS: We scanned 120 people with relapsing multiple sclerosis on 7 T MRI and followed"
    " them for 2 years.\n"
    "RESULTS: People with 4 or more rim lesions had faster disability worsening.\n"
    "CONCLUSIONS: Rim lesions may help predict who gets worse."
)
AD_ABSTRACT = (
    "BACKGROUND: Iron and inflammation both rise in Alzheimer's disease.\n"
    "METHODS: We scanned 80 people across the Alzheimer's spectrum with quantitative"
    " susceptibility mapping and measured blood markers of inflammation.\n"
    "RESULTS: Brain iron tracked the inflammation markers, not only amyloid.\n"
    "CONCLUSIONS: QSM may show brain changes linked to inflammation."
)

GOOD_MS = dict(
    finding="People with MS who had more iron rim lesions on brain scans got worse faster.",
    what_was_done=(
        "Researchers scanned 120 people with relapsing MS using a strong 7 T MRI and followed"
        " them for 2 years. Those with 4 or more rim lesions got worse faster."
    ),
    why_it_matters="Rim lesions might help doctors see early who is likely to get worse.",
    limits="This was one group of people. Most clinics do not have this kind of scan yet.",
)
WRONG_NUMBER = GOOD_MS | {
    "what_was_done": GOOD_MS["what_was_done"].replace("120 people", "150 people")
}
AD_NO_CAVEAT = dict(
    finding="A special MRI may show brain changes linked to inflammation, not only plaques.",
    what_was_done=(
        "Researchers scanned 80 people with a kind of MRI called QSM and checked their blood"
        " for signs of inflammation."
    ),
    why_it_matters="Inflammation also matters in MS, so this kind of scan may be useful later.",
    limits="This was a small study at one point in time, so the link needs more checking.",
)
AD_WITH_CAVEAT = AD_NO_CAVEAT | {
    "limits": (
        "This study was done in people with Alzheimer's disease, not in people with MS, so we"
        " cannot assume the scan works the same way in MS."
    )
}


def add_study(db, pmid: str, title: str, abstract: str, mesh: list[str], note: str = NOTE) -> int:
    """One approved candidate from an invented PubMed record; its candidate id."""
    save_records(
        db,
        [
            Record(
                source="pubmed",
                source_id=pmid,
                pmid=pmid,
                title=title,
                abstract=abstract,
                authors=["Rim, A"],
                journal="Multiple Sclerosis Journal",
                pub_date="2026-10",
                publication_types=["Journal Article", "Observational Study"],
                mesh=mesh,
            )
        ],
    )
    work_id = db.execute("SELECT id FROM works WHERE pmid = ?", (pmid,)).fetchone()[0]
    candidate_id = review.enqueue(db, work_id, [("ms_imaging", 9.0)])
    review.decide(db, [str(candidate_id)], "approve", by="maria", note=note)
    return candidate_id


def ms_study(db) -> int:
    return add_study(
        db, "41000001",
        "Paramagnetic rim lesions on 7 T MRI predict disability in relapsing multiple sclerosis",
        MS_ABSTRACT, ["Humans", "Multiple Sclerosis, Relapsing-Remitting", "Iron"],
    )  # fmt: skip


def ad_study(db) -> int:
    return add_study(
        db, "41000002",
        "Quantitative susceptibility mapping links brain iron to inflammation in Alzheimer's"
        " disease",
        AD_ABSTRACT, ["Humans", "Alzheimer Disease", "Magnetic Resonance Imaging"],
    )  # fmt: skip


def settings_for(fake: FakeLLM, **overrides) -> SummarizerSettings:
    shipped = load_config(env={}).summarizer
    values = dict(base_url=fake.url, model="fake-model", timeout=5.0, max_retries=2)
    return replace(shipped, **values | overrides)


class SendTimes:
    """The client's own clock: when each request to the model left (an httpx event hook on
    the HTTP client the openai client sends with)."""

    def __init__(self) -> None:
        self.sent: list[float] = []
        self.client = openai.DefaultHttpxClient(
            event_hooks={"request": [lambda request: self.sent.append(time.monotonic())]}
        )

    def gaps(self) -> list[float]:
        return [later - earlier for earlier, later in zip(self.sent, self.sent[1:], strict=False)]


def make_worker(db, fake, *, lease=60.0, times: SendTimes | None = None, **overrides) -> Worker:
    settings = settings_for(fake, **overrides)
    model = ChatModel(settings, KEY, http_client=times.client if times else None)
    return Worker(
        LocalHandOff(db, guards=GuardSettings()),
        model,
        compile_prompt(settings.prompt, settings.prompt_source),
        settings,
        GuardSettings(),
        name="summarizer-test",
        lease_seconds=lease,
    )


def state_of(db, candidate_id: int) -> str:
    return db.execute("SELECT state FROM candidates WHERE id = ?", (candidate_id,)).fetchone()[0]


def stored_drafts(db, candidate_id: int) -> list[dict]:
    rows = db.execute(
        "SELECT finding, what_was_done, why_it_matters, limits FROM drafts"
        " WHERE candidate_id = ? ORDER BY version",
        (candidate_id,),
    ).fetchall()
    return [
        dict(zip(("finding", "what_was_done", "why_it_matters", "limits"), r, strict=True))
        for r in rows
    ]


def last_reason(db, candidate_id: int) -> str:
    return db.execute(
        "SELECT reason FROM candidate_audit WHERE candidate_id = ? ORDER BY id DESC LIMIT 1",
        (candidate_id,),
    ).fetchone()[0]


# -- drafts and the guards ----------------------------------------------------------------


def test_a_good_draft_is_handed_in_and_awaits_review(db):
    candidate = ms_study(db)
    with FakeLLM(Reply.draft(**GOOD_MS)).running() as fake:
        outcome = make_worker(db, fake).work_one()
    assert outcome.state == "summarized" and outcome.model_calls == 1
    assert state_of(db, candidate) == "summarized"
    assert stored_drafts(db, candidate) == [GOOD_MS]
    (request,) = fake.completions
    assert request.body["response_format"] == {"type": "json_object"}
    assert request.body["model"] == "fake-model"


def test_a_number_the_abstract_lacks_is_sent_back_once_then_fails_the_candidate(db):
    candidate = ms_study(db)
    with FakeLLM(Reply.draft(**WRONG_NUMBER), Reply.draft(**WRONG_NUMBER)).running() as fake:
        outcome = make_worker(db, fake).work_one()
    assert outcome.state == "failed"
    first, second = fake.completions
    re_prompt = second.body["messages"][-1]["content"]
    assert "numbers" in re_prompt and "150" in re_prompt
    assert "120" not in re_prompt.split("checks:")[1]  # only the failed check is listed
    # the model sees its own draft before the list of what failed in it
    assert second.body["messages"][-2] == {"role": "assistant", "content": json.dumps(WRONG_NUMBER)}
    assert state_of(db, candidate) == "approved"  # back in the queue for another attempt
    assert "failed the guards twice" in outcome.reason and "150" in last_reason(db, candidate)
    assert stored_drafts(db, candidate) == []  # never stored as a draft


def test_a_fixed_draft_after_the_re_prompt_is_handed_in(db):
    candidate = ms_study(db)
    with FakeLLM(Reply.draft(**WRONG_NUMBER), Reply.draft(**GOOD_MS)).running() as fake:
        outcome = make_worker(db, fake).work_one()
    assert outcome.state == "summarized" and outcome.model_calls == 2
    assert stored_drafts(db, candidate) == [GOOD_MS]


def test_a_study_in_alzheimers_disease_needs_the_population_caveat(db):
    ad, ms = ad_study(db), ms_study(db)
    # the same caveat-free limits: refused for the Alzheimer's study, fine for the MS one
    ms_without = GOOD_MS | {"limits": AD_NO_CAVEAT["limits"]}
    replies = [
        Reply.draft(**AD_NO_CAVEAT),
        Reply.draft(**AD_WITH_CAVEAT),
        Reply.draft(**ms_without),
    ]
    with FakeLLM(*replies).running() as fake:
        worker = make_worker(db, fake)
        outcomes = {
            outcome.candidate_id: outcome for outcome in (worker.work_one(), worker.work_one())
        }
    assert outcomes[ad].model_calls == 2 and outcomes[ms].model_calls == 1
    re_prompt = fake.completions[1].body["messages"][-1]["content"]
    assert "population_caveat" in re_prompt and "Alzheimer Disease" in re_prompt
    assert stored_drafts(db, ad) == [AD_WITH_CAVEAT]
    assert stored_drafts(db, ms) == [ms_without]


def test_without_the_caveat_twice_the_candidate_fails_with_the_check_named(db):
    candidate = ad_study(db)
    with FakeLLM(Reply.draft(**AD_NO_CAVEAT), Reply.draft(**AD_NO_CAVEAT)).running() as fake:
        outcome = make_worker(db, fake).work_one()
    assert outcome.state == "failed"
    assert "population_caveat" in last_reason(db, candidate)
    assert stored_drafts(db, candidate) == []


def test_malformed_json_is_asked_again_once(db):
    candidate = ms_study(db)
    chatty = "Sure! Here is the summary you asked for: people with MS did worse."
    with FakeLLM(Reply(chatty), Reply.draft(**GOOD_MS)).running() as fake:
        outcome = make_worker(db, fake).work_one()
    assert outcome.state == "summarized"
    retry = fake.completions[1].body["messages"]
    assert retry[-2] == {"role": "assistant", "content": chatty}
    assert "not the JSON object asked for" in retry[-1]["content"]
    assert stored_drafts(db, candidate) == [GOOD_MS]


def test_malformed_json_twice_fails_the_candidate_with_a_reason(db):
    candidate = ms_study(db)
    with FakeLLM(Reply("[1, 2]"), Reply("{not json")).running() as fake:
        outcome = make_worker(db, fake).work_one()
    assert outcome.state == "failed" and len(fake.completions) == 2
    reason = last_reason(db, candidate)
    assert "not a JSON object with the four parts, twice" in reason and "{not json" in reason
    assert "\n" not in reason


def test_a_draft_in_a_markdown_fence_is_read(db):
    candidate = ms_study(db)
    fenced = "```json\n" + json.dumps(GOOD_MS, indent=2) + "\n```"
    with FakeLLM(Reply(fenced)).running() as fake:
        assert make_worker(db, fake).work_one().model_calls == 1
    assert stored_drafts(db, candidate) == [GOOD_MS]


def test_a_server_without_json_mode_is_asked_without_it(db):
    ms_study(db), ad_study(db)
    replies = [Reply.draft(**GOOD_MS), Reply.draft(**AD_WITH_CAVEAT)]
    with FakeLLM(*replies, json_mode=False).running() as fake:
        worker = make_worker(db, fake)
        assert [worker.work_one().state for _ in range(2)] == ["summarized", "summarized"]
    asked = ["response_format" in request.body for request in fake.completions]
    assert asked == [True, False, False]  # refused once (400), then never asked again


# -- retries, timeouts and the lease --------------------------------------------------------


def test_429_waits_what_retry_after_says(db):
    candidate = ms_study(db)
    times = SendTimes()
    with FakeLLM(Reply.error(429, retry_after="1.5"), Reply.draft(**GOOD_MS)).running() as fake:
        outcome = make_worker(db, fake, times=times).work_one()
    assert outcome.state == "summarized" and state_of(db, candidate) == "summarized"
    (gap,) = times.gaps()
    # the client's own backoff for a first retry is at most 0.5 s: 1.5 s is Retry-After's
    assert 1.5 <= gap < 2.5


def test_5xx_are_retried_with_backoff_and_retry_after(db):
    candidate = ms_study(db)
    times = SendTimes()
    replies = [Reply.error(500), Reply.error(503, retry_after="1.2"), Reply.draft(**GOOD_MS)]
    with FakeLLM(*replies).running() as fake:
        outcome = make_worker(db, fake, times=times, max_retries=2).work_one()
    assert outcome.state == "summarized" and state_of(db, candidate) == "summarized"
    backoff, retry_after = times.gaps()
    assert 0.3 <= backoff < 1.0  # 0.5 s less up to 25% jitter
    assert 1.2 <= retry_after < 2.2


def test_5xx_past_the_retries_fails_the_candidate_in_one_line(db):
    candidate = ms_study(db)
    with FakeLLM(*[Reply.error(500)] * 2).running() as fake:
        outcome = make_worker(db, fake, max_retries=1).work_one()
    assert outcome.state == "failed" and len(fake.completions) == 2
    reason = last_reason(db, candidate)
    assert reason.startswith(f"model: {fake.url} (model fake-model): HTTP 500 (after 1 retries)")
    assert state_of(db, candidate) == "approved"


def test_a_timeout_is_retried_and_then_fails_the_candidate(db):
    first, second = ms_study(db), ad_study(db)
    replies = [Reply(json.dumps(GOOD_MS), delay=2), Reply.draft(**GOOD_MS)]
    with FakeLLM(*replies).running() as fake:
        worker = make_worker(db, fake, timeout=0.5, max_retries=1)
        assert worker.work_one().state == "summarized"  # the slow answer was abandoned
        fake.add(Reply("{}", delay=2), Reply("{}", delay=2))
        outcome = worker.work_one()
    assert stored_drafts(db, first) == [GOOD_MS]
    assert outcome.state == "failed" and outcome.candidate_id == second
    assert "no answer within 0.5 s (after 1 retries)" in last_reason(db, second)


def test_the_lease_is_extended_while_a_slow_model_works(db):
    candidate = ms_study(db)
    with FakeLLM(Reply(json.dumps(GOOD_MS), delay=3.5)).running() as fake:
        # a 2 s lease would run out long before the 3.5 s answer without extensions
        outcome = make_worker(db, fake, lease=2.0, timeout=10).work_one()
    assert outcome.state == "summarized" and state_of(db, candidate) == "summarized"


# -- the prompt and the key -----------------------------------------------------------------


def test_the_prompt_carries_the_abstract_the_study_facts_and_the_editors_notes(db):
    ms_study(db)
    with FakeLLM(Reply.draft(**GOOD_MS)).running() as fake:
        make_worker(db, fake).work_one()
    prompt = fake.completions[0].prompt
    for section in MS_ABSTRACT.split("\n"):
        assert section in prompt  # with its label: "METHODS: We scanned 120 people ..."
    assert "Journal: Multiple Sclerosis Journal" in prompt and "Date: 2026-10" in prompt
    assert "Design: observational study (evidence: publication type: Observational Study)" in prompt
    assert "Population: humans (evidence: MeSH check tag: Humans)" in prompt
    assert "MS or a related disease studied: yes (evidence: MeSH: Multiple Sclerosis" in prompt
    assert f"maria: {NOTE}" in prompt
    assert "grade 8 reading level" in prompt


def test_after_a_send_back_the_prompt_carries_the_previous_draft_and_the_note(db):
    candidate = ms_study(db)
    rewritten = GOOD_MS | {"finding": "Brain scans of rim lesions may show who with MS gets worse."}
    with FakeLLM(Reply.draft(**GOOD_MS), Reply.draft(**rewritten)).running() as fake:
        worker = make_worker(db, fake)
        worker.work_one()
        review.send_back(db, candidate, "Say what a rim lesion is, in plain words", by="jo")
        assert worker.work_one().state == "summarized"
    first, second = (request.prompt for request in fake.completions)
    assert "SENT THE PREVIOUS DRAFT BACK" not in first
    assert (
        "AN EDITOR SENT THE PREVIOUS DRAFT BACK WITH THIS NOTE: Say what a rim lesion is,"
        " in plain words" in second
    )
    for part, text in GOOD_MS.items():
        assert f"{part}: {text}" in second
    assert stored_drafts(db, candidate) == [GOOD_MS, rewritten]


def test_the_abstract_is_text_to_the_template_never_template_code(db):
    add_study(db, "41000009", "Rim lesions {{ 7 * 7 }} in MS", "RESULTS: {% raw %}x{{ 6 * 7 }}",
              ["Humans", "Multiple Sclerosis"])  # fmt: skip
    with FakeLLM(Reply.draft(**GOOD_MS)).running() as fake:
        make_worker(db, fake).work_one()
    prompt = fake.completions[0].prompt
    assert "Rim lesions {{ 7 * 7 }} in MS" in prompt and "{% raw %}x{{ 6 * 7 }}" in prompt
    assert "49" not in prompt and "42" not in prompt


def test_a_template_cannot_reach_python_internals():
    settings = SummarizerSettings(prompt_source="test prompt")
    packet = {"id": 7, "work": {"title": "x"}}
    allowed = compile_prompt("{{ work.title.upper() }}", "test prompt")
    assert render_prompt(allowed, packet, settings) == "X"
    template = compile_prompt("{{ work.title.__class__.__mro__ }}", "test prompt")
    with pytest.raises(PromptError, match="test prompt: cannot render the prompt for candidate 7"):
        render_prompt(template, packet, settings)


def test_the_key_is_sent_only_in_the_authorization_header(tmp_path, monkeypatch):
    """Through the command line, with a log file: the key is in the header the model's
    server got, and not in the prompts, the output, the log or the database, even when the
    server echoes it in an error."""
    db_path = tmp_path / "litmon.db"
    db = open_db(db_path)
    candidate = ms_study(db)
    log_file = tmp_path / "litmon.log"
    echo = Reply(f"Incorrect API key provided: {KEY}", status=401)
    with FakeLLM(echo, Reply.draft(**GOOD_MS)).running() as fake:
        config = write_config(tmp_path, fake, log_file=log_file)
        monkeypatch.setenv("LITMON_LLM_API_KEY", KEY)
        failed = invoke("--config", str(config), "-v", "summarize", "--once")
        done = invoke("--config", str(config), "-v", "summarize", "--once")
    assert failed.exit_code == 1 and done.exit_code == 0
    assert "HTTP 401" in last_reason_of_fail(db, candidate)
    assert {request.headers["authorization"] for request in fake.completions} == {f"Bearer {KEY}"}
    for request in fake.received:
        headers = {k: v for k, v in request.headers.items() if k != "authorization"}
        assert KEY not in json.dumps(request.body) + json.dumps(headers)
    assert KEY not in failed.output + done.output
    assert log_file.read_text() and KEY not in log_file.read_text()
    db.conn.close()
    assert KEY not in "\n".join(open_db(db_path).conn.iterdump())
    assert KEY.encode() not in db_path.read_bytes()


def last_reason_of_fail(db, candidate_id: int) -> str:
    return db.execute(
        "SELECT reason FROM candidate_audit WHERE candidate_id = ? AND action = 'fail'",
        (candidate_id,),
    ).fetchone()[0]


# -- the command line -----------------------------------------------------------------------


def write_config(
    tmp_path: Path, fake: FakeLLM, *, log_file: Path | None = None, extra: str = "", timeout=5
) -> Path:
    config = tmp_path / "litmon.toml"
    log = f'[log]\nformat = "json"\nfile = "{log_file}"\n' if log_file else ""
    config.write_text(
        f'[database]\npath = "{tmp_path / "litmon.db"}"\n{log}'
        f'[summarizer]\nbase_url = "{fake.url}"\nmodel = "fake-model"\ntimeout = {timeout}\n'
        f"max_retries = 0\n{extra}"
    )
    return config


def invoke(*args, env=None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_once_exits_3_when_nothing_is_approved(tmp_path):
    open_db(tmp_path / "litmon.db")
    with FakeLLM().running() as fake:
        result = invoke("--config", str(write_config(tmp_path, fake)), "summarize", "--once")
    assert result.exit_code == 3 and "nothing to claim" in result.output
    assert fake.received == []


def test_drain_works_until_the_queue_is_empty(tmp_path):
    db = open_db(tmp_path / "litmon.db")
    ms, ad = ms_study(db), ad_study(db)
    replies = [Reply.draft(**GOOD_MS), Reply.draft(**AD_WITH_CAVEAT)]
    with FakeLLM(*replies).running() as fake:
        result = invoke("--config", str(write_config(tmp_path, fake)), "summarize", "--drain",
                        "--worker", "night-shift")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"candidate {ms}: draft handed in (1 model call)" in result.output
    assert {state_of(db, ms), state_of(db, ad)} == {"summarized"}
    claimed_by = db.execute("SELECT DISTINCT by FROM candidate_audit WHERE action = 'claim'")
    assert claimed_by.fetchall() == [("night-shift",)]


def test_a_model_that_gives_no_answer_stops_a_drain(tmp_path):
    """The model's outage is not the candidates' fault: the drain stops after the first
    failure instead of using up every waiting candidate's attempts."""
    db = open_db(tmp_path / "litmon.db")
    ad, ms = ad_study(db), ms_study(db)
    with FakeLLM(*[Reply.error(503)] * 4).running() as fake:
        result = invoke("--config", str(write_config(tmp_path, fake)), "summarize", "--drain")
    assert result.exit_code == 1
    assert len(fake.completions) == 1  # max_retries = 0: one call, then the drain stopped
    assert (
        f"candidate {ad}: failed: model: {fake.url} (model fake-model): HTTP 503" in result.output
    )
    assert state_of(db, ms) == "approved"
    untouched = db.execute("SELECT attempts FROM candidates WHERE id = ?", (ms,)).fetchone()
    assert untouched == (0,)


def test_llm_url_in_the_environment_overrides_the_config(tmp_path):
    db = open_db(tmp_path / "litmon.db")
    candidate = ms_study(db)
    with FakeLLM(Reply.draft(**GOOD_MS)).running() as fake:
        config = tmp_path / "litmon.toml"
        config.write_text(f'[database]\npath = "{tmp_path / "litmon.db"}"\n'
                          '[summarizer]\nbase_url = "http://127.0.0.1:9/v1"\n')  # fmt: skip
        result = invoke("--config", str(config), "summarize", "--once",
                        env={"LITMON_LLM_URL": fake.url})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert state_of(db, candidate) == "summarized"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("temperature = 5\n", "summarizer.temperature: must be a number from 0 to 2, got 5"),
        ("colour = 1\n", "summarizer.colour: unknown key"),
        ('prompt = "{% if %}"\n', "summarizer.prompt line 1: not a valid Jinja2 template"),
        ('prompt_file = "missing.j2"\n', "summarizer.prompt_file: cannot read"),
    ],
)
def test_a_bad_summarizer_table_is_one_line_and_exit_2(tmp_path, extra, message):
    open_db(tmp_path / "litmon.db")
    with FakeLLM().running() as fake:
        result = invoke("--config", str(write_config(tmp_path, fake, extra=extra)), "summarize")
    assert result.exit_code == 2 and message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_prompt_file_beside_the_config_is_used(tmp_path):
    db = open_db(tmp_path / "litmon.db")
    ms_study(db)
    (tmp_path / "mine.j2").write_text(
        "Summarize for a grade {{ reading_grade }} reader: {{ work.title }}"
    )
    with FakeLLM(Reply.draft(**GOOD_MS)).running() as fake:
        config = write_config(tmp_path, fake, extra='prompt_file = "mine.j2"\nreading_grade = 6\n')
        assert invoke("--config", str(config), "summarize", "--once").exit_code == 0
    assert fake.completions[0].prompt == (
        "Summarize for a grade 6.0 reader: Paramagnetic rim lesions on 7 T MRI predict"
        " disability in relapsing multiple sclerosis"
    )


# -- through the HTTP API of a served app ---------------------------------------------------


def test_the_same_worker_claims_through_the_http_api(tmp_path):
    db_path = tmp_path / "served.db"
    db = open_db(db_path)
    ms, ad = ms_study(db), ad_study(db)
    token = auth.create_token(db, "remote-summarizer")
    replies = [Reply.draft(**GOOD_MS), Reply.draft(**AD_NO_CAVEAT), Reply.draft(**AD_NO_CAVEAT)]
    with serving(create_app(db_path)) as url, FakeLLM(*replies).running() as fake:
        # the worker's own config names no database: it only talks to the server
        config = tmp_path / "worker.toml"
        config.write_text(f'[database]\npath = "{tmp_path / "nowhere" / "none.db"}"\n'
                          f'[summarizer]\nbase_url = "{fake.url}"\nmax_retries = 0\n')  # fmt: skip
        env = {"LITMON_API_TOKEN": token}
        first = invoke("--config", str(config), "summarize", "--once", "--api", url, env=env)
        second = invoke("--config", str(config), "summarize", "--once", "--api", url, env=env)
        review.decide(db, [str(ad)], "reject", by="maria", reason="off-topic")
        empty = invoke("--config", str(config), "summarize", "--once", "--api", url, env=env)
        refused = invoke("--config", str(config), "summarize", "--once", "--api", url,
                         env={"LITMON_API_TOKEN": "lm_made_up"})  # fmt: skip
    assert first.exit_code == 0 and state_of(db, ms) == "summarized"
    assert stored_drafts(db, ms) == [GOOD_MS]
    assert second.exit_code == 1 and "population_caveat" in last_reason_of_fail(db, ad)
    assert empty.exit_code == 3 and f"nothing to claim at {url}" in empty.output
    assert refused.exit_code == 2 and "the server refused the token (HTTP 401" in refused.output
    assert not (tmp_path / "nowhere").exists()


def test_over_http_the_lease_is_extended_while_a_slow_model_works(tmp_path):
    db_path = tmp_path / "served.db"
    db = open_db(db_path)
    candidate = ms_study(db)
    token = auth.create_token(db, "remote-summarizer")
    slow = Reply(json.dumps(GOOD_MS), delay=3.5)
    with serving(create_app(db_path)) as url, FakeLLM(slow).running() as fake:
        settings = settings_for(fake, timeout=10)
        worker = Worker(
            HttpHandOff(url, token),
            ChatModel(settings, KEY),
            compile_prompt(settings.prompt, settings.prompt_source),
            settings,
            GuardSettings(),
            name="remote",
            lease_seconds=2.0,
        )
        outcome = worker.work_one()
    assert outcome.state == "summarized" and state_of(db, candidate) == "summarized"
    assert stored_drafts(db, candidate) == [GOOD_MS]


def test_a_server_that_is_not_there_is_one_line_and_exit_1(tmp_path):
    with FakeLLM().running() as fake:
        config = write_config(tmp_path, fake)
        result = invoke("--config", str(config), "summarize", "--once",
                        "--api", "http://127.0.0.1:9", env={"LITMON_API_TOKEN": "lm_x"})  # fmt: skip
    assert result.exit_code == 1
    assert result.output.strip() == (
        "litmon: http://127.0.0.1:9/api/claim: no answer: ConnectionError"
    )
    assert fake.received == []


def test_a_draft_the_servers_guards_refuse_fails_the_candidate_there(tmp_path):
    """A worker whose own [guards] are looser than the server's: the API's done answers
    422 with the failed checks, the server has failed the lease, and the worker reports
    the candidate failed with the server's reason (not a crash, not a retry)."""
    db_path = tmp_path / "served.db"
    db = open_db(db_path)
    candidate = ms_study(db)
    token = auth.create_token(db, "remote-summarizer")
    promise = GOOD_MS | {"why_it_matters": "Rim lesions could one day be a cure for worsening."}
    with serving(create_app(db_path)) as url, FakeLLM(Reply.draft(**promise)).running() as fake:
        config = tmp_path / "worker.toml"
        config.write_text(f'[summarizer]\nbase_url = "{fake.url}"\nmax_retries = 0\n'
                          "[guards]\nbanned_claims = []\n")  # fmt: skip
        result = invoke("--config", str(config), "summarize", "--once", "--api", url,
                        env={"LITMON_API_TOKEN": token})  # fmt: skip
    assert result.exit_code == 1, result.output
    assert (
        f"candidate {candidate}: failed: candidate {candidate}: the draft failed its checks: claims:"
        in result.output
    )
    assert len(fake.completions) == 1  # the worker's guards passed it: asked once
    assert state_of(db, candidate) == "approved" and stored_drafts(db, candidate) == []
    assert "'cure' in why_it_matters" in last_reason(db, candidate)


# -- a worker process stopped mid-call ------------------------------------------------------


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_gives_the_candidate_back_at_once(tmp_path, stop):
    db = open_db(tmp_path / "litmon.db")
    candidate = ms_study(db)
    with FakeLLM(Reply(json.dumps(GOOD_MS), delay=30)).running() as fake:
        config = write_config(tmp_path, fake, timeout=60)
        process = subprocess.Popen(
            [sys.executable, "-m", "litmon", "--config", str(config), "summarize", "--once"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "LITMON_LLM_API_KEY": KEY},
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not fake.completions and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fake.completions, "the worker never asked the model"
        stopped_at = time.monotonic()
        process.send_signal(stop)
        out, err = process.communicate(timeout=20)
        took = time.monotonic() - stopped_at
    assert process.returncode == 75, err
    assert took < 5  # not the 30 s the model would have taken
    assert "stopped" in err and KEY not in out + err
    assert state_of(db, candidate) == "approved"
    assert last_reason(db, candidate) == "the worker was stopped before the draft was done"


def test_without_once_the_worker_keeps_polling_until_sigterm(tmp_path):
    db = open_db(tmp_path / "litmon.db")
    first = ms_study(db)
    with FakeLLM(Reply.draft(**GOOD_MS), Reply.draft(**AD_WITH_CAVEAT)).running() as fake:
        config = write_config(tmp_path, fake, extra="poll_seconds = 1\n")
        process = subprocess.Popen(
            [sys.executable, "-m", "litmon", "--config", str(config), "summarize"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            wait_for(lambda: state_of(db, first) == "summarized")
            second = ad_study(db)  # approved while the worker waits on an empty queue
            wait_for(lambda: state_of(db, second) == "summarized")
            assert process.poll() is None  # still there, polling
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=20)
        finally:
            process.kill()
    assert process.returncode == 0, err
    assert len(fake.completions) == 2


def wait_for(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
