"""`python -m mcp_server_jobs`: the same command as `mcp-server-jobs`."""

import sys

from mcp_server_jobs.server.cli import main

sys.exit(main())
