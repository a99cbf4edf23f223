"""The prompt: a Jinja2 template from the config, rendered from a summarization packet in a
sandbox (the template is configuration; the values are text from PubMed, feeds and editors,
so nothing in them may reach Python objects' internals or be evaluated as template code)."""

from __future__ import annotations

from collections.abc import Mapping

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from litmon.core.errors import UsageError
from litmon.review.guards import PARTS
from litmon.summarize.settings import SummarizerSettings

__all__ = ["PromptError", "compile_prompt", "render_prompt"]


class PromptError(UsageError):
    """The prompt template cannot be compiled or rendered; the message names its source."""


def _fact(fact: object) -> str:
    """A study fact of the packet as one line: its value, then its evidence."""
    if not isinstance(fact, Mapping):
        return str(fact)
    value = fact.get("value")
    if isinstance(value, list | tuple):
        text = ", ".join(str(item) for item in value) or "none"
    elif value is True or value is False:
        text = "yes" if value else "no"
    elif value is None:
        text = "unknown"
    else:
        text = str(value)
    evidence = fact.get("evidence") or []
    return f"{text} (evidence: {'; '.join(evidence)})" if evidence else text


def _environment() -> ImmutableSandboxedEnvironment:
    # StrictUndefined: a misspelt variable is an error naming it, not a silently empty line
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["fact"] = _fact
    return env


_ENV = _environment()


def compile_prompt(text: str, source: str) -> Template:
    """The template ``text`` (from ``source``, named in the error) ready to render; a
    syntax error is a :class:`PromptError` with its line."""
    try:
        return _ENV.from_string(text)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" line {line}" if line else ""
        raise PromptError(f"{source}{where}: not a valid Jinja2 template: {exc}") from None


def render_prompt(template: Template, packet: Mapping, settings: SummarizerSettings) -> str:
    """The prompt for one packet (as a claim returns it)."""
    work = packet.get("work", {})
    sent_back = packet.get("sent_back") or {}
    previous = (sent_back.get("draft") or {}) if sent_back else {}
    try:
        return template.render(
            packet=packet,
            work=work,
            facts=packet.get("facts", {}),
            topics=packet.get("topics", []),
            editor_notes=packet.get("editor_notes", []),
            # a draft an editor sent back: its parts, or its text when it was free text
            previous_draft=previous.get("parts") or previous.get("text"),
            return_note=sent_back.get("note"),
            reading_grade=settings.reading_grade,
            parts=PARTS,
        ).strip()
    except TemplateError as exc:
        raise PromptError(
            f"{settings.prompt_source}: cannot render the prompt for candidate"
            f" {packet.get('id')}: {exc}"
        ) from None
