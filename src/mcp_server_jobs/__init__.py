"""mcp-server-jobs: background jobs for MCP clients."""

__version__ = "0.1.0"
