"""A small OpenAI-compatible server on 127.0.0.1: Chat Completions from a script, and embeddings.

It stands in for an LLM provider so the real client path (pydantic-ai → openai SDK → HTTP) runs.
Its embeddings hash each word into one of 64 dimensions: texts sharing words are near.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.loopback import serve


@dataclass
class Reply:
    """One scripted answer: a status, a body, headers, and how long to wait before sending it."""

    status: int = 200
    body: dict[str, Any] = field(default_factory=dict)
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


def completion(message: dict[str, Any], finish: str = "stop") -> Reply:
    return Reply(
        body={
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": "fake-model",
            "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
        }
    )


def tool_call(name: str, arguments: dict[str, Any] | str, call_id: str = "call_1") -> Reply:
    """The model calls a tool (our tools, or final_result to give its verdict)."""
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}
    return completion({"content": None, "tool_calls": [call]}, finish="tool_calls")


def verdict(output: str = "done", **fields: Any) -> Reply:
    """The model's final answer through pydantic-ai's output tool (for a job with notify=auto)."""
    answer = {"output": output, "outcome": "success", "summary": "did it", "worth_reporting": False, **fields}
    return tool_call("final_result", answer)


def end_check(holds: bool) -> Reply:
    """The model's answer to the end-condition question of an ONGOING job."""
    return tool_call("final_result", {"holds": holds})


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    body = {"error": {"message": message, "type": "error", "code": str(status)}}
    return Reply(status=status, body=body, headers=headers or {})


@dataclass
class FakeOpenAI:
    """The script and what was asked of it."""

    script: list[Reply | Callable[[dict[str, Any]], Reply]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    busy: int = 0
    embedding_inputs: list[str] = field(default_factory=list)
    embeddings_error: Reply | None = None  # answer every embeddings request with this error while set

    async def _embeddings(self, request: Request) -> JSONResponse:
        body = await request.json()
        if self.embeddings_error is not None:
            return JSONResponse(self.embeddings_error.body, status_code=self.embeddings_error.status)
        inputs = [body["input"]] if isinstance(body["input"], str) else body["input"]
        self.embedding_inputs.extend(inputs)
        data = []
        for index, text in enumerate(inputs):
            vector = word_hash_vector(text)
            encoded: Any = vector.tolist()
            if body.get("encoding_format") == "base64":
                encoded = base64.b64encode(vector.astype("<f4").tobytes()).decode()
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        usage = {"prompt_tokens": len(inputs), "total_tokens": len(inputs)}
        return JSONResponse({"object": "list", "model": body["model"], "data": data, "usage": usage})

    async def _chat(self, request: Request) -> JSONResponse:
        self.busy += 1
        try:
            return await self._answer(await request.json())
        finally:
            self.busy -= 1

    async def _answer(self, body: dict[str, Any]) -> JSONResponse:
        self.requests.append(body)
        if not self.script:
            return JSONResponse(error(500, "the fake's script is empty").body, status_code=500)
        step = self.script.pop(0)
        reply = step(body) if callable(step) else step
        if reply.delay:
            await anyio.sleep(reply.delay)
        return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)


def word_hash_vector(text: str, dim: int = 64) -> np.ndarray[Any, np.dtype[np.float32]]:
    """A bag-of-words vector: each lower-cased word adds 1 to the dimension its hash picks."""
    vector = np.zeros(dim, dtype=np.float32)
    for word in re.findall(r"\w+", text.lower()):
        vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % dim] += 1.0
    return vector


@asynccontextmanager
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    """Serve a FakeOpenAI on a free loopback port for the duration of the block."""
    fake = FakeOpenAI()
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", fake._chat, methods=["POST"]),
            Route("/v1/embeddings", fake._embeddings, methods=["POST"]),
        ]
    )
    async with serve(app, idle=lambda: fake.busy == 0) as url:
        fake.url = f"{url}/v1"
        yield fake
