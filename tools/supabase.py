"""Supabase Management API: projects and service logs, over async httpx.

supabase-py is a client for one project's own APIs (PostgREST, auth, storage, functions,
realtime); the Management API (projects, analytics logs) is outside it, so plain httpx serves here.

Queries are data: one ClickHouse SQL template per service over the unified `logs` stream, and
the only user input that enters them (`search`) is bound as a hex literal (`unhex('…')`), which
no input can turn into anything but a string.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import anyio

from server.errors import ToolFailure
from tools.supabase_models import LogResult, LogSummary, Project, Service

if TYPE_CHECKING:
    import httpx

TIMEOUT_S = 15.0
READ_ATTEMPTS = 3
MAX_RETRY_AFTER_S = 10.0
DEFAULT_WINDOW = timedelta(hours=1)

# Per service: its log source and the fields that matter, as (column, ClickHouse expression) over the
# unified stream's `log_attributes` map.
_FIELDS: dict[Service, tuple[str, tuple[tuple[str, str], ...]]] = {
    "api": ("edge_logs", (
        ("status", "toInt32OrZero(log_attributes['response.status_code'])"),
        ("method", "log_attributes['request.method']"),
        ("path", "log_attributes['request.path']"),
    )),
    "postgres": ("postgres_logs", (
        ("level", "log_attributes['parsed.error_severity']"),
        ("user", "log_attributes['parsed.user_name']"),
    )),
    "auth": ("auth_logs", (
        ("level", "log_attributes['level']"),
        ("status", "toInt32OrZero(log_attributes['status'])"),
        ("path", "log_attributes['path']"),
    )),
    "storage": ("storage_logs", (
        ("status", "toInt32OrZero(log_attributes['res.statusCode'])"),
        ("method", "log_attributes['req.method']"),
        ("path", "log_attributes['req.url']"),
    )),
    "realtime": ("realtime_logs", (
        ("level", "log_attributes['level']"),
        ("channel", "log_attributes['channel_name']"),
    )),
    "edge-function": ("function_edge_logs", (
        ("status", "toInt32OrZero(log_attributes['response.status_code'])"),
        ("method", "log_attributes['request.method']"),
        ("function_id", "log_attributes['function_id']"),
        ("duration_ms", "toInt32OrZero(log_attributes['execution_time_ms'])"),
    )),
    "edge-function-runtime": ("function_logs", (
        ("level", "log_attributes['level']"),
        ("event_type", "log_attributes['event_type']"),
        ("function_id", "log_attributes['function_id']"),
    )),
    "branch-action": ("workflow_run_logs", (
        ("level", "log_attributes['level']"),
        ("workflow_run", "log_attributes['workflow_run']"),
        ("branch", "log_attributes['branch']"),
    )),
}  # fmt: skip

_QUERY = (
    "select timestamp, {fields}, event_message from logs "
    "where source = '{source}'{search} order by timestamp desc limit {limit}"
)


def log_columns(service: Service) -> list[str]:
    return ["timestamp", *(name for name, _ in _FIELDS[service][1]), "message"]


def log_query(service: Service, search: str | None, limit: int) -> str:
    """The SQL for one service. `service` and `limit` are validated values; `search` is hex-bound."""
    source, fields = _FIELDS[service]
    condition = ""
    if search:
        condition = f" and positionCaseInsensitiveUTF8(event_message, unhex('{search.encode().hex()}')) > 0"
    selected = ", ".join(f"{expression} as {name}" for name, expression in fields)
    return _QUERY.format(fields=selected, source=source, search=condition, limit=int(limit))


def log_window(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """The window to query: the last hour by default, an hour either side of a single bound."""
    if start is None and end is None:
        return now - DEFAULT_WINDOW, now
    if start is None:
        assert end is not None
        return end - DEFAULT_WINDOW, end
    return start, end if end is not None else min(start + DEFAULT_WINDOW, now)


def connect(base_url: str, token: str | None) -> SupabaseClient:
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return SupabaseClient(httpx.AsyncClient(base_url=base_url, headers=headers, timeout=TIMEOUT_S))


class SupabaseClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def _get(self, path: str, what: str, params: dict[str, str] | None = None) -> Any:
        """GET with retries: reads are safe to repeat (429 after Retry-After, 5xx with backoff)."""
        import httpx

        for attempt in range(1, READ_ATTEMPTS + 1):
            try:
                response = await self.http.get(path, params=params)
            except httpx.TimeoutException:
                raise ToolFailure(f"Supabase did not answer within {TIMEOUT_S:.0f} s while {what}; try again") from None
            except httpx.HTTPError as exc:
                raise ToolFailure(f"Supabase could not be reached while {what} ({type(exc).__name__})") from None
            if response.status_code == 429 and attempt < READ_ATTEMPTS:
                await anyio.sleep(_retry_after(response))
                continue
            if response.status_code >= 500 and attempt < READ_ATTEMPTS:
                await anyio.sleep(0.2 * 2**attempt)
                continue
            if response.status_code >= 400:
                raise _explain(response, what)
            return response.json()
        raise AssertionError("unreachable")  # the loop either returns or raises

    async def list_projects(self) -> list[Project]:
        data = await self._get("/v1/projects", "listing projects")
        return [_project(item) for item in data]

    async def get_project(self, ref: str) -> Project:
        return _project(await self._get(f"/v1/projects/{ref}", f"reading project {ref}"))

    async def get_logs(
        self, ref: str, service: Service, start: datetime, end: datetime, search: str | None, limit: int
    ) -> LogResult:
        params = {
            "sql": log_query(service, search, limit),
            "iso_timestamp_start": start.isoformat(),
            "iso_timestamp_end": end.isoformat(),
        }
        data = await self._get(f"/v1/projects/{ref}/analytics/endpoints/logs", f"reading {service} logs", params)
        if data.get("error"):
            raise ToolFailure(f"Supabase rejected the log query: {_error_text(data['error'])}")
        rows = data.get("result") or []
        return _log_result(ref, service, start, end, rows)


def _retry_after(response: httpx.Response) -> float:
    try:
        wait = float(response.headers.get("retry-after", "1"))
    except ValueError:
        wait = 1.0
    return min(max(wait, 0.0), MAX_RETRY_AFTER_S)


def _explain(response: httpx.Response, what: str) -> ToolFailure:
    status = response.status_code
    messages = {
        401: "Supabase rejected the token (401); check SUPABASE_ACCESS_TOKEN",
        402: "Supabase requires a paid plan for this (402)",
        403: "the token has no access to this project or organisation (403)",
        404: "the project does not exist or is not visible to this token (404)",
        429: "Supabase rate limit reached (429); wait a minute and try again",
    }
    if status in messages:
        return ToolFailure(f"{messages[status]} while {what}")
    return ToolFailure(f"Supabase failed while {what} ({status}); try again later")


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error)[:300]
    return str(error)[:300]


def _project(item: dict[str, Any]) -> Project:
    database = item.get("database") or {}
    return Project(
        ref=item.get("ref") or item.get("id", ""),
        name=item.get("name", ""),
        organization_id=item.get("organization_id"),
        region=item.get("region", ""),
        status=item.get("status", ""),
        database_version=database.get("version") if isinstance(database, dict) else None,
        created_at=item.get("created_at", ""),
    )


def _level(row: dict[str, Any]) -> str:
    """An HTTP status class (2xx, 5xx) where the row has a status, else its level."""
    status = str(row.get("status") or "")
    if status.isdigit() and int(status) >= 100:
        return f"{status[0]}xx"
    return str(row.get("level") or "unknown").lower()


def _cell(value: Any) -> str:
    # One row per line: tabs and newlines inside a value would break the shape.
    return " ".join(str(value if value is not None else "").split())


def _log_result(ref: str, service: Service, start: datetime, end: datetime, rows: list[dict[str, Any]]) -> LogResult:
    columns = log_columns(service)
    keys = ["timestamp", *columns[1:-1], "event_message"]
    lines = "\n".join("\t".join(_cell(row.get(key)) for key in keys) for row in rows)
    stamps = [str(row.get("timestamp")) for row in rows if row.get("timestamp") is not None]
    return LogResult(
        project_id=ref,
        service=service,
        window_start=start,
        window_end=end,
        summary=LogSummary(
            count=len(rows),
            newest=stamps[0] if stamps else None,
            oldest=stamps[-1] if stamps else None,
            by_level=dict(Counter(_level(row) for row in rows)),
        ),
        columns=columns,
        lines=lines,
    )
