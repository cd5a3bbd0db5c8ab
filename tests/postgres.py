"""A fresh PostgreSQL database per test, on the cluster `.ci/run` starts (DEVOPS_MCP_TEST_POSTGRES)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest


@pytest.fixture
def postgres_url() -> Iterator[str]:
    base = os.environ.get("DEVOPS_MCP_TEST_POSTGRES")
    if not base:
        if os.environ.get("CI"):
            pytest.fail("DEVOPS_MCP_TEST_POSTGRES is not set: .ci/run starts PostgreSQL and sets it")
        pytest.skip('no PostgreSQL: run `eval "$(.ci/postgres start /tmp/pg)"` first')
    import psycopg

    name = f"audit_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield base.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
