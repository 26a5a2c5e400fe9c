"""The PostgreSQL store. Importing it loads psycopg; `store.factory.open_store` imports it only for a URL."""

from mcp_server_jobs.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
