"""A real PostgreSQL server for the ledger tests (.ci/run starts one and exports its URL): each test gets
a database of its own, dropped afterwards. Skips without the server on a developer machine, fails in CI."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

URL_VARIABLE = "DTFUND_TEST_POSTGRES_URL"


def server_url() -> str:
    url = os.environ.get(URL_VARIABLE)
    if url:
        return url
    reason = f"no PostgreSQL server for the ledger tests ({URL_VARIABLE} is not set)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}, but CI must run these tests (.ci/run starts one: .ci/postgres.sh)")
    pytest.skip(reason)


@contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a new, empty database on the test server."""
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(server_url())
    name = f"dtfund_{uuid.uuid4().hex[:12]}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
