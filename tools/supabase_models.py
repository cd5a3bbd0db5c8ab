"""The Supabase tools' inputs and outputs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tools.untrusted import Untrusted

Service = Literal[
    "api", "postgres", "auth", "storage", "realtime", "edge-function", "edge-function-runtime", "branch-action"
]
ProjectRef = Annotated[str, Field(pattern=r"^[a-z]{20}$", description="Project ref: 20 lowercase letters")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListProjectsInput(_In):
    pass


class GetProjectInput(_In):
    id: ProjectRef


class GetLogsInput(_In):
    project_id: ProjectRef
    service: Service
    iso_timestamp_start: AwareDatetime | None = Field(
        default=None, description="Window start with an explicit offset, e.g. 2026-11-27T03:00:00Z; default: end - 1 h"
    )
    iso_timestamp_end: AwareDatetime | None = Field(
        default=None, description="Window end with an explicit offset; default: now. At most 24 h after the start"
    )
    search: str | None = Field(default=None, max_length=200, description="Case-insensitive substring of the message")
    limit: int = Field(default=100, ge=1, le=1000, description="Rows, newest first (at most 1000)")


class Project(BaseModel):
    ref: str
    name: str
    organization_id: str | None
    region: str
    status: str
    database_version: str | None
    created_at: str


class ProjectList(BaseModel):
    projects: list[Project]


class LogSummary(BaseModel):
    count: int
    newest: str | None
    oldest: str | None
    by_level: dict[str, int] = Field(description="Rows by level, severity or HTTP status class")


class LogResult(BaseModel):
    project_id: str
    service: str
    window_start: datetime
    window_end: datetime
    summary: LogSummary
    columns: list[str] = Field(description="The fields of each line in `lines`, tab-separated, in this order")
    lines: Annotated[str, Untrusted("supabase:logs")] = Field(description="One row per line, newest first")
