"""``litmon queue`` and ``litmon review``: the candidate queue on the command line, a thin
layer over :mod:`litmon.review` (which the web page and summarizer workers call too)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path

import click

from litmon import exits
from litmon.app import App, pass_app
from litmon.core.errors import UsageError
from litmon.drafts_cli import draft_status
from litmon.output import (
    Column,
    echo,
    json_text,
    listing_options,
    output_object,
    output_rows,
    plural,
    row_limit,
    table,
    text,
)
from litmon.review import (
    STATES,
    Page,
    ack_takedown,
    build_packet,
    claim,
    decide,
    discard,
    done,
    extend,
    fail,
    history,
    list_candidates,
    retry,
    show,
    undo,
)
from litmon.review.queue import is_date_prefix, page_marker

ACTIONS = ("approve", "reject", "defer", "undo")
_PAGE = 50  # rows of a text page


def _marks(item: dict) -> list[str]:
    return [
        mark
        for mark in (
            "RETRACTED" if item["retracted"] else "",
            "changed since decision" if item["changed_since_decision"] else "",
            f"takedown {item['takedown']}" if item["takedown"] else "",
            f"flag: {text(item['flag'])}" if item["flag"] else "",
            f"until {item['deferred_until']}" if item["deferred_until"] else "",
            "let in by the model" if item.get("let_in_by_model") else "",
            f"leased by {text(item['leased_by'])} until {item['lease_expires']}"
            if item["state"] == "leased"
            else "",
        )
        if mark
    ]


def _topics(item: dict) -> str:
    return ", ".join(f"{text(t['topic'])} {t['score']:g}" for t in item["topics"])


def _details(item: dict) -> list[str]:
    """The lines under a candidate's row: its topics and marks, each topic's explanation."""
    extra = "".join(f" [{mark}]" for mark in _marks(item))
    lines = [f"topics: {_topics(item)}{extra}"]
    for topic_score in item["topics"]:
        for part in topic_score.get("explanation", []):
            lines.append(f"  {text(topic_score['topic'])}: {_component(part)}")
    if "model_explanation" in item and item.get("model_score") is not None:
        lines.append(f"  {_model_line(item['model_score'], item['model_explanation'])}")
    return lines


def _model_line(probability: float, explanation: list | None) -> str:
    """The model's probability and the terms that moved it: up first, then down."""

    def terms(side: list) -> str:
        return ", ".join(f"{text(c['term'])} ({c['kind']}) {c['weight']:+.2f}" for c in side)

    line = f"model {probability:.2f}"
    if explanation:
        up = [c for c in explanation if c["weight"] > 0]
        down = [c for c in explanation if c["weight"] < 0]
        line += "".join(
            f"; {label}: {terms(side)}" for label, side in (("up", up), ("down", down)) if side
        )
    return line


def _paper(item: dict) -> str:
    return f"pmid:{item['pmid']}" if item["pmid"] else f"doi:{item['doi']}"


_CANDIDATE_COLUMNS = (
    Column("ID", lambda item: f"{item['id']}@{item['version']}", right=True),
    Column("STATE", lambda item: item["state"]),
    Column("SCORE", lambda item: f"{item['score']:.2f}", right=True),
    Column("PAPER", _paper, width=32),
    Column("TITLE", lambda item: item["title"], width=80),
)


def _print_candidates(items: Iterable[dict]) -> None:
    """Candidates as the one table every queue command prints (id@version as `review`
    takes it), each with its topics and marks under it."""
    for line in table(items, _CANDIDATE_COLUMNS, details=_details):
        echo(line)


def _component(part: object) -> str:
    """One component of a score's explanation: its points and the terms that matched where;
    any other shape as JSON, so a new kind of component still shows."""
    if isinstance(part, dict) and {"component", "points"} <= part.keys():
        matches = ", ".join(
            f"{text(m.get('term'))} in {text(m.get('field'))}" for m in part.get("matches") or []
        )
        return f"{text(part['component'])} {part['points']:+g}" + (
            f" ({matches})" if matches else ""
        )
    return json_text(part)


def _candidate_id(text: str) -> int:
    if not text.isdigit():
        raise UsageError(f"{text}: a candidate id is a number")
    return int(text)


@click.group()
def queue() -> None:
    """The candidate queue: ranked works waiting for editors, and the summarizer hand-off.

    \b
    Editors:      litmon queue list, litmon queue show ID, litmon review ID... approve
    Summarizers:  litmon queue claim --worker W, then done / fail / extend with the token
    """


@queue.command("list")
@click.option("--state", type=click.Choice(STATES), help="Only candidates in this state.")
@click.option("--topic", help="Only candidates that matched this topic.")
@click.option("--min-score", type=float, help="Only candidates scoring at least this.")
@click.option(
    "--search",
    help="Words that must all be in the title or abstract (any case or accents, stemmed);"
    ' "a phrase" in quotes, word* for a prefix.',
)
@click.option("--journal", help="Only this journal (its title or abbreviation, any case).")
@click.option("--since", help="Published on or after this date (YYYY, YYYY-MM or YYYY-MM-DD).")
@click.option("--until", help="Published on or before this date (YYYY, YYYY-MM or YYYY-MM-DD).")
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(min=1),
    help=f"Rows per page (default: {_PAGE} as text, every row with --json or --nl).",
)
@click.option("--after", help="Continue after this SCORE,ID (printed at the end of a page).")
@click.option("--last", "from_end", is_flag=True, help="The last page of the ranking.")
@click.option(
    "--order",
    type=click.Choice(["rank", "uncertain"]),
    default="rank",
    show_default=True,
    help="rank: best first; uncertain: the model's probability closest to 0.5 first (the"
    " decisions that teach it most).",
)
@click.option(
    "--explain",
    is_flag=True,
    help="Each topic's scoring explanation too, and the terms that moved the model.",
)
@listing_options
@pass_app
def queue_list(
    app: App,
    state: str | None,
    topic: str | None,
    min_score: float | None,
    search: str | None,
    journal: str | None,
    since: str | None,
    until: str | None,
    limit: int | None,
    after: str | None,
    from_end: bool,
    order: str,
    explain: bool,
    as_json: bool,
    nl: bool,
) -> None:
    """Candidates ranked by score, best first (a page at a time), optionally only those
    matching a search, a journal or a range of publication dates.

    \b
      litmon queue list --state new --search "rim lesions" --since 2026-01
      litmon queue list --json | jq '.[].title'      every candidate, streamed
    """
    db = app.database()

    def page(size: int, marker: tuple[float, int] | None) -> Page:
        return list_candidates(
            db,
            state=state,
            topic=topic,
            min_score=min_score,
            search=search,
            journal=journal,
            published=(_published(since, "--since"), _published(until, "--until")),
            after=marker,
            from_end=from_end,
            limit=size,
            explain=explain,
            order=order,
            max_attempts=app.config.queue.max_attempts,
        )

    marker = page_marker(after) if after is not None else None
    # --last is a page, counted from the end: as JSON too
    rows = row_limit(limit, _PAGE, as_json and not from_end, nl and not from_end)
    if rows is None:
        output_rows(_every(page, marker), nl=nl)
        return
    first = page(rows, marker)
    if as_json or nl:
        output_rows(first.items, nl=nl)
        return
    if not first.items:
        echo("no candidates" + (f" {state}" if state else ""))
        return
    _print_candidates(first.items)
    if first.next_after is not None:
        direction = " --last" if from_end else ""
        direction += " --order uncertain" if order == "uncertain" else ""
        score, ident = first.next_after
        echo(f"more: litmon queue list{direction} --after {score!r},{ident}")


def _every(
    page: Callable[[int, tuple[float, int] | None], Page], marker: tuple[float, int] | None
) -> Iterator[dict]:
    """Every matching candidate, a page at a time, so that output starts at once."""
    while True:
        current = page(500, marker)
        yield from current.items
        if current.next_after is None:
            return
        marker = current.next_after


def _published(value: str | None, option: str) -> str | None:
    """A publication date or its year / month prefix, as stored works give them."""
    if value is None:
        return None
    if not is_date_prefix(value):
        raise click.BadParameter(
            f"{value!r} is not a date like 2026, 2026-03 or 2026-03-31", param_hint=option
        )
    return value


@queue.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="One JSON object (the paper as `work`).")
@pass_app
def queue_show(app: App, ref: str, as_json: bool) -> None:
    """One candidate (ID, pmid:N or doi:…): the paper (title, authors, journal, date,
    links, abstract), its scores, trail, latest draft, possible duplicates and notices."""
    db = app.database()
    item = show(db, ref, max_attempts=app.config.queue.max_attempts)
    work = build_packet(db.conn, item["id"])["work"]
    if as_json:
        output_object(item | {"work": work})
        return
    for line in _paper_lines(item, work):
        echo(line)
    for pair in item["possible_duplicates"]:
        echo(
            f"possible duplicate: work {pair['work_id']} (similarity {pair['score']:.2f},"
            f" {text(pair['reason'])}): litmon dupes list"
        )
    for notice in item["notices"]:
        echo(_notice(notice))
    if item["history"]:
        echo("trail:")
        _print_trail(item["history"])
    if item["drafts"]:
        latest = item["drafts"][-1]
        echo(
            f"draft v{latest['version']} by {text(latest['by'])} at {latest['created_at']}:"
            f" {draft_status(latest)} (litmon drafts show {item['id']})"
        )


_SHOWN_AUTHORS = 12


def _paper_lines(item: dict, work: dict) -> list[str]:
    """What an editor judges a paper by, one labelled line each, the abstract last."""
    marks = "".join(f" [{mark}]" for mark in _marks(item))
    authors = [text(name) for name in work["authors"]]
    if len(authors) > _SHOWN_AUTHORS:
        more = len(authors) - _SHOWN_AUTHORS
        authors = [*authors[:_SHOWN_AUTHORS], f"… and {more} more"]
    where = text(work["journal"] or work["journal_abbrev"] or "(no journal)")
    issue = "".join(
        part
        for part in (
            f" {text(work['volume'])}" if work["volume"] else "",
            f"({text(work['issue'])})" if work["issue"] else "",
            f":{text(work['pages'])}" if work["pages"] else "",
        )
    )
    # a PubMed record's own URL is its PubMed link: each address once
    links = [text(url) for url in dict.fromkeys(work["links"].values()) if url]
    lines = [
        f"candidate {item['id']}@{item['version']}: {item['state']}, score {item['score']:.2f}"
        f"{marks}",
        f"title:    {text(work['title'])}",
        f"authors:  {'; '.join(authors) or '(none given)'}",
        f"journal:  {where}{issue}, {text(work['date'] or 'no date')}",
        f"ids:      {_paper(item)}" + (f", pmcid:{text(work['pmcid'])}" if work["pmcid"] else ""),
        f"links:    {'  '.join(links) or '(none)'}",
        f"topics:   {_topics(item)}",
    ]
    if item.get("model_score") is not None:
        lines.append(f"model:    {_model_line(item['model_score'], item['model_explanation'])}")
    if item["leased_by"] and item["state"] == "leased":
        lines.append(f"lease:    {text(item['leased_by'])} until {item['lease_expires']}")
    lines.append("abstract:" if work["abstract"] else "abstract: (none)")
    if work["abstract"]:
        abstract = text(work["abstract"], lines=True)
        lines += [f"  {line}" for line in abstract.splitlines()]
    return lines


# How `queue show` names a comments/corrections link (the API keeps PubMed's RefType).
_NOTICE_LABELS = {
    "RetractionIn": "retraction notice",
    "ErratumIn": "erratum",
    "ExpressionOfConcernIn": "expression of concern",
    "UpdateIn": "updated in",
    "RepublishedIn": "republished in",
    "RetractionOf": "retraction notice of",
    "ErratumFor": "erratum for",
    "ExpressionOfConcernFor": "expression of concern about",
    "UpdateOf": "update of",
    "RepublishedFrom": "republished from",
}


def _notice(notice: dict) -> str:
    ident = f"pmid:{notice['pmid']}" if notice["pmid"] else "(no PMID)"
    about = text(notice["title"] or notice["citation"] or "")
    stored = f" (work {notice['work_id']})" if notice["work_id"] else ""
    label = _NOTICE_LABELS[notice["type"]]
    return f"{label}: {ident}{stored} {about}".rstrip()


def _print_trail(rows: Iterable[dict]) -> None:
    for row in rows:
        why = f" ({text(row['reason'])})" if row["reason"] else ""
        echo(
            f"    {row['at']} {text(row['by'])}: {text(row['action'])}"
            f" {row['from_state'] or '-'} -> {row['to_state']}{why}"
        )
        if row["note"]:
            for line in text(row["note"], lines=True).splitlines():
                echo(f"        note: {line}")


@queue.command("history")
@click.argument("ref")
@listing_options
@pass_app
def queue_history(app: App, ref: str, as_json: bool, nl: bool) -> None:
    """Every transition of a candidate: when, who, from, to, why, notes."""
    rows = history(app.database(), ref)
    if as_json or nl:
        output_rows(rows, nl=nl)
    else:
        _print_trail(rows)


@queue.command("claim")
@click.option("--worker", required=True, help="This summarizer's name (in the audit trail).")
@click.option("--lease", "lease_seconds", type=float,
              help="Seconds before the candidate goes back to the queue unless done"
                   " (default: [queue] lease_seconds).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="The packet on one line.")
@pass_app
def queue_claim(app: App, worker: str, lease_seconds: float | None, as_json: bool) -> None:
    """Lease the best-ranked approved candidate and print its summarization packet (JSON:
    id, lease_token, lease_expires, work, topics, editor_notes, facts). Exit 3 when
    nothing is waiting."""
    settings = app.config.queue
    lease = settings.lease_seconds if lease_seconds is None else lease_seconds
    packet = claim(app.database(), worker, lease, max_attempts=settings.max_attempts)
    if packet is None:
        echo("nothing to claim", err=True)
        sys.exit(exits.NOTHING_TO_DO)
    output_object(packet, compact=as_json)


def _read_summary(path: str) -> str:
    try:
        summary = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    if not summary.strip():
        raise UsageError(f"{path}: the summary is empty")
    return summary


_OUTCOME_JSON = click.option(
    "--json", "as_json", is_flag=True, help="The outcome as one JSON object."
)


@queue.command("done")
@click.argument("candidate")
@click.option("--token", required=True, help="The lease token the claim printed.")
@click.option("--summary-file", required=True, help="The summary, UTF-8 text.")
@_OUTCOME_JSON
@pass_app
def queue_done(app: App, candidate: str, token: str, summary_file: str, as_json: bool) -> None:
    """Hand in the draft of a leased candidate (again with the same token: no change).

    A JSON object with the four parts (finding, what_was_done, why_it_matters, limits)
    goes through the guards ([guards] in the config): failing, the lease fails with the
    failed checks as its reason (exit 1); free text is stored as an unchecked draft."""
    summary = _read_summary(summary_file)
    config = app.config
    outcome = done(app.database(), _candidate_id(candidate), token, summary,
                   guards=config.queue.guards, max_attempts=config.queue.max_attempts)  # fmt: skip
    if as_json:
        output_object(outcome)
    elif not outcome["accepted"]:
        echo(f"candidate {outcome['id']}: {outcome['reason']}; it is {outcome['state']} now")
    else:
        again = " (already: nothing changed)" if outcome["repeated"] else ""
        kind = (
            "" if outcome["repeated"] or outcome["draft"]["checked"] else ", free text, unchecked"
        )
        echo(f"candidate {outcome['id']}: summarized{kind}{again}")
    if not outcome["accepted"]:
        sys.exit(exits.FAILED)


@queue.command("fail")
@click.argument("candidate")
@click.option("--token", required=True, help="The lease token the claim printed.")
@click.option("--error", "error", required=True, help="What went wrong (in the audit trail).")
@_OUTCOME_JSON
@pass_app
def queue_fail(app: App, candidate: str, token: str, error: str, as_json: bool) -> None:
    """Give a leased candidate back: approved again, or dead after its last attempt."""
    attempts = app.config.queue.max_attempts
    outcome = fail(app.database(), _candidate_id(candidate), token, error, max_attempts=attempts)
    if as_json:
        output_object(outcome)
        return
    echo(
        f"candidate {outcome['id']}: {outcome['state']}"
        f" after {plural(outcome['attempts'], 'attempt')}"
    )


@queue.command("extend")
@click.argument("candidate")
@click.option("--token", required=True, help="The lease token the claim printed.")
@click.option("--lease", "lease_seconds", type=float,
              help="Seconds from now (default: [queue] lease_seconds).")  # fmt: skip
@_OUTCOME_JSON
@pass_app
def queue_extend(
    app: App, candidate: str, token: str, lease_seconds: float | None, as_json: bool
) -> None:
    """Renew a lease: the candidate stays this worker's for --lease seconds from now."""
    lease = app.config.queue.lease_seconds if lease_seconds is None else lease_seconds
    outcome = extend(app.database(), _candidate_id(candidate), token, lease)
    if as_json:
        output_object(outcome)
        return
    echo(f"candidate {outcome['id']}: leased until {outcome['lease_expires']}")


@queue.command("retry")
@click.argument("ref")
@click.option("--by", help="Who (default: $LITMON_EDITOR, else the login name).")
@pass_app
def queue_retry(app: App, ref: str, by: str | None) -> None:
    """A dead candidate goes back to approved with fresh attempts."""
    attempts = app.config.queue.max_attempts
    _print_candidates([retry(app.database(), ref, by=by, max_attempts=attempts)])


@queue.command("discard")
@click.argument("ref")
@click.option("--by", help="Who (default: $LITMON_EDITOR, else the login name).")
@pass_app
def queue_discard(app: App, ref: str, by: str | None) -> None:
    """Give a dead candidate up for good."""
    attempts = app.config.queue.max_attempts
    _print_candidates([discard(app.database(), ref, by=by, max_attempts=attempts)])


@queue.command("ack-takedown")
@click.argument("ref")
@click.option("--by", help="Who (default: $LITMON_EDITOR, else the login name).")
@click.option("--note", help="A note for the trail (where it was taken down).")
@pass_app
def queue_ack_takedown(app: App, ref: str, by: str | None, note: str | None) -> None:
    """Record that the published summary of a withdrawn (deleted or retracted) work was
    taken down."""
    attempts = app.config.queue.max_attempts
    acked = ack_takedown(app.database(), ref, by=by, note=note, max_attempts=attempts)
    _print_candidates([acked])


@click.command("review")
@click.argument("words", nargs=-1, required=True, metavar="ID... approve|reject|defer|undo")
@click.option(
    "--reason", help="Why; a rejection needs one of [queue] reject_reasons in the config."
)
@click.option("--note", help="A note for the trail (and the summarizer's packet).")
@click.option("--by", help="Who (default: $LITMON_EDITOR, else the login name).")
@click.option("--until", help="With defer: the date (YYYY-MM-DD) it returns to new.")
@click.option("--json", "as_json", is_flag=True, help="The decided candidates as one JSON array.")
@pass_app
def review_command(
    app: App,
    words: tuple[str, ...],
    reason: str | None,
    note: str | None,
    by: str | None,
    until: str | None,
    as_json: bool,
) -> None:
    """Decide on candidates, all or none. IDs are candidate ids, pmid:N or doi:…; add
    @VERSION (as `queue list` prints it) to refuse the decision (exit 4) if the candidate
    changed since.

    \b
    litmon review 12@3 14 approve --note "lead with the MRI finding"
    litmon review pmid:40000001 reject --reason off-topic
    litmon review 12 defer --until 2027-01-15
    litmon review 12 undo
    """
    *refs, action = words
    if action not in ACTIONS:
        raise UsageError(f"the last word must be one of {', '.join(ACTIONS)}, not {action!r}")
    if not refs:
        raise UsageError(f"name the candidates to {action}")
    db = app.database()
    settings = app.config.queue
    if action == "undo":
        if len(refs) != 1 or reason or until:
            raise UsageError("undo takes one candidate (and at most --note, --by)")
        decided = [undo(db, refs[0], by=by, note=note, max_attempts=settings.max_attempts)]
    else:
        decided = decide(
            db,
            refs,
            action,
            by=by,
            reason=reason,
            note=note,
            until=_defer_until(until),
            reasons=settings.reject_reasons,
            max_attempts=settings.max_attempts,
        )
    if as_json:
        output_rows(decided, nl=False)
    else:
        _print_candidates(decided)


def _defer_until(until: str | None) -> date | None:
    if until is None:
        return None
    try:
        return date.fromisoformat(until)
    except ValueError:
        raise UsageError(f"--until {until}: expected a date YYYY-MM-DD") from None
