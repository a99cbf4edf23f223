"""The summarizer worker: claim a packet, ask the model for a draft, check it with the
guards, hand it in; a draft the guards refuse goes back to the model once with the failed
checks listed, and a second refusal fails the candidate with those reasons (never stored).

While the model works (one call can take minutes on a small GPU), the lease is extended
at every half-life, so the queue does not hand the candidate to another worker. A stop
(SIGTERM, Ctrl-C, the scheduler's stop) fails the lease with a reason instead of leaving it
to expire."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from jinja2 import Template

from litmon.core.errors import Conflict, Interrupted, SourceError, StopCheck, stop_if_asked
from litmon.review.guards import PARTS, Check, GuardSettings, check_draft, failed, parse_parts
from litmon.summarize.hand_off import HandOff
from litmon.summarize.llm import ChatModel, Message, ModelError
from litmon.summarize.prompt import PromptError, render_prompt
from litmon.summarize.settings import SummarizerSettings

__all__ = ["Outcome", "Tally", "Worker"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# How often a waiting worker looks at its stop flag and its lease (seconds).
_TICK = 0.2


class _GiveUp(Exception):
    """This candidate fails; the message is the one-line reason editors see."""


class _ModelDown(_GiveUp):
    """The model gave no answer: not the candidate's fault, so the worker pauses."""


class _LeaseLost(Exception):
    """The lease is no longer this worker's (revoked by an editor, or expired)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one claimed candidate: ``summarized`` (the draft was handed in),
    ``failed`` (given back with ``reason``) or ``lost`` (the lease ended meanwhile)."""

    candidate_id: int
    state: str
    reason: str | None = None
    model_calls: int = 0
    model_down: bool = False  # failed because the model gave no answer


@dataclass(slots=True)
class Tally:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, state: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.state == state)


class _Lease:
    """The claimed candidate's lease, extended when half of it has run."""

    def __init__(self, hand_off: HandOff, packet: Mapping, seconds: float) -> None:
        self._hand_off = hand_off
        self.candidate_id = int(packet["id"])
        self.token = str(packet["lease_token"])
        self._seconds = seconds
        # at half-life; the queue keeps times to the second, so a lease can end up to a
        # second early: a short lease is renewed with that second to spare
        self._interval = min(seconds / 2, max(seconds - 1.5, seconds / 4))
        self._renew_at = time.monotonic() + self._interval

    def seconds_to_renewal(self) -> float:
        return self._renew_at - time.monotonic()

    def keep(self) -> None:
        if time.monotonic() < self._renew_at:
            return
        try:
            self._hand_off.extend(self.candidate_id, self.token, self._seconds)
        except Conflict as exc:
            raise _LeaseLost(str(exc)) from None
        except SourceError as exc:  # the server is away: try again at the next tick
            log.warning(
                "candidate %d: lease not extended: %s",
                self.candidate_id,
                exc,
                extra={"event": "summarize_extend_failed"},
            )
            self._renew_at = time.monotonic() + min(5.0, self._seconds / 10)
            return
        self._renew_at = time.monotonic() + self._interval
        log.debug("candidate %d: lease extended", self.candidate_id)


class Worker:
    """Claims and summarizes packets through ``hand_off`` with ``model``."""

    def __init__(
        self,
        hand_off: HandOff,
        model: ChatModel,
        template: Template,
        settings: SummarizerSettings,
        guards: GuardSettings,
        *,
        name: str,
        lease_seconds: float,
        should_stop: StopCheck | None = None,
    ) -> None:
        self._hand_off = hand_off
        self._model = model
        self._template = template
        self._settings = settings
        self._guards = guards
        self.name = name
        self._lease_seconds = lease_seconds
        self._should_stop = should_stop

    def run(self, *, once: bool = False, drain: bool = False) -> Tally:
        """Work until stopped: with ``once`` one candidate at most, with ``drain`` until
        nothing is waiting; otherwise an empty queue is looked at again every
        ``poll_seconds``. A model that gives no answer stops a drain, and pauses a worker
        that keeps going (doubling up to an hour), rather than using up every waiting
        candidate's attempts. A stop request raises :class:`Interrupted` (any lease
        failed)."""
        tally = Tally()
        outages = 0
        while True:
            stop_if_asked(self._should_stop)
            outcome = self.work_one()
            if outcome is not None:
                tally.outcomes.append(outcome)
                outages = outages + 1 if outcome.model_down else 0
                if once or (drain and outages):
                    return tally
                if outages:
                    self._idle(min(self._settings.poll_seconds * 2 ** (outages - 1), 3600))
                continue
            if once or drain:
                return tally
            self._idle(self._settings.poll_seconds)

    def work_one(self) -> Outcome | None:
        """Claim one candidate and summarize it; None when nothing is waiting."""
        packet = self._hand_off.claim(self.name, self._lease_seconds)
        if packet is None:
            return None
        lease = _Lease(self._hand_off, packet, self._lease_seconds)
        started = time.monotonic()
        calls = [0]
        try:
            draft = self._write(packet, lease, calls)
            answer = self._hand_off.done(lease.candidate_id, lease.token, draft)
        except _GiveUp as exc:
            return self._give_up(lease, str(exc), calls[0], isinstance(exc, _ModelDown))
        except (_LeaseLost, Conflict) as exc:
            log.warning(
                "candidate %d: the lease ended while it was worked on: %s",
                lease.candidate_id,
                exc,
                extra={"event": "summarize_lease_lost"},
            )
            return Outcome(lease.candidate_id, "lost", str(exc), calls[0])
        except (Interrupted, KeyboardInterrupt):
            self._give_up(lease, "the worker was stopped before the draft was done", calls[0])
            raise
        except PromptError as exc:  # the template, not the candidate: stop the worker
            self._give_up(lease, str(exc), calls[0])
            raise
        if answer.get("accepted") is False:  # the server's guards refused it: lease failed
            reason = str(answer.get("reason") or "refused by the server's guards")
            log.warning(
                "candidate %d: the server refused the draft: %s",
                lease.candidate_id,
                reason,
                extra={"event": "summarize_refused"},
            )
            return Outcome(lease.candidate_id, "failed", reason, calls[0])
        log.info(
            "candidate %d: draft handed in (%s) after %d model calls in %.1f s",
            lease.candidate_id,
            answer.get("state", "done"),
            calls[0],
            time.monotonic() - started,
            extra={
                "event": "summarize_done",
                "candidate": lease.candidate_id,
                "model_calls": calls[0],
            },
        )
        return Outcome(lease.candidate_id, "summarized", None, calls[0])

    def _give_up(self, lease: _Lease, reason: str, calls: int, model_down: bool = False) -> Outcome:
        reason = " ".join(reason.split())[:500]
        try:
            self._hand_off.fail(lease.candidate_id, lease.token, reason)
        except Conflict as exc:
            log.warning(
                "candidate %d: not failed, the lease had ended: %s",
                lease.candidate_id,
                exc,
                extra={"event": "summarize_lease_lost"},
            )
            return Outcome(lease.candidate_id, "lost", reason, calls)
        log.warning(
            "candidate %d failed: %s",
            lease.candidate_id,
            reason,
            extra={"event": "summarize_failed", "candidate": lease.candidate_id},
        )
        return Outcome(lease.candidate_id, "failed", reason, calls, model_down)

    def _write(self, packet: Mapping, lease: _Lease, calls: list[int]) -> dict[str, str]:
        """A draft that passed the guards, or _GiveUp with the reason."""
        messages: list[Message] = [
            {"role": "user", "content": render_prompt(self._template, packet, self._settings)}
        ]
        draft = self._ask_for_draft(messages, lease, calls)
        refused = self._check(draft, packet, lease)
        if not refused:
            return draft
        log.info(
            "candidate %d: draft failed %s; asking once more",
            lease.candidate_id,
            ", ".join(check.name for check in refused),
            extra={"event": "summarize_guards_failed"},
        )
        messages.append({"role": "user", "content": _fix_checks(refused)})
        draft = self._ask_for_draft(messages, lease, calls)
        refused = self._check(draft, packet, lease)
        if refused:
            listed = "; ".join(f"{check.name}: {check.reason}" for check in refused)
            raise _GiveUp(f"the draft failed the guards twice: {listed}")
        return draft

    def _ask_for_draft(
        self, messages: list[Message], lease: _Lease, calls: list[int]
    ) -> dict[str, str]:
        """Ask, parse; a malformed answer is asked once more (telling the model why).
        The model's answers join ``messages``, so a re-prompt sees what it wrote."""
        for attempt in range(2):
            answer = self._ask(messages, lease, calls)
            messages.append({"role": "assistant", "content": answer})
            draft = parse_parts(answer)
            if draft is not None:
                return draft
            if attempt == 0:
                messages.append({"role": "user", "content": _FIX_JSON})
        raise _GiveUp(
            "the model's answer was not a JSON object with the four parts, twice: "
            + _glimpse(answer)
        )

    def _check(self, draft: Mapping[str, str], packet: Mapping, lease: _Lease) -> list[Check]:
        """The guards' failed checks (textstat's first use in a process takes seconds)."""
        return failed(self._keeping(lease, check_draft, draft, packet, self._guards))

    def _ask(self, messages: Sequence[Message], lease: _Lease, calls: list[int]) -> str:
        calls[0] += 1
        try:
            return self._keeping(lease, self._model.complete, list(messages))
        except ModelError as exc:
            raise _ModelDown(f"model: {exc}") from None

    def _keeping(self, lease: _Lease, step: Callable[..., T], *args: object) -> T:
        """``step(*args)`` run in a thread while this one keeps the lease alive and watches
        for a stop; its result, or its exception raised here."""
        result: dict[str, object] = {}
        finished = threading.Event()

        def run() -> None:
            try:
                result["value"] = step(*args)
            except BaseException as exc:  # handed to the waiting thread
                result["error"] = exc
            finally:
                finished.set()

        # a daemon thread: a worker stopped mid-call exits without waiting for the model
        threading.Thread(target=run, name="litmon-summarize-step", daemon=True).start()
        while not finished.wait(min(_TICK, max(0.01, lease.seconds_to_renewal()))):
            stop_if_asked(self._should_stop)
            lease.keep()
        if "error" in result:
            raise result["error"]  # type: ignore[misc]
        return result["value"]  # type: ignore[return-value]

    def _idle(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            stop_if_asked(self._should_stop)
            time.sleep(min(_TICK, left))


def _fix_checks(failed: Sequence[Check]) -> str:
    listed = "\n".join(f"- {check.name}: {check.reason}" for check in failed)
    return (
        f"Your draft did not pass these checks:\n{listed}\n\nWrite the draft again, fixing"
        " every one of them. Answer with the JSON object only, with the keys "
        + ", ".join(PARTS)
        + "."
    )


_FIX_JSON = (
    "Your answer was not the JSON object asked for. Answer again with only a JSON object"
    " with the keys " + ", ".join(PARTS) + ", each a string."
)


def _glimpse(answer: str) -> str:
    """The start of an answer, for the failure reason editors read."""
    text = " ".join(answer.split())
    return repr(text[:80] + ("…" if len(text) > 80 else "")) if text else "an empty answer"
