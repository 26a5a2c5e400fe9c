"""A provider key given in the environment never reaches the database, the logs or a tool result."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from mcp import Client

from mcp_server_jobs.config import Settings
from mcp_server_jobs.server.app import build_server
from tests.conftest import ok, poll_job, wait_for
from tests.fakes.openai_server import FakeOpenAI, error, verdict
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


async def test_a_key_echoed_by_the_provider_is_redacted_everywhere(
    db_path: Path, tmp_path: Path, provider: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    # Proxies and some providers quote the credential they were sent.
    provider.script = [error(401, f"Incorrect API key provided: {KEY}. Header was 'Bearer {KEY}'.")]
    settings = Settings(db=db_path, timezone="UTC", backends=("model",), model="openai-chat:fake-model",
                        embeddings="off", webhook=None)  # fmt: skip
    async with Client(build_server(settings)) as client:
        job = ok(await client.call_tool("job_create", {"title": "Report", "description": "Write it.",
                                                       "job_type": "ONE_OFF"}))  # fmt: skip
        failed = await poll_job(client, job["id"], lambda j: j["status"] == "FAILED")
        inbox = ok(await client.call_tool("inbox_list", {}))
    assert provider.requests, "the run reached the provider"
    assert "Incorrect API key provided: [redacted]" in failed["runs"][0]["error"]
    assert "[redacted]" in (failed["status_reason"] or "")
    for answer in (json.dumps(failed), json.dumps(inbox)):
        assert KEY not in answer
    for path, content in files_named(tmp_path, "jobs.db").items():
        assert KEY.encode() not in content, path
