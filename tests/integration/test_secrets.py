"""A provider key given in the environment never reaches the database, the logs or a tool result."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from mcp import Client

from tests.conftest import ok, wait_for
from tests.fakes.openai_server import FakeOpenAI, verdict
from tests.integration.test_processes import listening, server

pytestmark = pytest.mark.anyio

KEY = "sk-test-7a1f0c9e-do-not-leak-4d2b"


async def test_the_api_key_is_nowhere_but_the_environment(
    db_path: Path, tmp_path: Path, provider: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    provider.script = [verdict("The report is ready.")]
    log = tmp_path / "server.log"
    answers: list[str] = []
    with server(db_path, log, backends="model", model="openai-chat:fake-model", sweep_seconds="0.2") as (_, port):
        await wait_for(lambda: listening(port), seconds=30)
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            job = ok(await client.call_tool("job_create", {"title": "Report", "description": "Write it.",
                                                           "job_type": "ONE_OFF"}))  # fmt: skip
            answers.append(json.dumps(job))

            with anyio.fail_after(30):
                while True:
                    detail = ok(await client.call_tool("job_retrieval_by_id", {"job_id": job["id"]}))
                    answers.append(json.dumps(detail))
                    if detail["status"] != "ACTIVE" and detail["status"] != "IN_PROGRESS":
                        break
                    await anyio.sleep(0.1)
            for tool, arguments in [("inbox_list", {}), ("job_retrieval_semantic", {"query": "report"})]:
                answers.append(json.dumps(ok(await client.call_tool(tool, arguments))))
    assert '"COMPLETED"' in answers[-3]
    assert provider.requests, "the run reached the provider"
    for path, content in files_named(tmp_path, "jobs.db", "server.log").items():
        assert KEY.encode() not in content, path
    for answer in answers:
        assert KEY not in answer


def files_named(folder: Path, *prefixes: str) -> dict[Path, bytes]:
    """The database (with its -wal and -shm files) and the log, read whole."""
    return {p: p.read_bytes() for p in folder.iterdir() if p.name.startswith(prefixes)}
