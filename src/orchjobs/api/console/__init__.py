"""The operator's console: HTML pages (Jinja2 templates) and their static assets, served by the app itself."""

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
# Where the static directory is mounted; the pages name their scripts and styles under it.
STATIC_PATH = "/console/static"
