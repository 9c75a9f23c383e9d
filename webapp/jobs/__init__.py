"""Background work: the dispatch pass, the scheduler's tick and heartbeats, the CLI."""
