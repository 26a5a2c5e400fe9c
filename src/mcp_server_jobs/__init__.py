"""mcp-server-jobs: background jobs for MCP clients."""

import os

# Before numpy loads: its BLAS would start a thread per core, and a second thread doubled the
# tail latency of vector search on a 2-core machine while the scheduler shared it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
