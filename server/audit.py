"""The audit log: one durable row per tool call, written before the result returns.

`AuditStore` is the small interface the pipeline uses; SQLite (WAL, synchronous=FULL) is the
default store. A failure to write is an error for the call, never a silent loss.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

import anyio.to_thread
from pydantic import BaseModel, Field

from server.config import Settings, state_dir
from server.errors import ConfigError

Outcome = Literal["ok", "error", "invalid", "denied", "declined", "cancelled", "input_required"]
Confirmation = Literal["not-needed", "accepted", "declined", "cancelled", "host", "unavailable", "pending"]


class AuditRecord(BaseModel):
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    client: str | None = None
    session: str | None = None
    tool: str
    arguments: dict[str, Any] = Field(description="redacted")
    verdict: str | None = None
    reasons: list[str] = Field(default_factory=list)
    confirmation: Confirmation = "not-needed"
    outcome: Outcome
    duration_ms: float
    error: str | None = Field(default=None, description="redacted")


class AuditStore(Protocol):
    async def write(self, record: AuditRecord) -> None: ...

    async def tail(self, limit: int) -> list[AuditRecord]: ...

    async def ping(self) -> None:
        """Raises when the store cannot take a write now (readiness)."""

    async def aclose(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    client TEXT,
    session TEXT,
    tool TEXT NOT NULL,
    arguments TEXT NOT NULL,
    verdict TEXT,
    reasons TEXT NOT NULL,
    confirmation TEXT NOT NULL,
    outcome TEXT NOT NULL,
    duration_ms REAL NOT NULL,
    error TEXT
)
"""
_COLUMNS = (
    "time", "client", "session", "tool", "arguments", "verdict", "reasons",
    "confirmation", "outcome", "duration_ms", "error",
)  # fmt: skip


_COLUMN_LIST = ", ".join(_COLUMNS)
# Column names are constants and every value is a bound parameter: no caller text reaches the SQL.
_SQLITE_MARKS = ", ".join("?" for _ in _COLUMNS)
_PG_MARKS = ", ".join("%s" for _ in _COLUMNS)
_SQLITE_INSERT = f"INSERT INTO audit ({_COLUMN_LIST}) VALUES ({_SQLITE_MARKS})"  # noqa: S608  # nosec B608
_SQLITE_TAIL = f"SELECT {_COLUMN_LIST} FROM audit ORDER BY id DESC LIMIT ?"  # noqa: S608  # nosec B608
_PG_INSERT = f"INSERT INTO audit ({_COLUMN_LIST}) VALUES ({_PG_MARKS})"  # noqa: S608  # nosec B608
_PG_TAIL = f"SELECT {_COLUMN_LIST} FROM audit ORDER BY id DESC LIMIT %s"  # noqa: S608  # nosec B608


@dataclass
class _Pending:
    record: AuditRecord
    done: bool = False
    error: BaseException | None = None


def _values(record: AuditRecord) -> list[Any]:
    row = record.model_dump(mode="json")
    return [json.dumps(row[c], ensure_ascii=False) if c in ("arguments", "reasons") else row[c] for c in _COLUMNS]


class SQLiteAuditStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = path
        # One connection shared by worker threads; the lock keeps writes whole.
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._pending: list[_Pending] = []
        self._flushing = anyio.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed row survives a crash or power loss, which is what "durable" means here.
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute(_SCHEMA)
        path.chmod(0o600)

    def _insert_many(self, records: list[AuditRecord]) -> None:
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany(_SQLITE_INSERT, [_values(record) for record in records])
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _select(self, limit: int) -> list[AuditRecord]:
        with self._lock:
            rows = self._conn.execute(_SQLITE_TAIL, (limit,)).fetchall()
        return [_record(row) for row in reversed(rows)]

    async def write(self, record: AuditRecord) -> None:
        """Returns once the row is committed. Concurrent writers share one commit (group commit): the
        fsync that makes a row durable is the cost, so one fsync serves every row waiting for it."""
        pending = _Pending(record)
        self._pending.append(pending)
        async with self._flushing:
            if not pending.done:
                batch, self._pending = self._pending, []
                error: BaseException | None = None
                try:
                    await anyio.to_thread.run_sync(self._insert_many, [p.record for p in batch])
                except Exception as exc:
                    error = exc
                for item in batch:
                    item.done, item.error = True, error
        if pending.error is not None:
            raise pending.error

    async def tail(self, limit: int) -> list[AuditRecord]:
        return await anyio.to_thread.run_sync(self._select, limit)

    async def ping(self) -> None:
        with self._lock:
            self._conn.execute("SELECT 1 FROM audit LIMIT 1")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    async def aclose(self) -> None:
        self.close()


_MIGRATION_LOCK = 0x6465766F7073  # "devops": one advisory lock id for this schema


class PostgresAuditStore:
    """Several replicas share one PostgreSQL: each row is committed before the call's result returns."""

    def __init__(self, url: str) -> None:
        from psycopg_pool import AsyncConnectionPool

        self.pool = AsyncConnectionPool(url, min_size=1, max_size=8, open=False, kwargs={"autocommit": True})
        self._ready = False
        self._opening = anyio.Lock()

    async def _open(self) -> None:
        async with self._opening:
            if self._ready:
                return
            await self.pool.open(wait=True, timeout=10)
            async with self.pool.connection() as conn, conn.transaction():
                # The migration: idempotent, and serialised by an advisory lock because replicas starting
                # together would otherwise race in CREATE TABLE IF NOT EXISTS.
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                await conn.execute(_SCHEMA.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY"))
                await conn.execute("CREATE INDEX IF NOT EXISTS audit_time ON audit (time)")
            self._ready = True

    async def write(self, record: AuditRecord) -> None:
        await self._open()
        async with self.pool.connection() as conn:
            await conn.execute(_PG_INSERT, _values(record))

    async def tail(self, limit: int) -> list[AuditRecord]:
        await self._open()
        async with self.pool.connection() as conn:
            cursor = await conn.execute(_PG_TAIL, (limit,))
            rows = await cursor.fetchall()
        return [_record(row) for row in reversed(rows)]

    async def ping(self) -> None:
        await self._open()
        async with self.pool.connection() as conn:
            await conn.execute("SELECT 1")

    async def aclose(self) -> None:
        await self.pool.close()


def _record(row: tuple[Any, ...]) -> AuditRecord:
    data = dict(zip(_COLUMNS, row, strict=True))
    data["arguments"] = json.loads(data["arguments"])
    data["reasons"] = json.loads(data["reasons"])
    return AuditRecord.model_validate(data)


def audit_location(settings: Settings) -> str:
    return settings.audit or str(state_dir() / "audit.sqlite3")


def open_audit_store(settings: Settings) -> AuditStore:
    location = audit_location(settings)
    if location.startswith(("postgresql://", "postgres://")):
        return PostgresAuditStore(location)
    try:
        return SQLiteAuditStore(Path(location).expanduser())
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"cannot open the audit log at {location}: {exc}") from None
