"""``[summarizer]``: which model writes the drafts and how it is asked (the app shell reads
the config file into :class:`SummarizerSettings`; the key comes from the environment only)."""

from __future__ import annotations

from dataclasses import dataclass

# An Ollama server on this host: nothing leaves the machine until an operator points
# base_url (or LITMON_LLM_URL) at a hosted service.
DEFAULT_BASE_URL = "http://127.0.0.1:11434/v1"
DEFAULT_MODEL = "llama3.1:8b"


@dataclass(frozen=True, slots=True)
class SummarizerSettings:
    base_url: str = DEFAULT_BASE_URL
    model: str = DEFAULT_MODEL
    timeout: float = 120.0  # seconds for one answer of the model
    # retries of one request after a timeout, a lost connection, 429 or 5xx (the openai
    # client's backoff, honouring Retry-After)
    max_retries: int = 4
    reading_grade: float = 8.0  # the school grade the prompt asks the model to write for
    temperature: float = 0.2
    max_tokens: int = 1500
    json_mode: bool = True  # ask for response_format json_object (dropped if refused)
    poll_seconds: float = 30.0  # a worker that found nothing to claim looks again after this
    prompt: str = ""  # the Jinja2 template's text (the shipped one unless the config says)
    prompt_source: str = "the shipped summarize_prompt.j2"  # named in errors
