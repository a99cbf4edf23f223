"""The summarizer worker (``litmon summarize``), a client of the hand-off: it claims
approved candidates, has an OpenAI-compatible model write the four-part lay draft from the
packet, checks it with the guards of :mod:`litmon.review.guards`, and hands it in."""

from litmon.core.lazy import on_first_use

# name: its module. Loaded on first use: the config imports summarize.settings with every
# command, and the openai client alone takes seconds to import (tests/test_startup.py).
_EXPORTS = {
    "HandOff": "hand_off",
    "HttpHandOff": "hand_off",
    "LocalHandOff": "hand_off",
    "ChatModel": "llm",
    "ModelError": "llm",
    "PromptError": "prompt",
    "compile_prompt": "prompt",
    "render_prompt": "prompt",
    "SummarizerSettings": "settings",
    "Outcome": "worker",
    "Tally": "worker",
    "Worker": "worker",
}


__getattr__ = on_first_use(__name__, _EXPORTS)


__all__ = [
    "ChatModel",
    "HandOff",
    "HttpHandOff",
    "LocalHandOff",
    "ModelError",
    "Outcome",
    "PromptError",
    "SummarizerSettings",
    "Tally",
    "Worker",
    "compile_prompt",
    "render_prompt",
]
