"""A reference orchestrator that speaks the agent protocol over HTTP (demo, tests, load)."""
