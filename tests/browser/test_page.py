"""The jobs page in a real headless Chromium: at /ui of a running HTTP server (signed in with a token), and
as an MCP App inside a host (a host page that relays the app's calls to a real MCP client). Real jobs, real
runs: the timeline shows the next runs, an action changes the job, a new report appears."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from playwright.async_api import Browser, ConsoleMessage, Page

from mcp_server_jobs.config import Settings
from mcp_server_jobs.server.app import build_server
from mcp_server_jobs.server.page import OVERVIEW_URI
from tests.conftest import QUICK_AGENT, ok, poll_job, wait_for
from tests.integration.test_http_auth import add_token, signed_in
from tests.integration.test_processes import listening, server

pytestmark = pytest.mark.anyio

JOBS = [
    {"title": "Weekly invoices", "description": "Remind me of unpaid invoices.", "job_type": "SCHEDULED",
     "schedule": "every monday at 9am"},
    {"title": "Check the build", "description": "Say whether main is green.", "job_type": "RECURRING",
     "schedule": "every 6h", "notify": "always"},
    {"title": "Ping the team", "description": "Say hello.", "job_type": "ONE_OFF", "notify": "always"},
]  # fmt: skip


async def make_jobs(client: Client) -> dict[str, dict[str, Any]]:
    """The three jobs by title, once the two that start now have run."""
    made = {job["title"]: ok(await client.call_tool("job_create", job)) for job in JOBS}
    for title in ("Check the build", "Ping the team"):
        await poll_job(client, made[title]["id"], lambda j: j["runs"] and j["runs"][0]["outcome"] == "succeeded")
    return {
        title: ok(await client.call_tool("job_retrieval_by_id", {"job_id": job["id"]})) for title, job in made.items()
    }


def errors_of(page: Page) -> list[str]:
    """What the page logs as an error (a CSP violation among them), collected as it happens."""
    found: list[str] = []

    def note(message: ConsoleMessage) -> None:
        if message.type == "error":
            found.append(message.text)

    page.on("console", note)
    page.on("pageerror", lambda error: found.append(str(error)))
    return found


async def messages_shown(frame: Any) -> int:
    return int(await frame.locator("[data-message-id]").count())


async def test_the_browser_page_shows_the_timeline_and_its_buttons_change_jobs(
    browser: Browser, tmp_path: Path
) -> None:
    token = add_token(tmp_path / "tokens.json", "alice")
    quick = {"backends": "command", "command": QUICK_AGENT, "embeddings": "off"}
    with server(tmp_path / "jobs.db", tmp_path / "server.log", **quick) as (_, port):
        await wait_for(lambda: listening(port), seconds=30)
        async with signed_in(port, token) as client, httpx2.AsyncClient() as http:
            jobs = await make_jobs(client)
            answer = await http.get(f"http://127.0.0.1:{port}/ui")
            page = await browser.new_page()
            errors = errors_of(page)
            requested: list[str] = []
            page.on("request", lambda request: requested.append(request.url))
            await page.goto(f"http://127.0.0.1:{port}/ui")
            # No token yet: /mcp answers 401 and the page asks for one.
            await page.locator("#signin").wait_for(state="visible")
            await page.fill("#token", token)
            await page.click("#signin-button")
            await page.locator("body[data-loaded=yes]").wait_for()
            refused = errors.copy()  # the 401 before the token (the browser logs it); nothing else
            errors.clear()

            weekly = jobs["Weekly invoices"]
            ticks = page.locator(f".tick[data-job-id={weekly['id']}]")
            shown_runs = [await ticks.nth(i).get_attribute("data-at") for i in range(await ticks.count())]
            ping = page.locator(f".job[data-job-id={jobs['Ping the team']['id']}]")
            await ping.locator("td.succeeded").wait_for()
            before = await messages_shown(page)

            await page.locator(f".job[data-job-id={weekly['id']}] button[data-action=pause]").click()
            paused = await poll_job(client, weekly["id"], lambda j: j["status"] == "PAUSED")
            await page.locator(f".job[data-job-id={weekly['id']}][data-status=PAUSED]").wait_for()
            build = jobs["Check the build"]
            await page.locator(f".job[data-job-id={build['id']}] button[data-action='run now']").click()
            with anyio.fail_after(20):
                while await messages_shown(page) <= before:  # noqa: ASYNC110 -- the page refreshes itself
                    await anyio.sleep(0.1)
            await page.screenshot(path=tmp_path / "jobs-page.png", full_page=True)
            inbox = ok(await client.call_tool("inbox_list", {"unread_only": False}))
            newest = inbox["results"][0]["id"]
            await page.locator(f"[data-message-id={newest}] button[data-action='mark read']").click()
            await page.locator(f"[data-message-id={newest}]:not(.unread)").wait_for()
            unread = ok(await client.call_tool("inbox_list", {"unread_only": True}))

    assert answer.status_code == 200
    assert "script-src 'sha256-" in answer.headers["content-security-policy"]
    assert "connect-src 'self'" in answer.headers["content-security-policy"]
    assert shown_runs == weekly["next_runs"]
    assert len(shown_runs) == 3
    assert paused["status"] == "PAUSED"
    assert len(inbox["results"]) == before + 1
    assert newest not in [message["id"] for message in unread["results"]]
    assert unread["unread_count"] == len(inbox["results"]) - 1
    assert (tmp_path / "jobs-page.png").stat().st_size > 10_000
    assert refused == ["Failed to load resource: the server responded with a status of 401 (Unauthorized)"]
    # Nothing but the page and its server's /mcp: no script, style, font or image from anywhere else.
    assert set(requested) == {f"http://127.0.0.1:{port}/ui", f"http://127.0.0.1:{port}/mcp"}
    assert errors == [], errors


HOST_PAGE = """<!DOCTYPE html><html><body style="margin:0;background:#111">
<iframe id="app" sandbox="allow-scripts" style="width:900px;height:900px;border:0"></iframe>
<script>
// A minimal MCP Apps host: it answers the handshake, sends the tool's result, and relays tools/call.
const frame = document.getElementById("app");
window.hostLog = [];
window.addEventListener("message", async (event) => {
  const message = event.data;
  window.hostLog.push(message.method || `answer ${message.id}: ${message.error ? "error" : "ok"}`);
  const reply = (result) => frame.contentWindow.postMessage({jsonrpc: "2.0", id: message.id, result}, "*");
  if (message.method === "ui/initialize") {
    reply({protocolVersion: "2026-01-26", hostInfo: {name: "test-host", version: "1"},
           hostCapabilities: {serverTools: {}}, hostContext: {theme: "dark", displayMode: "inline",
           styles: {variables: {"--color-background-primary": "#0b1021"}}}});
  } else if (message.method === "ui/notifications/initialized") {
    const send = (method, params) => frame.contentWindow.postMessage({jsonrpc: "2.0", method, params}, "*");
    send("ui/notifications/tool-input", {arguments: {}});
    send("ui/notifications/tool-result", window.toolResult);
    frame.contentWindow.postMessage({jsonrpc: "2.0", id: "h1", method: "ping", params: {}}, "*");
    frame.contentWindow.postMessage({jsonrpc: "2.0", id: "h2", method: "sampling/createMessage", params: {}}, "*");
  } else if (message.method === "tools/call") {
    reply(JSON.parse(await window.hostCallTool(JSON.stringify(message.params))));
  }
});
</script></body></html>"""


async def test_the_app_in_a_host_renders_the_tool_result_and_calls_tools_through_the_host(
    browser: Browser, tmp_path: Path
) -> None:
    settings = Settings(db=tmp_path / "jobs.db", timezone="UTC", backends=("command",), command=QUICK_AGENT,
                        embeddings="off")  # fmt: skip
    async with Client(build_server(settings)) as client:
        jobs = await make_jobs(client)
        [tool] = [t for t in (await client.list_tools()).tools if t.name == "jobs_overview"]
        [content] = (await client.read_resource(OVERVIEW_URI)).contents
        result = await client.call_tool("jobs_overview", {})
        relayed: list[str] = []

        async def host_call_tool(params: str) -> str:
            call = json.loads(params)
            relayed.append(call["name"])
            answer = await client.call_tool(call["name"], call["arguments"])
            return answer.model_dump_json(by_alias=True, exclude_none=True)

        page = await browser.new_page()
        errors = errors_of(page)
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        await page.expose_function("hostCallTool", host_call_tool)
        await page.set_content(HOST_PAGE)
        await page.evaluate(
            "(result) => { window.toolResult = result; }", result.model_dump(mode="json", by_alias=True)
        )
        await page.evaluate("(html) => { document.getElementById('app').srcdoc = html; }", getattr(content, "text", ""))
        app = page.frame_locator("#app")
        await app.locator("body[data-loaded=yes]").wait_for()
        weekly = jobs["Weekly invoices"]
        await app.locator(f".job[data-job-id={weekly['id']}] button[data-action=pause]").click()
        paused = await poll_job(client, weekly["id"], lambda j: j["status"] == "PAUSED")
        await app.locator(f".job[data-job-id={weekly['id']}][data-status=PAUSED]").wait_for()
        ticks = app.locator(".tick")
        await page.screenshot(path=tmp_path / "jobs-app.png")
        await app.locator(f".job[data-job-id={weekly['id']}] button[data-action=resume]").click()
        resumed = await poll_job(client, weekly["id"], lambda j: j["status"] == "ACTIVE")
        cancel = app.locator(f".job[data-job-id={weekly['id']}] button[data-action=cancel]")
        await cancel.click()  # once: it asks again, and nothing is sent
        asked = await cancel.inner_text()
        still = ok(await client.call_tool("job_retrieval_by_id", {"job_id": weekly["id"]}))
        await cancel.click()
        cancelled = await poll_job(client, weekly["id"], lambda j: j["status"] == "CANCELLED")
        host_log = await page.evaluate("window.hostLog")

    assert tool.meta == {"ui": {"resourceUri": OVERVIEW_URI}}
    assert content.mime_type == "text/html;profile=mcp-app"
    assert "https://" not in getattr(content, "text", "").split("<script>")[0]  # nothing fetched from elsewhere
    assert host_log[:2] == ["ui/initialize", "ui/notifications/initialized"]
    # The host's own requests are answered: a ping, and one the page does not handle, refused.
    assert {"answer h1: ok", "answer h2: error"} <= set(host_log)
    assert relayed[0] == "jobs_overview"
    assert "job_pause" in relayed
    assert paused["status"] == "PAUSED"
    assert resumed["status"] == "ACTIVE"
    assert asked == "Really cancel?"
    assert still["status"] == "ACTIVE"
    assert cancelled["status"] == "CANCELLED"
    assert relayed.count("job_cancel") == 1
    assert requested == []  # the app asked the network for nothing: every call went through the host
    assert await ticks.count() >= 3
    assert errors == [], errors
