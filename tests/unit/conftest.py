"""The database fixtures (``db``, ``database_url``, ``pg_server``) come from tests/conftest.py."""
