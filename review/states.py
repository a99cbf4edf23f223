"""A candidate's life: the one transition table every operation of the queue goes through.

docs/queue.md ("The candidate queue") prints this table; tests/test_queue.py tries every cell.
"""

from __future__ import annotations

from litmon.core.errors import UsageError

STATES = (
    "new",
    "approved",
    "rejected",
    "deferred",
    "leased",
    "summarized",
    "published",
    "dead",
    "discarded",
    "withdrawn",
)

# An undo returns to the state before the decision it undoes (from its audit row).
PREVIOUS = "(previous)"

# action → {from state: to state}. Anything not listed is refused.
TRANSITIONS: dict[str, dict[str, str]] = {
    # Editors' decisions; one on a leased candidate revokes the lease.
    "approve": {"new": "approved", "rejected": "approved", "deferred": "approved",
                "leased": "approved"},
    "reject": {"new": "rejected", "approved": "rejected", "deferred": "rejected",
               "leased": "rejected"},
    "defer": {"new": "deferred", "approved": "deferred", "rejected": "deferred",
              "deferred": "deferred", "leased": "deferred"},
    "undo": {"approved": PREVIOUS, "rejected": PREVIOUS, "deferred": PREVIOUS},
    # The date of a deferral came (applied when the queue is next listed or claimed from).
    "wake": {"deferred": "new"},
    # Summarizers.
    "claim": {"approved": "leased"},
    # A draft handed in awaits review ("summarized").
    "done": {"leased": "summarized"},
    "fail": {"leased": "approved"},
    "expire": {"leased": "approved"},
    # A failure or an expired lease on the last allowed attempt.
    "give_up": {"leased": "dead"},
    "retry": {"dead": "approved"},
    "discard": {"dead": "discarded"},
    # Editors' review of a draft: publish it, edit it (a new version), or send it back to
    # the summarizers with a note; a published piece is taken back to review to be edited.
    "publish": {"summarized": "published"},
    "edit": {"summarized": "summarized"},
    "send_back": {"summarized": "approved"},
    "unpublish": {"published": "summarized"},
    # NLM deleted the work, or it was retracted.
    "withdraw": {state: "withdrawn" for state in STATES if state != "withdrawn"},
    # The published piece of a withdrawn work was taken down (audited; state stays).
    "ack_takedown": {"withdrawn": "withdrawn"},
    # An editor's note on a candidate in any state (audited; state stays).
    "note": {state: state for state in STATES},
}  # fmt: skip

DECISIONS = ("approve", "reject", "defer")


def target(action: str, state: str) -> str:
    """The state ``action`` leads to from ``state``; a refused cell is a UsageError saying
    what is allowed instead."""
    cells = TRANSITIONS[action]
    if state not in cells:
        allowed = ", ".join(sorted(cells))
        raise UsageError(f"cannot {action} a candidate that is {state} (only {allowed})")
    return cells[state]
