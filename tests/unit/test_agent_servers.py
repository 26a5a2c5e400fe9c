"""Reading an mcpServers file: the servers as written, or one error naming the file and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_server_jobs.agent_servers import AgentServersError, read_agent_servers


def test_the_servers_are_returned_as_written(tmp_path: Path) -> None:
    path = tmp_path / "servers.json"
    path.write_text('{"mcpServers": {"pages": {"command": "pages", "args": ["-q"]}, "crm": {"url": "http://x/mcp"}}}')
    assert read_agent_servers(path) == {"pages": {"command": "pages", "args": ["-q"]}, "crm": {"url": "http://x/mcp"}}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{not json", "not valid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        ('["pages"]', 'not a JSON object with an "mcpServers" key'),
        ('{"servers": {}}', 'no "mcpServers" key'),
        ('{"mcpServers": ["pages"]}', '"mcpServers" is not a JSON object'),
    ],
)
def test_a_file_of_another_shape_says_what_is_wrong(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "servers.json"
    path.write_text(text)
    with pytest.raises(AgentServersError) as raised:
        read_agent_servers(path)
    assert raised.value.problem == problem
    assert str(raised.value) == f"{path}: {problem}"


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(AgentServersError, match="No such file or directory"):
        read_agent_servers(tmp_path / "absent.json")
