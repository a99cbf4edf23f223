"""The summarizer worker (``litmon summarize``), a client of the hand-off: it claims
approved candidates, has an OpenAI-compatible model write the four-part lay draft from the
packet, checks it with the guards of :mod:`litmon.review.guards`, and hands it in."""

from litmon.summarize.hand_off import HandOff, HttpHandOff, LocalHandOff
from litmon.summarize.llm import ChatModel, ModelError
from litmon.summarize.prompt import PromptError, compile_prompt, render_prompt
from litmon.summarize.settings import SummarizerSettings
from litmon.summarize.worker import Outcome, Tally, Worker

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
