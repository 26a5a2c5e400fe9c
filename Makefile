# Two commands do all set-up: `make run` (the server) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 7803

.PHONY: run test check lint typecheck pytest bench bundle install dev clean

# Installs are redone only when pyproject.toml changes (the stamp files remember).
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

run: $(VENV)/.installed
	@echo "mcp-server-jobs: streamable HTTP on http://$(HOST):$(PORT)/mcp (Ctrl-C stops it)"
	@echo ""
	@echo "  MCP Inspector:  npx @modelcontextprotocol/inspector --cli http://$(HOST):$(PORT)/mcp --transport http --method tools/list"
	@echo "  Claude Code:    claude mcp add --transport http jobs-http http://$(HOST):$(PORT)/mcp"
	@echo "  Jobs page:      http://$(HOST):$(PORT)/ui in a browser"
	@echo "  Claude Desktop: add to claude_desktop_config.json (stdio, see mcp.json):"
	@echo '    {"mcpServers": {"jobs": {"type": "stdio", "command": "$(CURDIR)/$(BIN)/mcp-server-jobs", "args": ["serve"]}}}'
	@echo ""
	$(BIN)/mcp-server-jobs serve --transport http --host $(HOST) --port $(PORT)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench distribution
	$(BIN)/ruff format --check src tests bench distribution

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

pytest: $(VENV)/.installed-dev
	$(BIN)/pytest -q -n 2

check: lint typecheck

# The Claude Desktop bundle: dist/mcp-server-jobs-VERSION.mcpb (distribution/bundle.py).
bundle: $(VENV)/.installed
	$(BIN)/python distribution/bundle.py

# Benchmarks are not tests: they measure, and write BENCHMARKS.md.
bench: $(VENV)/.installed-dev
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m bench.run

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
