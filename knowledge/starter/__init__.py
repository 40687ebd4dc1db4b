"""The committee's starter guides (Markdown), ingested when STARTER_KB is on."""

from pathlib import Path

STARTER_DIR = Path(__file__).resolve().parent
