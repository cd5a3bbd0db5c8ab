"""push_files through MCP against the git-backed GitHub double: requests and wall time for 1, 10, 100 files.

    python bench/bench_push_files.py --runs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.app import build_server
from server.audit import SQLiteAuditStore
from server.config import load_settings
from server.logs import configure_logging
from tests.doubles.github_api import GitHubDouble

TOKEN = "bench-token"


async def bench(runs: int) -> list[tuple[int, int, float]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp, GitHubDouble(Path(tmp) / "gh", token=TOKEN) as gh:
        gh.create_repo("acme", "web")
        os.environ.update(GITHUB_TOKEN=TOKEN, GITHUB_API_URL=gh.url)
        server = build_server(load_settings(toolsets=("github",)), audit=SQLiteAuditStore(Path(tmp) / "a.db"))
        async with Client(server) as client:
            for count in (1, 10, 100):
                times, requests = [], []
                for run in range(runs + 1):  # the first run warms up
                    files = [{"path": f"src/m{i}.py", "content": f"VALUE = {run}\n" * 20} for i in range(count)]
                    before = len(gh.requests)
                    start = time.perf_counter()
                    result = await client.call_tool(
                        "push_files",
                        {"owner": "acme", "repo": "web", "branch": f"b{count}", "message": "m", "files": files},
                    )
                    elapsed = time.perf_counter() - start
                    assert not result.is_error, result
                    if run:
                        times.append(elapsed * 1000)
                        requests.append(len(gh.requests) - before)
                rows.append((count, int(statistics.median(requests)), statistics.median(times)))
        assert gh.violations == []
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    configure_logging("WARNING")
    rows = anyio.run(bench, args.runs)
    print("| files | API requests per call | wall time per call, median (ms) |")
    print("|---|---|---|")
    for count, requests, ms in rows:
        print(f"| {count} | {requests} | {ms:.1f} |")


if __name__ == "__main__":
    main()
