"""The log queries are data: user input can never change a query's structure."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import get_args

import pytest

from tests.fixtures.supabase_logs import SERVICE_SOURCES
from tools.supabase import log_query, log_window
from tools.supabase_models import Service

HOSTILE = [
    "' OR 1=1 --",
    "'; DROP TABLE x; --",
    "\\'; select 1; --",
    "x') or ('1'='1",
    "*/ union all select * from logs /*",
    "unhex('41')) > 0 or 1=1 --",
    "\u2019 or 1=1 --",
    "line\nbreak",
]
HEX = re.compile(r"unhex\('([0-9a-f]*)'\)")


@pytest.mark.parametrize("service", get_args(Service))
def test_each_service_queries_its_source(service: Service) -> None:
    sql = log_query(service, None, 100)
    assert f"where source = '{SERVICE_SOURCES[service]}'" in sql
    assert sql.endswith("order by timestamp desc limit 100")
    assert "unhex" not in sql


@pytest.mark.parametrize("search", HOSTILE)
def test_search_cannot_alter_the_query(search: str) -> None:
    benign = log_query("api", "timeout", 50)
    hostile = log_query("api", search, 50)
    # Only the hex literal differs, and it holds exactly the search text.
    assert HEX.sub("unhex('')", hostile) == HEX.sub("unhex('')", benign)
    (literal,) = HEX.findall(hostile)
    assert bytes.fromhex(literal).decode() == search
    assert hostile.count("'") == benign.count("'")


def test_window_defaults_to_the_last_hour() -> None:
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    assert log_window(None, None, now) == (now - timedelta(hours=1), now)
    start = now - timedelta(hours=5)
    assert log_window(start, None, now) == (start, start + timedelta(hours=1))
    assert log_window(None, now - timedelta(hours=2), now) == (now - timedelta(hours=3), now - timedelta(hours=2))
    assert log_window(now - timedelta(minutes=10), None, now) == (now - timedelta(minutes=10), now)
