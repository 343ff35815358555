"""orchjobs: a self-hosted, Keyfactor Command-compatible orchestrator-job service."""

__all__ = ["__version__"]
__version__ = "0.1.0"
