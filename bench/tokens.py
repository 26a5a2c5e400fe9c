"""What the tools cost a client's model in context: tools/list and a typical answer, in bytes and tokens.

A real `serve` over stdio, read by the MCP client. The input side (each tool's name, description and
input schema) is what a model reads on every turn; output schemas are shown to few models. Tokens
are estimated at 4 bytes each, the usual rate for English and JSON in GPT and Claude tokenizers.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.client.stdio import StdioServerParameters

COMMAND = str(Path(sys.executable).parent / "mcp-server-jobs")
BYTES_PER_TOKEN = 4
INPUT_BUDGET_TOKENS = 3000
REQUEST = {
    "title": "Pending invoices reminder",
    "description": "List the invoices still unpaid and remind me to chase them.",
    "job_type": "SCHEDULED",
    "schedule": {"cron": "0 9 * * 1", "timezone": "Europe/Paris"},
}


def _compact(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


async def measure() -> dict[str, float]:
    """Bytes and estimated tokens of tools/list's input side and output schemas, and of a job_create answer."""
    with tempfile.TemporaryDirectory() as folder:
        args = ["serve", "--db", f"{folder}/jobs.db", "--embeddings", "off", "--backend", "dry-run"]
        async with Client(StdioServerParameters(command=COMMAND, args=args)) as client:
            tools = (await client.list_tools()).tools
            created = await client.call_tool("job_create", REQUEST)
    inputs = sum(_compact({"name": t.name, "description": t.description, "inputSchema": t.input_schema}) for t in tools)
    outputs = sum(_compact(t.output_schema or {}) for t in tools)
    text = "".join(getattr(block, "text", "") for block in created.content)
    return {
        "tools": float(len(tools)),
        "input_side_bytes": float(inputs),
        "input_side_tokens": inputs / BYTES_PER_TOKEN,
        "output_schemas_bytes": float(outputs),
        "job_create_answer_text_bytes": float(len(text.encode())),
        "job_create_answer_structured_bytes": float(_compact(created.structured_content)),
    }
