"""End-to-end fixtures: the subprocess opens the SQLite file in the data dir.

``services`` (and ``roster``) are parametrised over SQLite and PostgreSQL for in-process tests; here they
stay on SQLite, because the bot subprocess only sees the data dir. A PostgreSQL variant of an
end-to-end test passes ``DATABASE_URL`` to the subprocess itself.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def backend() -> None:
    """SQLite only (overrides the parametrised fixture of tests/conftest.py)."""
    return None
