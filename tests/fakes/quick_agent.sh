#!/bin/sh
# A command agent for process tests: notes the job it was given in $AGENT_LOG (when set) and succeeds.
job=$(grep -o -m1 'Job job_[0-9a-z]*' | cut -c5-)
[ -n "$AGENT_LOG" ] && echo "$job" >> "$AGENT_LOG"
echo 'done'
echo '{"outcome": "success", "summary": "did it", "worth_reporting": true}'
