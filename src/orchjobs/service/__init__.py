"""Use cases: each opens and commits its own transaction; the only writer of state."""
