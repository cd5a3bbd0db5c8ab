"""A Supabase Management API test double: projects and project logs on 127.0.0.1.

    with SupabaseDouble(token=TOKEN) as sb:
        sb.add_project(ref="abcdefghijklmnopqrst", name="shop")
        client = httpx.Client(base_url=sb.url, headers={"Authorization": f"Bearer {TOKEN}"})
        ...
        assert sb.violations == []

Every request and response is checked against `../shared/specs/supabase-management-subset.openapi.json`
(with the few corrections in `SPEC_PATCHES`); what the spec does not allow lands in `sb.violations`.
Tests program faults with `sb.inject(...)`, read `sb.requests` to see what reached the "API" and
`sb.queries` to see the SQL the logs endpoint received.

The logs endpoint is not a SQL engine. It reads just enough of a query to answer like the real one:
- FROM: the unified `logs` table; a `source = '...'` / `source IN (...)` filter picks sources
  (`source_name` too: Supabase's changelog 48235 spells it so, its docs and Studio use `source`);
- filters on `event_message` with a literal (or `unhex('…')`): LIKE / ILIKE / NOT LIKE, `like()`,
  `ilike()`, `match()`, `regexp_contains()`, `position[CaseInsensitive][UTF8](...) > 0` or `= 0`;
- `ORDER BY timestamp [ASC|DESC]` (default newest first), `LIMIT n [OFFSET m]`;
- select items: columns, `log_attributes['key']` (also inside toInt32OrZero & co), and
  `JSONExtract{String,Int,Float,Bool,Raw}(event_message, 'key', ...)`; anything else is answered
  as null and listed in `LogQuery.unsupported`; `select *` gives whole rows.
Rows come from `tests/fixtures/supabase_logs.py` (or `add_logs`), filtered by the request's window.

What the real endpoint does, and so the double:
- ClickHouse SQL over one `logs` table (id, timestamp, event_message, severity_text, source,
  log_attributes): `FROM edge_logs` answers `Table "edge_logs" does not exist.` (Supabase KB
  "Logs API error: Table does not exist"); BigQuery-era `metadata`, `parsed.*`, `request.*`,
  `response.*` columns and `unnest` are unknown (Supabase's clickhouse-logs-queries skill);
- a query error is HTTP 200 with `{"error": "..."}` (`query_error_status` changes the status);
- success is `{"result": [...], "error": null}` (supabase/supabase#49705);
- `iso_timestamp_start`/`_end`: neither means the last minute; over 24 hours is refused (400);
  the docs round the range "to the nearest minute", the double widens it to whole minutes;
- `logs.all` (BigQuery, per-source tables) was removed on 2026-09-23 and answers 410.
"""

from __future__ import annotations

import copy
import fnmatch
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fixtures.supabase_logs import SOURCES, LogRow, build_log_rows, parse_timestamp

from .http_plumbing import DoubleHandler, Reply, ServedDouble, read_body, send
from .openapi_check import OpenAPISpec, Operation

SPEC_PATH = Path(__file__).resolve().parents[3] / "shared" / "specs" / "supabase-management-subset.openapi.json"

LIST_PROJECTS = "v1-list-all-projects"
GET_PROJECT = "v1-get-project"
GET_LOGS = "v1-get-project-logs"
GET_LOGS_ALL = "v1-get-project-logs-all"  # the documented rename; the stored spec reuses GET_LOGS
LOGS_ALL_PATH = "/v1/projects/{ref}/analytics/endpoints/logs.all"
LOGS_PATH = "/v1/projects/{ref}/analytics/endpoints/logs"
LOGS_ALL_REMOVED = "logs.all was removed on 2026-09-23 (changelog 48235); use /analytics/endpoints/logs"

ERROR_BODY = "#/components/schemas/DoubleErrorBody"
# The spec declares 401/403/429 on every operation; these may come from any of them too.
GENERIC_ERRORS: dict[int, str | None] = {
    400: ERROR_BODY,
    404: ERROR_BODY,
    410: ERROR_BODY,
    500: ERROR_BODY,
    502: None,
    503: None,
    504: None,
}
MAX_WINDOW = timedelta(hours=24)
DEFAULT_WINDOW = timedelta(minutes=1)
DEFAULT_LIMIT = 100  # rows for a request without `sql` (edge_logs, as logs.all documented)

# Where the stored spec disagrees with the API or its own docs; applied to a copy on load.
SPEC_PATCHES: tuple[str, ...] = (
    "logs.all operationId -> v1-get-project-logs-all: the stored spec gives both logs operations the id "
    "v1-get-project-logs; the docs renamed the old one when the new one landed",
    "logs: add 402 to the responses: the endpoint's reference page lists 200/401/402/403/429 (see its x-note)",
    'AnalyticsResponse.error nullable: the API answers success as {"result": [...], "error": null} '
    "(supabase/supabase#49705) and the schema allows only a string or an object",
    "components.schemas.DoubleErrorBody: the spec has no error schema; Management API errors are "
    '{"message": ...}, logs query errors {"error": ...}',
)

_DEFAULT_MESSAGES = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden resource",
    404: "Not Found",
    410: LOGS_ALL_REMOVED,
    429: "ThrottlerException: Too Many Requests",
    500: "Internal server error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def patched_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """The spec with `SPEC_PATCHES` applied (the input is not changed)."""
    doc = copy.deepcopy(dict(document))
    paths = doc["paths"]
    paths[LOGS_ALL_PATH]["get"]["operationId"] = GET_LOGS_ALL
    paths[LOGS_PATH]["get"]["responses"].setdefault("402", {"description": "Payment required"})
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["AnalyticsResponse"]["properties"]["error"]["nullable"] = True
    schemas["DoubleErrorBody"] = {
        "type": "object",
        "properties": {"message": {"type": "string"}, "error": {"oneOf": [{"type": "string"}, {"type": "object"}]}},
        "anyOf": [{"required": ["message"]}, {"required": ["error"]}],
    }
    return doc


@cache
def load_supabase_spec(path: Path = SPEC_PATH) -> OpenAPISpec:
    """The patched spec, loaded once per process (openapi_check's `load_spec` cannot patch)."""
    return OpenAPISpec(patched_document(json.loads(path.read_text(encoding="utf-8"))), GENERIC_ERRORS)


class ApiError(Exception):
    """Raised by a handler: becomes `{"message": ...}` with this status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# --- records tests read ---------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One request as it reached the double, in arrival order."""

    method: str
    path: str
    query: dict[str, list[str]]
    operation: str | None = None  # operationId, None for an undeclared route
    status: int | None = None  # what the double answered (None while still being handled)
    handled: bool = False  # the operation ran (for logs: the query was read and recorded)
    injected: bool = False  # a fault injection matched this request


@dataclass
class LogQuery:
    """What the logs endpoint made of one request (`sb.queries`)."""

    ref: str
    sql: str | None  # exactly as received, None when absent
    iso_timestamp_start: str | None  # exactly as received
    iso_timestamp_end: str | None
    window: tuple[datetime, datetime] | None = None  # the rows' time range after defaults and rounding
    table: str | None = None  # the FROM target
    sources: tuple[str, ...] = ()  # `source = '...'` values; empty: every source
    message_filters: tuple[str, ...] = ()  # the literals of LIKE / ILIKE / match / position filters
    unsupported: tuple[str, ...] = ()  # select expressions the double cannot evaluate (answered null)
    limit: int | None = None
    rows: int = 0  # how many rows were returned
    error: str | None = None  # the query error returned instead of rows


@dataclass
class Injection:
    """A programmed fault for the next `times` matching requests; `hits` counts matches so far."""

    op: str | None
    method: str | None
    path: str | None
    status: int | None
    body: Any
    headers: dict[str, str]
    delay_s: float
    apply: bool
    times: int
    hits: int = 0

    def matches(self, method: str, path: str, operation: str | None) -> bool:
        return (
            self.hits < self.times
            and (self.op is None or self.op == operation)
            and (self.method is None or self.method.upper() == method)
            and (self.path is None or fnmatch.fnmatchcase(path, self.path))
        )


@dataclass
class Project:
    ref: str
    name: str
    region: str
    status: str
    organization_id: str
    organization_slug: str
    created_at: datetime
    database_version: str
    postgres_engine: str
    release_channel: str
    forbidden: bool = False
    logs: dict[str, list[LogRow]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.ref,
            "ref": self.ref,
            "organization_id": self.organization_id,
            "organization_slug": self.organization_slug,
            "name": self.name,
            "region": self.region,
            "created_at": self.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "status": self.status,
            "database": {
                "host": f"db.{self.ref}.supabase.co",
                "version": self.database_version,
                "postgres_engine": self.postgres_engine,
                "release_channel": self.release_channel,
            },
        }


# --- reading SQL, just enough --------------------------------------------------------------------


class QueryError(Exception):
    """The query cannot be answered; the message is what the endpoint returns in `error`."""

    def __init__(self, message: str, table: str | None = None) -> None:
        super().__init__(message)
        self.table = table  # the FROM target, when the query got that far


# A string literal ('it''s', 'a\'b'), a line comment or a block comment.
_LEXEME = re.compile(r"'((?:[^'\\]|\\.|'')*)'|--[^\n]*|/\*.*?\*/", re.DOTALL)
_LITERAL = r"\$S(\d+)"
_QUALIFIED = r"(?:[A-Za-z_]\w*\.)?"
_FROM = re.compile(r"\bfrom\s+((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*)", re.IGNORECASE)
_SOURCE_EQ = re.compile(rf"\b{_QUALIFIED}source(?:_name)?\s*=\s*{_LITERAL}", re.IGNORECASE)
_SOURCE_IN = re.compile(rf"\b{_QUALIFIED}source(?:_name)?\s+in\s*\(([^)]*)\)", re.IGNORECASE)
_LIKE = re.compile(rf"\b{_QUALIFIED}event_message\s+(not\s+)?(i?like)\s+{_LITERAL}", re.IGNORECASE)
_LIKE_CALL = re.compile(rf"\b(i?like)\s*\(\s*{_QUALIFIED}event_message\s*,\s*{_LITERAL}\s*\)", re.IGNORECASE)
_REGEX_CALL = re.compile(
    rf"\b(regexp_contains|match)\s*\(\s*{_QUALIFIED}event_message\s*,\s*(?:r)?{_LITERAL}\s*\)", re.IGNORECASE
)
_POSITION_CALL = re.compile(
    rf"\b(position(?:CaseInsensitive)?(?:UTF8)?)\s*\(\s*{_QUALIFIED}event_message\s*,\s*{_LITERAL}\s*\)"
    r"(?:\s*(?P<op>==|=|!=|<>|>=|>|<=|<)\s*(?P<n>\d+))?",
    re.IGNORECASE,
)
_ABSENT = {("=", 0), ("==", 0), ("<", 1), ("<=", 0)}  # position(...) compared so: the text is absent
_UNHEX = re.compile(rf"\bunhex\s*\(\s*{_LITERAL}\s*\)", re.IGNORECASE)
_LIMIT = re.compile(r"\blimit\s+(\d+)(?:\s*,\s*(\d+))?(?:\s+offset\s+(\d+))?", re.IGNORECASE)
_ORDER_ASC = re.compile(rf"\border\s+by\s+{_QUALIFIED}timestamp\s+asc\b", re.IGNORECASE)
# Select-list items the double evaluates: columns, map lookups (optionally converted), JSONExtract*.
_ALIAS = re.compile(r"(?P<expr>.+?)\s+as\s+(?P<alias>\w+)", re.IGNORECASE | re.DOTALL)
_COLUMN = re.compile(rf"{_QUALIFIED}(id|timestamp|event_message|severity_text|source|log_attributes)", re.IGNORECASE)
_MAP_KEY = re.compile(
    rf"(?:(?P<cast>to(?:Int(?:8|16|32|64)|Float(?:32|64))Or(?:Zero|Null)|toString)\s*\(\s*)?"
    rf"{_QUALIFIED}log_attributes\s*\[\s*{_LITERAL}\s*\](?(cast)\s*\))",
    re.IGNORECASE,
)
_JSON_EXTRACT = re.compile(
    rf"JSONExtract(?P<kind>String|Int|UInt|Float|Bool|Raw)\s*\(\s*{_QUALIFIED}event_message\s*"
    rf"(?P<keys>(?:,\s*{_LITERAL}\s*)+)\)",
    re.IGNORECASE,
)
# Columns of the BigQuery-era per-source tables that the unified table does not have.
_LEGACY_IDENTIFIER = re.compile(r"(?<![\w$])(metadata|parsed|request|response)\s*(?=[.,)\s]|$)", re.IGNORECASE)


@dataclass(frozen=True)
class _MessageFilter:
    literal: str
    pattern: re.Pattern[str]
    negate: bool = False

    def keeps(self, text: str) -> bool:
        return (self.pattern.search(text) is not None) != self.negate


@dataclass(frozen=True)
class SelectItem:
    """One select-list item: `name` is its alias, else the expression as written."""

    name: str
    kind: str  # "column", "key", "json" or "unsupported" (answered as null)
    arg: str = ""  # the column, or the log_attributes key
    path: tuple[str, ...] = ()  # JSONExtract keys
    convert: str = ""  # toInt32OrZero, JSONExtractInt, ...

    def value(self, row: LogRow) -> Any:
        if self.kind == "column":
            return row.value(self.arg)
        if self.kind == "key":
            return _convert(row.log_attributes.get(self.arg, ""), self.convert)
        if self.kind == "json":
            return _json_extract(row.event_message, self.path, self.convert)
        return None


def _convert(raw: str, function: str) -> Any:
    name = function.lower()
    if not name or name == "tostring":
        return raw
    try:
        return float(raw) if "float" in name else int(raw)
    except ValueError:
        return None if name.endswith("ornull") else 0


def _json_extract(text: str, path: tuple[str, ...], kind: str) -> Any:
    empty: dict[str, Any] = {"string": "", "int": 0, "uint": 0, "float": 0.0, "bool": False, "raw": ""}
    try:
        node: Any = json.loads(text)
        for key in path:
            node = node[key]
    except (ValueError, KeyError, TypeError, IndexError):
        return empty[kind]
    if kind == "raw":
        return json.dumps(node)
    if kind == "string":
        return node if isinstance(node, str) else empty[kind]
    if kind == "bool":
        return bool(node)
    try:
        return float(node) if kind == "float" else int(node)
    except (TypeError, ValueError):
        return empty[kind]


@dataclass(frozen=True)
class ParsedQuery:
    table: str
    sources: tuple[str, ...]
    filters: tuple[_MessageFilter, ...]
    limit: int | None
    offset: int
    ascending: bool
    projection: tuple[SelectItem, ...] | None  # None: every column (`select *`, or no sql)


def _syntax_error(sql: str, position: int, expected: str) -> QueryError:
    near = sql[position : position + 20].split("\n")[0]
    return QueryError(
        f"Code: 62. DB::Exception: Syntax error: failed at position {position + 1} ('{near}'): "
        f"{near}. Expected {expected}. (SYNTAX_ERROR)"
    )


def _unquote(raw: str) -> str:
    return re.sub(r"''|\\(.)", lambda m: m.group(1) or "'", raw)


def _mask(sql: str) -> tuple[str, list[str]]:
    """`sql` with string literals replaced by `$S<n>` and comments by blanks; the literals' values.
    `unhex('…')` of a hex literal becomes a literal holding the decoded text."""
    literals: list[str] = []

    def replace(m: re.Match[str]) -> str:
        if m.group(0).startswith("'"):
            literals.append(_unquote(m.group(1)))
            return f"$S{len(literals) - 1}"
        return " "

    def unhex(m: re.Match[str]) -> str:
        try:
            literals.append(bytes.fromhex(literals[int(m.group(1))]).decode("utf-8", "replace"))
        except ValueError:
            return m.group(0)
        return f"$S{len(literals) - 1}"

    masked = _LEXEME.sub(replace, sql)
    if "'" in masked:  # a literal that never closes
        raise _syntax_error(sql, sql.rfind("'"), "closing quote")
    return _UNHEX.sub(unhex, masked), literals


def _top_level(masked: str) -> list[int]:
    """Paren depth at each position; raises on unbalanced parentheses."""
    depth, depths = 0, []
    for index, char in enumerate(masked):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise _syntax_error(masked, index, "end of query")
        depths.append(depth)
    if depth:
        raise _syntax_error(masked, len(masked) - 1, "closing parenthesis")
    return depths


def _split_top(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _like_regex(pattern: str, case_insensitive: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(f"\\A{regex}\\Z", re.DOTALL | (re.IGNORECASE if case_insensitive else 0))


def parse_query(sql: str) -> ParsedQuery:
    """Read what the double needs from a logs query; `QueryError` when it cannot."""
    masked, literals = _mask(sql)
    if not masked.strip():
        raise QueryError("Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR)")
    first = re.match(r"\s*(\w+)", masked)
    if first is None or first.group(1).lower() not in ("select", "with"):
        start = len(masked) - len(masked.lstrip())
        raise _syntax_error(sql, start, "one of: SELECT, WITH, EXPLAIN, SHOW, DESCRIBE")
    depths = _top_level(masked)
    froms = list(_FROM.finditer(masked))
    if not froms:
        raise _syntax_error(sql, len(sql.rstrip()), "FROM (the double answers only queries over the logs table)")
    unified = [m for m in froms if m.group(1).split(".")[-1].lower() == "logs"]
    chosen = unified[0] if unified else froms[0]
    table = chosen.group(1)
    if not unified:
        raise QueryError(f'Table "{table}" does not exist.', table)
    if re.search(r"\bunnest\s*\(", masked, re.IGNORECASE):
        raise QueryError("Code: 46. DB::Exception: Unknown table function unnest. (UNKNOWN_FUNCTION)", table)
    for m in _LEGACY_IDENTIFIER.finditer(masked):
        if not re.search(r"\bas\s*\Z", masked[: m.start()], re.IGNORECASE):
            raise QueryError(
                f"Code: 47. DB::Exception: Unknown expression identifier `{m.group(1)}` in scope SELECT ... "
                f"FROM {table}: the logs table has id, timestamp, event_message, severity_text, source and "
                "log_attributes. (UNKNOWN_IDENTIFIER)",
                table,
            )

    sources: list[str] = [literals[int(m.group(1))] for m in _SOURCE_EQ.finditer(masked)]
    for m in _SOURCE_IN.finditer(masked):
        sources += [literals[int(n)] for n in re.findall(_LITERAL, m.group(1))]

    filters: list[_MessageFilter] = []
    for m in _LIKE.finditer(masked):
        literal = literals[int(m.group(3))]
        filters.append(_MessageFilter(literal, _like_regex(literal, m.group(2).lower() == "ilike"), bool(m.group(1))))
    for m in _LIKE_CALL.finditer(masked):
        literal = literals[int(m.group(2))]
        filters.append(_MessageFilter(literal, _like_regex(literal, m.group(1).lower() == "ilike")))
    for m in _REGEX_CALL.finditer(masked):
        literal = literals[int(m.group(2))]
        try:
            filters.append(_MessageFilter(literal, re.compile(literal)))
        except re.error as exc:
            message = f"Code: 427. DB::Exception: Cannot compile re2: {literal}, error: {exc}. (CANNOT_COMPILE_REGEXP)"
            raise QueryError(message, table) from None
    for m in _POSITION_CALL.finditer(masked):
        literal = literals[int(m.group(2))]
        flags = re.IGNORECASE if "caseinsensitive" in m.group(1).lower() else 0
        absent = (m["op"], int(m["n"] or 0)) in _ABSENT
        filters.append(_MessageFilter(literal, re.compile(re.escape(literal), flags), absent))

    limit, offset = None, 0
    for m in _LIMIT.finditer(masked):
        if depths[m.start()] == 0:
            if m.group(2) is not None:  # LIMIT offset, count
                offset, limit = int(m.group(1)), int(m.group(2))
            else:
                limit, offset = int(m.group(1)), int(m.group(3) or 0)

    select_at = re.search(r"\bselect\b", masked, re.IGNORECASE)
    projection = None
    if select_at is not None and select_at.end() <= chosen.start():
        projection = _projection(masked[select_at.end() : chosen.start()], literals)
    return ParsedQuery(
        table=table,
        sources=tuple(dict.fromkeys(sources)),
        filters=tuple(filters),
        limit=limit,
        offset=offset,
        ascending=_ORDER_ASC.search(masked) is not None,
        projection=projection,
    )


def _projection(select_list: str, literals: list[str]) -> tuple[SelectItem, ...] | None:
    """The select list as items; None (every column) for `select *`."""
    if select_list.strip() == "*":
        return None

    def written(expr: str) -> str:  # the expression with its literals back, as ClickHouse names it
        return re.sub(_LITERAL, lambda m: "'" + literals[int(m.group(1))].replace("'", "\\'") + "'", expr)

    items: list[SelectItem] = []
    for item in _split_top(select_list):
        aliased = _ALIAS.fullmatch(item)
        expr, alias = (aliased["expr"].strip(), aliased["alias"]) if aliased else (item, None)
        name = alias or written(expr)
        if (m := _MAP_KEY.fullmatch(expr)) is not None:
            items.append(SelectItem(name, "key", literals[int(m.group(2))], convert=m["cast"] or ""))
        elif (m := _COLUMN.fullmatch(expr)) is not None:
            items.append(SelectItem(alias or m.group(1).lower(), "column", m.group(1).lower()))
        elif (m := _JSON_EXTRACT.fullmatch(expr)) is not None:
            path = tuple(literals[int(n)] for n in re.findall(_LITERAL, m["keys"]))
            items.append(SelectItem(name, "json", path=path, convert=m["kind"].lower()))
        else:  # functions, arithmetic, aggregates: beyond this double
            items.append(SelectItem(name, "unsupported", written(expr)))
    return tuple(items)


def _project(row: LogRow, projection: tuple[SelectItem, ...] | None) -> dict[str, Any]:
    if projection is None:
        return row.as_dict()
    return {item.name: item.value(row) for item in projection}


def effective_window(start: str | None, end: str | None, now: datetime) -> tuple[datetime, datetime]:
    """The time range the endpoint reads: neither bound means the last minute; one bound alone
    runs to now (start) or covers the minute before (end). Over 24 hours is an `ApiError(400)`.
    The docs say the range "is rounded to the nearest minute"; the double widens it to whole
    minutes (start down, end up) so that no row a client asked for is lost."""
    end_at = parse_timestamp(end) if end else None
    start_at = parse_timestamp(start) if start else None
    if start_at is None and end_at is None:
        start_at, end_at = now - DEFAULT_WINDOW, now
    elif start_at is None:
        assert end_at is not None
        start_at = end_at - DEFAULT_WINDOW
    elif end_at is None:
        end_at = now
    if end_at < start_at:
        raise ApiError(400, "iso_timestamp_end must not be before iso_timestamp_start")
    if end_at - start_at > MAX_WINDOW:
        raise ApiError(400, "The timestamp range must be no more than 24 hours")
    floor = start_at.replace(second=0, microsecond=0)
    ceil = end_at.replace(second=0, microsecond=0)
    if ceil < end_at:
        ceil += timedelta(minutes=1)
    return floor, ceil


# --- the double ------------------------------------------------------------------------------


class SupabaseDouble(ServedDouble):
    """The Supabase Management API (the operations of the spec subset) on 127.0.0.1.

    `token`: the only accepted credential (`Authorization: Bearer X`).
    `query_error_status`: the HTTP status of a logs query error (default 200, as the API answers;
    the body is `{"error": "..."}` either way).
    """

    name = "Supabase"

    def __init__(
        self,
        *,
        token: str = "test-token",
        query_error_status: int = 200,
        spec_path: Path = SPEC_PATH,
    ) -> None:
        self.token = token
        self.query_error_status = query_error_status
        self.spec: OpenAPISpec = load_supabase_spec(spec_path)
        self.requests: list[RecordedRequest] = []
        self.queries: list[LogQuery] = []
        self.violations: list[str] = []
        self.injections: list[Injection] = []
        self._projects: dict[str, Project] = {}
        self._lock = threading.RLock()
        self._handlers: dict[str, Callable[[RecordedRequest, dict[str, Any], dict[str, Any]], Reply]] = {
            LIST_PROJECTS: self._list_projects,
            GET_PROJECT: self._get_project,
            GET_LOGS: self._get_logs,
        }

    # --- test set-up helpers -------------------------------------------------------------------

    def add_project(
        self,
        ref: str = "abcdefghijklmnopqrst",
        name: str = "shop",
        *,
        region: str = "eu-west-1",
        status: str = "ACTIVE_HEALTHY",
        organization_id: str = "acmeorganisationslug",
        organization_slug: str | None = None,
        created_at: datetime | None = None,
        database_version: str = "17.4.1.054",
        postgres_engine: str = "17",
        release_channel: str = "ga",
        logs: Mapping[str, Iterable[LogRow]] | None = None,
        now: datetime | None = None,
        seed: int = 0,
    ) -> Project:
        """A project the token can read. `logs`: rows per source (default: the fixture rows of
        `tests/fixtures/supabase_logs.py`, built for this ref relative to `now`)."""
        rows = build_log_rows(ref, now=now, seed=seed) if logs is None else {s: list(r) for s, r in logs.items()}
        project = Project(
            ref=ref,
            name=name,
            region=region,
            status=status,
            organization_id=organization_id,
            organization_slug=organization_slug or organization_id,
            created_at=created_at or datetime(2025, 3, 14, 9, 26, 53, 589793, tzinfo=UTC),
            database_version=database_version,
            postgres_engine=postgres_engine,
            release_channel=release_channel,
            logs={source: sorted(r, key=lambda row: row.timestamp, reverse=True) for source, r in rows.items()},
        )
        problems = self.spec.schema_errors("#/components/schemas/V1ProjectWithDatabaseResponse", project.as_json())
        if problems:
            raise ValueError(f"project {ref!r} would not match the spec: {problems}")
        with self._lock:
            self._projects[ref] = project
        return project

    def project(self, ref: str) -> Project:
        return self._projects[ref]

    def forbid(self, ref: str, forbidden: bool = True) -> None:
        """The token loses access to `ref`: get and logs answer 403, the list leaves it out."""
        with self._lock:
            self._projects[ref].forbidden = forbidden

    def add_logs(self, ref: str, rows: Iterable[LogRow]) -> None:
        with self._lock:
            project = self._projects[ref]
            for row in rows:
                project.logs.setdefault(row.source, []).append(row)
            for source_rows in project.logs.values():
                source_rows.sort(key=lambda row: row.timestamp, reverse=True)

    def logs_of(self, ref: str, source: str) -> list[LogRow]:
        """The rows of one source, newest first."""
        return list(self._projects[ref].logs.get(source, []))

    # --- faults --------------------------------------------------------------------------------

    def inject(
        self,
        op: str | None = None,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        delay_s: float = 0.0,
        apply: bool | None = None,
        times: int = 1,
    ) -> Injection:
        """Fault for the next `times` requests matching `op` (operationId) and/or `method` + `path`
        (a glob such as `/v1/projects/*/analytics/endpoints/logs`).

        `status`: answer with it (`body` default: `{"message": ...}`; `headers` added, e.g.
        `{"Retry-After": "2"}`). `delay_s`: hold the answer that long (a client timeout shorter
        than this sees a timeout). `apply`: whether the operation really runs (for logs: the query
        is read and recorded in `queries`). Default: False with a `status`, True for a pure
        delay. `apply=False` without a status answers 504 after the delay.
        """
        if op is not None and not self.spec.operations_with_id(op):
            raise ValueError(f"{op!r} is not an operationId of the spec")
        if op is None and method is None and path is None:
            raise ValueError("inject() needs op, method or path")
        if status is None and not delay_s:
            raise ValueError("inject() needs a status or a delay")
        applies = status is None if apply is None else apply
        injection = Injection(op, method, path, status, body, dict(headers or {}), delay_s, applies, times)
        with self._lock:
            self.injections.append(injection)
        return injection

    def count(self, op: str | None = None, method: str | None = None) -> int:
        return len(self.requests_for(op, method))

    def requests_for(self, op: str | None = None, method: str | None = None) -> list[RecordedRequest]:
        return [
            r
            for r in list(self.requests)
            if (op is None or r.operation == op) and (method is None or r.method == method.upper())
        ]

    # --- request pipeline ----------------------------------------------------------------------

    def _serve(self, http: DoubleHandler) -> None:
        split = urlsplit(http.path)
        query = parse_qs(split.query, keep_blank_values=True)
        raw = read_body(http)
        entry = RecordedRequest(http.command, split.path, query)
        with self._lock:
            self.requests.append(entry)
        try:
            reply, delay = self._process(entry, raw, http.headers.get("Authorization"))
        except Exception as exc:  # a bug in the double must fail the test, not hang the client
            self._violate(entry, f"internal error in the double: {exc!r}")
            reply, delay = self._error(500, f"Supabase double failed: {exc}"), 0.0
        entry.status = reply.status
        if delay:
            time.sleep(delay)
        send(http, reply)

    def _process(self, entry: RecordedRequest, raw: bytes, authorization: str | None) -> tuple[Reply, float]:
        found = self.spec.match(entry.method, entry.path)
        if found is None:
            self._violate(entry, "no operation of the spec matches this method and path")
            return self._error(404, f"Cannot {entry.method} {entry.path}"), 0.0
        op = found.operation
        entry.operation = op.operation_id
        if op.operation_id == GET_LOGS_ALL:  # gone before any auth or validation, like a removed route
            self._violate(entry, f"called the removed endpoint: {LOGS_ALL_REMOVED}")
            return self._checked(entry, op, self._error(410, LOGS_ALL_REMOVED)), 0.0
        if not self._authorized(authorization):
            return self._checked(entry, op, self._error(401, "Unauthorized")), 0.0
        try:
            body, has_body = (json.loads(raw), True) if raw.strip() else (None, False)
        except (ValueError, UnicodeDecodeError):
            body, has_body = raw.decode("utf-8", "replace"), True
        check = self.spec.check_request(found, entry.query, body, has_body)
        if check.violations:
            for violation in check.violations:
                self._violate(entry, f"request: {violation}")
            return self._checked(entry, op, self._error(400, "; ".join(check.violations))), 0.0
        injection = self._take(entry)
        entry.injected = injection is not None
        if injection is None:
            return self._checked(entry, op, self._handle(entry, check.path_params, check.query)), 0.0
        real = self._handle(entry, check.path_params, check.query) if injection.apply else None
        return self._checked(entry, op, self._injected_reply(injection, real)), injection.delay_s

    def _authorized(self, authorization: str | None) -> bool:
        scheme, _, credential = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(credential.strip().encode(), self.token.encode())

    def _take(self, entry: RecordedRequest) -> Injection | None:
        with self._lock:
            for injection in self.injections:
                if injection.matches(entry.method, entry.path, entry.operation):
                    injection.hits += 1
                    return injection
        return None

    def _handle(self, entry: RecordedRequest, params: dict[str, Any], query: dict[str, Any]) -> Reply:
        with self._lock:
            entry.handled = True
            try:
                return self._handlers[str(entry.operation)](entry, params, query)
            except ApiError as error:
                return self._error(error.status, error.message)

    def _injected_reply(self, injection: Injection, real: Reply | None) -> Reply:
        if injection.status is not None:
            body = injection.body if injection.body is not None else self._error_body(injection.status)
            return Reply(injection.status, body, dict(injection.headers))
        if real is None:  # a delay that must not apply: the gateway gives up
            return Reply(504, self._error_body(504), dict(injection.headers))
        real.headers.update(injection.headers)
        return real

    def _checked(self, entry: RecordedRequest, op: Operation, reply: Reply) -> Reply:
        for problem in self.spec.check_response(op, reply.status, reply.body, reply.body is not None):
            self._violate(entry, f"response {reply.status}: {problem}")
        return reply

    def _violate(self, entry: RecordedRequest, problem: str) -> None:
        label = f" [{entry.operation}]" if entry.operation else ""
        with self._lock:
            self.violations.append(f"{entry.method} {entry.path}{label} {problem}")

    def _error(self, status: int, message: str | None = None) -> Reply:
        return Reply(status, self._error_body(status, message))

    @staticmethod
    def _error_body(status: int, message: str | None = None) -> dict[str, Any]:
        return {"message": message or _DEFAULT_MESSAGES.get(status, "Error")}

    # --- operations ----------------------------------------------------------------------------

    def _readable(self, ref: str) -> Project:
        project = self._projects.get(ref)
        if project is None:
            raise ApiError(404, "Project not found")
        if project.forbidden:
            raise ApiError(403, "Forbidden resource")
        return project

    def _list_projects(self, entry: RecordedRequest, params: dict[str, Any], query: dict[str, Any]) -> Reply:
        return Reply(200, [p.as_json() for p in self._projects.values() if not p.forbidden])

    def _get_project(self, entry: RecordedRequest, params: dict[str, Any], query: dict[str, Any]) -> Reply:
        return Reply(200, self._readable(params["ref"]).as_json())

    def _get_logs(self, entry: RecordedRequest, params: dict[str, Any], query: dict[str, Any]) -> Reply:
        project = self._readable(params["ref"])
        start, end = query.get("iso_timestamp_start"), query.get("iso_timestamp_end")
        record = LogQuery(project.ref, query.get("sql"), start, end)
        self.queries.append(record)
        try:
            record.window = effective_window(record.iso_timestamp_start, record.iso_timestamp_end, datetime.now(UTC))
        except ApiError as error:
            record.error = error.message
            raise
        if record.sql is None:  # as logs.all documented: without sql, edge_logs only
            parsed = ParsedQuery("logs", ("edge_logs",), (), DEFAULT_LIMIT, 0, False, None)
        else:
            try:
                parsed = parse_query(record.sql)
            except QueryError as error:
                record.error, record.table = str(error), error.table
                return Reply(self.query_error_status, {"error": record.error})
        record.table, record.sources, record.limit = parsed.table, parsed.sources, parsed.limit
        record.message_filters = tuple(f.literal for f in parsed.filters)
        record.unsupported = tuple(item.arg for item in parsed.projection or () if item.kind == "unsupported")
        rows = self._select(project, parsed, record.window)
        record.rows = len(rows)
        return Reply(200, {"result": [_project(row, parsed.projection) for row in rows], "error": None})

    @staticmethod
    def _select(project: Project, parsed: ParsedQuery, window: tuple[datetime, datetime]) -> list[LogRow]:
        sources = parsed.sources or SOURCES
        rows = [
            row
            for source in sources
            for row in project.logs.get(source, [])
            if window[0] <= row.timestamp <= window[1] and all(f.keeps(row.event_message) for f in parsed.filters)
        ]
        rows.sort(key=lambda row: row.timestamp, reverse=not parsed.ascending)
        end = None if parsed.limit is None else parsed.offset + parsed.limit
        return rows[parsed.offset : end]


# --- HTTP plumbing ---------------------------------------------------------------------------




def rows_in(rows: Sequence[LogRow], window: tuple[datetime, datetime]) -> list[LogRow]:
    """The rows of `rows` inside `window`, newest first: what a plain query over the window returns."""
    return sorted((r for r in rows if window[0] <= r.timestamp <= window[1]), key=lambda r: r.timestamp, reverse=True)


@pytest.fixture
def supabase_double() -> Iterator[SupabaseDouble]:
    """A running double with token `test-token` and one project (`abcdefghijklmnopqrst`); register
    with `pytest_plugins = ["tests.doubles.supabase_api"]` in a conftest."""
    with SupabaseDouble() as double:
        double.add_project()
        yield double
