"""Logging: quiet ``httpx`` (it logs request URLs, which carry the bot token) and redact tokens."""

from __future__ import annotations

import logging

from handlers.errors import redact


class RedactingFilter(logging.Filter):
    """Replaces anything shaped like a bot token in every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "apscheduler", "chromadb.telemetry", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
