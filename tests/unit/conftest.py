from tests.support.dbfixtures import database_url, db, pg_server, pg_url

__all__ = ["database_url", "db", "pg_server", "pg_url"]
