"""The PostgreSQL server the store tests run against starts from the distribution's package."""

import psycopg


def test_each_test_gets_an_empty_database_of_its_own(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
        version = conn.execute("SHOW server_version_num").fetchone()
    assert tables == (0,)
    assert version is not None
    assert int(version[0]) >= 150000
