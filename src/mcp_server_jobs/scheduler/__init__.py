"""The clock and the runs: wakes jobs on time and carries them out. Imports the store, never the server."""
