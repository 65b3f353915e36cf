"""An engine over any OpenAI-compatible server (vLLM, llama.cpp, Ollama, SGLang), via aiohttp.

The batch goes as ONE `POST /v1/completions` whose `prompt` is the list of every prompt (vLLM
takes this); answers come back in `choices`, mapped to prompts by `index`. The prompts are
already rendered with a chat template (ChatML by default), so the server completes them as
they are. The JSON schema rides in the field the server reads (`schema_field`):

    structured_outputs   vLLM: {"structured_outputs": {"json": schema}}
    json_schema          llama.cpp: {"json_schema": schema}
    response_format      {"response_format": {"type": "json_schema", ...}} (SGLang, others)
    none                 no constraint; the repair layer copes

A server that refuses the list (any 4xx answer) gets the batch again as concurrent
`POST /v1/chat/completions`, one per prompt, with `response_format` json_schema; a ChatML
prompt is split back into its messages for that, any other text goes as one user message.
Cancelling `generate` closes its connections, and vLLM's server aborts the requests of a
closed connection, hence `aborts_on_cancel`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

import aiohttp

log = logging.getLogger(__name__)

SchemaField = Literal["structured_outputs", "json_schema", "response_format", "none"]
_CHATML = re.compile(r"<\|im_start\|>(\w+)\n(.*?)<\|im_end\|>\n?", re.DOTALL)
_CHATML_OPEN = "<|im_start|>assistant\n"


class OpenAIEngineError(RuntimeError):
    """The whole batch failed: the server is unreachable, timed out, or refused it."""


class OpenAIEngine:
    """An `Engine` over an OpenAI-compatible HTTP server."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        *,
        schema_field: SchemaField = "structured_outputs",
        temperature: float = 0.7,
        timeout_s: float = 60.0,
        max_concurrency: int = 32,
        aborts_on_cancel: bool = True,
    ) -> None:
        base = base_url.rstrip("/")
        self.base_url = base if base.endswith("/v1") else base + "/v1"
        self.model = model
        self.api_key = api_key
        self.schema_field = schema_field
        self.temperature = temperature
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.max_concurrency = max_concurrency
        self._aborts = aborts_on_cancel
        self._session: aiohttp.ClientSession | None = None
        self.requests: Counter[str] = Counter()
        self.list_prompts = True
        """False once the server refused a list of prompts: later batches go straight to chat."""
        """POSTs made, by endpoint ("completions", "chat"): one "completions" a batch."""

    @property
    def name(self) -> str:
        return f"openai:{self.model}"

    @property
    def aborts_on_cancel(self) -> bool:
        return self._aborts

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            self._session = aiohttp.ClientSession(timeout=self.timeout, headers=headers)
        return self._session

    async def generate(
        self, prompts: Sequence[str], *, schema: dict[str, Any], max_tokens: int
    ) -> list[str | None]:
        """One completion per prompt, in order. Raises `OpenAIEngineError` if all failed."""
        if not prompts:
            return []
        if not self.list_prompts:
            return await self._chat_batch(prompts, schema, max_tokens)
        body: dict[str, Any] = {
            "model": self.model,
            "prompt": list(prompts),
            "max_tokens": max_tokens,
            "temperature": self.temperature,
            **self._schema_fields(schema),
        }
        status, data = await self._post("completions", body)
        if status == 200:
            return _by_index(data, len(prompts))
        if 400 <= status < 500:
            log.info(
                "%s refused a list of %d prompts (HTTP %d: %s); sending chat requests",
                self.base_url,
                len(prompts),
                status,
                _message(data),
            )
            self.list_prompts = False
            return await self._chat_batch(prompts, schema, max_tokens)
        raise OpenAIEngineError(
            f"{self.base_url}/completions answered HTTP {status}: {_message(data)}"
        )

    def _schema_fields(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self.schema_field == "structured_outputs":
            return {"structured_outputs": {"json": schema}}
        if self.schema_field == "json_schema":
            return {"json_schema": schema}
        if self.schema_field == "response_format":
            return {"response_format": _response_format(schema)}
        return {}

    async def _chat_batch(
        self, prompts: Sequence[str], schema: dict[str, Any], max_tokens: int
    ) -> list[str | None]:
        limit = asyncio.Semaphore(self.max_concurrency)

        async def one(prompt: str) -> str | None:
            body = {
                "model": self.model,
                "messages": _messages(prompt),
                "max_tokens": max_tokens,
                "temperature": self.temperature,
                "response_format": _response_format(schema),
            }
            async with limit:
                status, data = await self._post("chat/completions", body)
            if status != 200:
                log.warning("chat request refused (HTTP %d: %s)", status, _message(data))
                return None
            try:
                content = data["choices"][0]["message"]["content"]
            except (KeyError, IndexError, TypeError):
                return None
            return content if isinstance(content, str) else None

        texts = list(await asyncio.gather(*(one(p) for p in prompts)))
        if all(t is None for t in texts):
            raise OpenAIEngineError(f"{self.base_url}: every chat request was refused")
        return texts

    async def _post(self, endpoint: str, body: dict[str, Any]) -> tuple[int, Any]:
        url = f"{self.base_url}/{endpoint}"
        self.requests["chat" if endpoint.startswith("chat") else "completions"] += 1
        try:
            async with self._client().post(url, json=body) as response:
                try:
                    data = await response.json(content_type=None)
                except ValueError:
                    data = {"error": {"message": (await response.text())[:300]}}
                return response.status, data
        except TimeoutError:
            raise OpenAIEngineError(f"{url}: no answer within {self.timeout.total}s") from None
        except aiohttp.ClientError as error:
            raise OpenAIEngineError(f"cannot reach {url}: {error}") from error

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _by_index(data: Any, count: int) -> list[str | None]:
    texts: list[str | None] = [None] * count
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list):
        raise OpenAIEngineError(f"the server's answer has no choices: {str(data)[:200]}")
    for position, choice in enumerate(choices):
        if not isinstance(choice, dict):
            continue
        index = choice.get("index", position)
        text = choice.get("text")
        if isinstance(index, int) and 0 <= index < count and isinstance(text, str):
            texts[index] = text
    return texts


def _messages(prompt: str) -> list[dict[str, str]]:
    """The chat messages a ChatML prompt was rendered from; other text is one user message."""
    body = prompt.removesuffix(_CHATML_OPEN)
    turns = _CHATML.findall(body)
    if turns and "".join(_CHATML.sub("", body).split()) == "":
        return [{"role": role, "content": content} for role, content in turns]
    return [{"role": "user", "content": prompt}]


def _response_format(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "decision", "schema": schema}}


def _message(data: Any) -> str:
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict):
            return str(error.get("message", error))[:300]
        return str(error)[:300]
    return str(data)[:300]
