"""The model: one chat-completions call to an OpenAI-compatible server (OpenAI, vLLM,
llama.cpp's llama-server, Ollama) through the ``openai`` client, whose own retries (timeouts,
lost connections, 429 and 5xx, with exponential backoff that honours ``Retry-After``) are
configured by ``[summarizer] max_retries``. What comes out is the answer's text, or a
:class:`ModelError` of one line without the API key in it."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import openai

from litmon.core.errors import SourceError
from litmon.core.redact import redact_text
from litmon.summarize.settings import SummarizerSettings

__all__ = ["Message", "ModelError", "ChatModel"]

log = logging.getLogger(__name__)

Message = dict[str, str]

# The openai client refuses to start without a key; local servers (Ollama, llama-server,
# vLLM without --api-key) ignore whatever is sent.
_NO_KEY = "no-key"


class ModelError(SourceError):
    """The model gave no usable answer after the client's retries; one line, key-free."""


class ChatModel:
    """One OpenAI-compatible endpoint and model. ``complete`` asks for a JSON object
    (``response_format``) while the server accepts it: a server that refuses it with 400
    is asked again without it, and not asked with it again."""

    def __init__(
        self,
        settings: SummarizerSettings,
        api_key: str | None,
        *,
        http_client: openai.DefaultHttpxClient | None = None,
    ) -> None:
        """``http_client``: the HTTP client the openai client sends with (default: its own)."""
        self._settings = settings
        self._key = api_key or _NO_KEY
        self._json_mode = settings.json_mode
        self._client = openai.OpenAI(
            base_url=settings.base_url,
            api_key=self._key,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
            http_client=http_client,
        )

    @property
    def url(self) -> str:
        return self._settings.base_url

    def complete(self, messages: Sequence[Message]) -> str:
        """The model's answer to ``messages`` (its text; "" when it said nothing)."""
        try:
            return self._ask(messages)
        except openai.BadRequestError as exc:
            if not self._json_mode:
                raise ModelError(self._describe(exc)) from None
            log.info(
                "%s refused response_format json_object (HTTP 400); asking without it",
                self.url,
                extra={"event": "summarize_json_mode_off"},
            )
            self._json_mode = False
            try:
                return self._ask(messages)
            except openai.OpenAIError as again:
                raise ModelError(self._describe(again)) from None
        except openai.OpenAIError as exc:
            raise ModelError(self._describe(exc)) from None

    def close(self) -> None:
        self._client.close()

    def _ask(self, messages: Sequence[Message]) -> str:
        settings = self._settings
        extra = {"response_format": {"type": "json_object"}} if self._json_mode else {}
        answer = self._client.chat.completions.create(
            model=settings.model,
            messages=list(messages),  # type: ignore[arg-type]
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            **extra,  # type: ignore[arg-type]
        )
        if not answer.choices:
            return ""
        return answer.choices[0].message.content or ""

    def _describe(self, exc: BaseException) -> str:
        """What went wrong, in one line naming the endpoint, never the key."""
        settings = self._settings
        tries = f"after {settings.max_retries} retries" if settings.max_retries else "no retries"
        if isinstance(exc, openai.APITimeoutError):
            what = f"no answer within {settings.timeout:g} s ({tries})"
        elif isinstance(exc, openai.APIConnectionError):
            what = f"cannot connect ({tries})"
        elif isinstance(exc, openai.APIStatusError):
            what = f"HTTP {exc.status_code} ({tries}): {_message(exc)}"
        else:
            what = f"{type(exc).__name__}: {exc}"
        line = " ".join(f"{settings.base_url} (model {settings.model}): {what}".split())
        return line.replace(self._key, "***")[:500]


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        detail = body.get("message") or body.get("error") or body
        if isinstance(detail, dict):
            detail = detail.get("message", detail)
        text = str(detail)
    else:
        text = str(exc.message)
    # an echoed bearer token or key=... in the server's message goes no further
    return redact_text(text)[:200]
