"""A command agent for process tests: notes each start in $AGENT_STARTS, then waits until the file
$AGENT_GATE exists (it is stopped before, in the tests that quit mid-run) and reports success."""

import os
import sys
import time
from pathlib import Path

context = sys.stdin.read()
with Path(os.environ["AGENT_STARTS"]).open("a") as starts:
    starts.write(f"{os.getpid()} {len(context)}\n")
gate = Path(os.environ["AGENT_GATE"])
deadline = time.monotonic() + 120
while not gate.exists() and time.monotonic() < deadline:
    time.sleep(0.02)
print('done\n{"outcome": "success", "summary": "did it", "worth_reporting": true}')
