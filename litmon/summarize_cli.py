"""``litmon summarize``: the summarizer worker on the command line, a thin layer over
:mod:`litmon.summarize` (claims through the database or a server's HTTP API)."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click

from litmon import exits, logs
from litmon.app import App, pass_app
from litmon.core.errors import Interrupted, StopCheck
from litmon.output import echo, plural
from litmon.summarize import (
    ChatModel,
    HandOff,
    HttpHandOff,
    LocalHandOff,
    Outcome,
    Worker,
    compile_prompt,
)


@click.command("summarize")
@click.option("--once", is_flag=True, help="One candidate, then exit (3: nothing to claim).")
@click.option("--drain", is_flag=True, help="Until nothing is waiting, then exit.")
@click.option("--worker", "name", help="This worker's name in the audit trail"
              " (default: summarize@HOST:PID).")  # fmt: skip
@click.option("--api", "api_url", metavar="URL",
              help="Claim through the HTTP API of `litmon serve` at URL (a worker token in"
                   " LITMON_API_TOKEN) instead of opening the database.")  # fmt: skip
@pass_app
def summarize_command(
    app: App, once: bool, drain: bool, name: str | None, api_url: str | None
) -> None:
    """Write the lay draft of each approved candidate with an OpenAI-compatible model
    ([summarizer] base_url and model; LITMON_LLM_URL overrides the URL, the key comes from
    LITMON_LLM_API_KEY, local servers need none). Each draft is checked by the guards; one
    that fails goes back to the model once with the failed checks, and a second failure
    fails the candidate with those reasons. Passing drafts await an editor's review.

    Without --once or --drain the worker keeps going, looking for work every
    [summarizer] poll_seconds, until SIGTERM or Ctrl-C (a candidate in hand is then failed
    with a reason, not left leased). A model that gives no answer stops --drain and pauses
    a running worker, so an outage does not use up the candidates' attempts.

    \b
    Exit codes: 0 drafts handed in · 1 a candidate failed · 2 config or usage ·
    3 nothing to claim · 75 stopped (--once/--drain) before the draft was done.

    \b
      LITMON_LLM_URL=http://127.0.0.1:11434/v1 litmon summarize --once
      LITMON_API_TOKEN=lm_... litmon summarize --api https://litmon.example.org
    """
    if once and drain:
        raise click.UsageError("--once and --drain: choose one")
    config = app.config
    key = os.environ.get("LITMON_LLM_API_KEY") or None
    api_token = os.environ.get("LITMON_API_TOKEN", "")
    logs.redactor.add_secrets([key, api_token])
    settings = config.summarizer
    template = compile_prompt(settings.prompt, settings.prompt_source)
    hand_off: HandOff
    if api_url:
        hand_off = HttpHandOff(api_url, api_token)
    else:
        hand_off = LocalHandOff(
            app.database(), guards=config.queue.guards, max_attempts=config.queue.max_attempts
        )
    model = ChatModel(settings, key)
    try:
        with _stop_on_signal() as should_stop:
            worker = Worker(
                hand_off,
                model,
                template,
                settings,
                config.queue.guards,
                name=name or f"summarize@{socket.gethostname()}:{os.getpid()}",
                lease_seconds=config.queue.lease_seconds,
                should_stop=should_stop,
            )
            try:
                tally = worker.run(once=once, drain=drain)
            except Interrupted:
                echo("litmon: stopped (a candidate in hand, if any, was failed with a reason)",
                     err=True)  # fmt: skip
                sys.exit(exits.LOCKED if once or drain else exits.OK)
    finally:
        model.close()
    for outcome in tally.outcomes:
        echo(_line(outcome))
    if not tally.outcomes:
        echo(f"nothing to claim at {hand_off.where}", err=True)
        sys.exit(exits.NOTHING_TO_DO)
    sys.exit(exits.OK if tally.count("summarized") == len(tally.outcomes) else exits.FAILED)


def _line(outcome: Outcome) -> str:
    if outcome.state == "summarized":
        calls = plural(outcome.model_calls, "model call")
        return f"candidate {outcome.candidate_id}: draft handed in ({calls})"
    # the reason may quote the model's answer: output.echo spells out control characters
    return f"candidate {outcome.candidate_id}: {outcome.state}: {outcome.reason}"


@contextmanager
def _stop_on_signal() -> Iterator[StopCheck]:
    """SIGTERM or Ctrl-C asks the worker to stop at its next look (within a fraction of a
    second, even while it waits for the model)."""
    asked = threading.Event()
    if threading.current_thread() is not threading.main_thread():  # only it gets signals
        yield asked.is_set
        return
    previous = {
        sig: signal.signal(sig, lambda signum, frame: asked.set())
        for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield asked.is_set
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
