"""The candidate queue, a stage after scoring: relevant works wait for editors' decisions,
and approved ones are leased to summarizer workers, with every transition audited."""

from litmon.review.leases import claim, done, extend, fail
from litmon.review.packet import build_packet
from litmon.review.queue import (
    MAX_ATTEMPTS,
    REJECTION_REASONS,
    Page,
    ack_takedown,
    add_note,
    decide,
    default_editor,
    discard,
    enqueue,
    enqueue_scored,
    history,
    list_candidates,
    retry,
    show,
    undo,
    withdraw_gone,
)
from litmon.review.states import STATES, TRANSITIONS

__all__ = [
    "MAX_ATTEMPTS",
    "REJECTION_REASONS",
    "STATES",
    "TRANSITIONS",
    "Page",
    "ack_takedown",
    "add_note",
    "build_packet",
    "claim",
    "decide",
    "default_editor",
    "discard",
    "done",
    "enqueue",
    "enqueue_scored",
    "extend",
    "fail",
    "history",
    "list_candidates",
    "retry",
    "show",
    "undo",
    "withdraw_gone",
]
