"""OpenAI-compatible chat client that samples k answers per item (for ``ExternalLabeler``).

Talks to ``POST {base_url}/chat/completions`` (OpenAI, vLLM, llama.cpp server, Ollama, LM Studio
and other compatible servers) with ``n = k`` samples and ``logprobs``. Each choice gives an
answer text and a confidence ``κ = exp(mean log-prob of its tokens)``, which grows with the
model's certainty (the direction SCOPE's code got backwards, see ``voting``); without logprobs
κ = 1 (plain majority). A server that ignores ``n`` is asked again until k answers arrived.

Requests are bounded by the caller's semaphore (``ExternalLabeler.max_concurrency``) and by the
connection pool; each has a timeout, and 429, 5xx, timeouts and connection errors are retried
with exponential backoff (``Retry-After`` is honoured, capped at ``max_backoff``). Needs
``httpx`` (in the ``dev`` extra).
"""

from __future__ import annotations

import asyncio
import math
import os
from contextlib import asynccontextmanager

DEFAULT_PROMPT = (
    "Classify the following text into exactly one of these categories: {classes}.\n"
    "Answer with the category name only.\n\nText: {item}"
)
RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class LabelerError(RuntimeError):
    """The server refused a request for good (4xx) or kept failing after every retry."""


def _httpx():
    try:
        import httpx
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("OpenAIChatLabeler needs httpx: pip install httpx") from exc
    return httpx


def choice_confidence(choice: dict) -> float:
    """``exp(mean token log-prob)`` of a chat-completion choice; 1.0 when logprobs are absent."""
    content = ((choice.get("logprobs") or {}).get("content")) or []
    lps = [t.get("logprob") for t in content if isinstance(t, dict) and t.get("logprob") is not None]
    if not lps:
        return 1.0
    return float(math.exp(sum(lps) / len(lps)))


class OpenAIChatLabeler:
    """Ask an OpenAI-compatible chat model for k sampled labels per item.

    model : model name sent to the server.
    base_url : API root including ``/v1`` (default ``$OPENAI_BASE_URL`` or OpenAI's).
    prompt : user message template with ``{item}`` and ``{classes}`` placeholders.
    system : optional system message.
    api_key : bearer token (default ``$OPENAI_API_KEY``; local servers usually need none).
    temperature, top_p, max_tokens, seed : sampling parameters (temperature 1.0 as TTRL/SCOPE).
    logprobs : request token log-probs for the confidence κ.
    timeout : seconds per HTTP request; max_retries, backoff, max_backoff : retry policy.

    Everything that changes the answers (model, prompt, system, sampling parameters) is part of
    the cache key (``cache_identity``); the URL and key are not, so a mirror reuses the cache.
    ``n_requests_`` counts HTTP requests sent (including retries).
    """

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        prompt: str = DEFAULT_PROMPT,
        system: str | None = None,
        api_key: str | None = None,
        temperature: float = 1.0,
        top_p: float | None = None,
        max_tokens: int = 16,
        seed: int | None = None,
        logprobs: bool = True,
        timeout: float = 30.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
    ):
        self.model = model
        self.base_url = base_url
        self.prompt = prompt
        self.system = system
        self.api_key = api_key
        self.temperature = temperature
        self.top_p = top_p
        self.max_tokens = max_tokens
        self.seed = seed
        self.logprobs = logprobs
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.n_requests_ = 0

    def cache_identity(self) -> dict:
        return {
            "kind": "openai-chat",
            "model": self.model,
            "prompt": self.prompt,
            "system": self.system,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "logprobs": bool(self.logprobs),
        }

    def _url(self) -> str:
        root = self.base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        return root.rstrip("/") + "/chat/completions"

    def messages(self, item, classes) -> list[dict]:
        names = ", ".join(str(c) for c in classes) if classes else ""
        msgs = [{"role": "system", "content": self.system}] if self.system else []
        msgs.append({"role": "user", "content": self.prompt.format(item=item, classes=names)})
        return msgs

    @asynccontextmanager
    async def session(self, max_connections: int = 8):
        """An ``httpx.AsyncClient`` with a bounded pool; ``ExternalLabeler`` opens one per batch."""
        httpx = _httpx()
        key = self.api_key if self.api_key is not None else os.environ.get("OPENAI_API_KEY")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        async with httpx.AsyncClient(timeout=httpx.Timeout(self.timeout), limits=limits, headers=headers) as client:
            yield client

    async def _post(self, client, body: dict) -> dict:
        httpx = _httpx()
        last: str = ""
        for attempt in range(int(self.max_retries) + 1):
            wait = min(float(self.max_backoff), float(self.backoff) * 2**attempt)
            try:
                self.n_requests_ += 1
                resp = await client.post(self._url(), json=body)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if resp.status_code == 200:
                    return resp.json()
                last = f"HTTP {resp.status_code}: {resp.text[:200]}"
                if resp.status_code not in RETRY_STATUS:
                    raise LabelerError(f"the server refused the request ({last})")
                after = resp.headers.get("retry-after")
                if after is not None:
                    try:
                        wait = min(float(self.max_backoff), max(wait, float(after)))
                    except ValueError:
                        pass
            if attempt < int(self.max_retries):
                await asyncio.sleep(wait)
        raise LabelerError(f"no answer after {int(self.max_retries) + 1} attempts; last error: {last}")

    async def alabel(self, client, item, k: int, classes=None) -> list[tuple[str | None, float]]:
        """k ``(answer text, κ)`` pairs for one item (several requests if the server caps ``n``)."""
        out: list[tuple[str | None, float]] = []
        for _ in range(int(k)):  # at most k requests, normally one
            body = {
                "model": self.model,
                "messages": self.messages(item, classes),
                "n": int(k) - len(out),
                "temperature": self.temperature,
                "max_tokens": self.max_tokens,
            }
            if self.top_p is not None:
                body["top_p"] = self.top_p
            if self.seed is not None:
                body["seed"] = self.seed
            if self.logprobs:
                body["logprobs"] = True
            data = await self._post(client, body)
            choices = data.get("choices") or []
            if not choices:
                raise LabelerError(f"the server returned no choices: {str(data)[:200]}")
            for ch in choices:
                text = (ch.get("message") or {}).get("content")
                out.append((text.strip() if isinstance(text, str) else None, choice_confidence(ch)))
            if len(out) >= int(k):
                break
        return out[: int(k)]

    def __call__(self, item, k: int, classes=None) -> list[tuple[str | None, float]]:
        """Synchronous convenience for one item."""
        from pseudolabel.ops.aio import run_coroutine

        async def one():
            async with self.session(1) as client:
                return await self.alabel(client, item, k, classes)

        return run_coroutine(one())
