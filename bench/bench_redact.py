"""Secret redaction on 1 MB of mixed text: log lines, YAML, JSON and code with planted fake secrets.

Builds the text at run time (~100 fake secrets of real formats, many look-alikes: git SHAs,
digests, UUIDs, placeholders), times `redact` and `find_secrets` (median after a warm-up), checks
that every planted secret is gone and every look-alike line survives, and, when detect-secrets is
importable, times its scan of the same text for comparison. Prints a Markdown snippet for
bench/RESULTS.md.

    python bench/bench_redact.py [--runs 7]
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import os
import platform
import random
import statistics
import string
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.redact import find_secrets, redact

rng = random.Random(7)
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
SIZE = 1_000_000


def rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def fake_secret() -> tuple[str, str]:
    """A line holding one fake secret (prefixes split so the file holds no token), and the secret."""
    pw = rand(1, string.ascii_letters) + rand(15, ALNUM + "!^_.-")
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    jwt = f"{header}.{b64url(json.dumps({'role': 'service_role', 'ref': rand(20)}).encode())}.{rand(43, B64URL)}"
    key_body = rand(64, B64)
    choices = [
        lambda: ("export GITHUB_TOKEN={}", "gh" + "p_" + rand(36)),
        lambda: ('"token": "{}",', "github" + "_pat_" + rand(22) + "_" + rand(59)),
        lambda: ("SUPABASE_ACCESS_TOKEN={}", "sb" + "p_" + rand(40, HEX)),
        lambda: ("key: {}", "sb_" + "secret_" + rand(31)),
        lambda: ("SUPABASE_SERVICE_ROLE_KEY={}", jwt),
        lambda: ("aws_access_key_id = {}", "AK" + "IA" + rand(16, string.ascii_uppercase + "234567")),
        lambda: ("AWS_SECRET_ACCESS_KEY={}", rand(40, B64)),
        lambda: ("GET /geocode?key={} 200", "AI" + "za" + rand(35, B64URL)),
        lambda: ("AccountName=acme;AccountKey={};EndpointSuffix=core.windows.net", rand(86, B64) + "=="),
        lambda: ("SLACK_BOT_TOKEN: {}", "xo" + "xb-" + rand(12, string.digits) + "-" + rand(24)),
        lambda: ('stripe.api_key = "{}"', "sk" + "_live_" + rand(24)),
        lambda: ("//registry.npmjs.org/:_authToken={}", "np" + "m_" + rand(36)),
        lambda: ("ANTHROPIC_API_KEY={}", "sk-" + "ant-api03-" + rand(93, B64URL)),
        lambda: ("OPENAI_API_KEY={}", "sk-" + "proj-" + rand(120, B64URL)),
        lambda: ('"private_key": "-----BEGIN PRIV' + 'ATE KEY-----\\n{}\\n-----END PRIV' + 'ATE KEY-----\\n"',
                 key_body),
        lambda: ('curl -H "Authorization: Bearer {}" https://api.example.com', rand(40)),
        lambda: ("DATABASE_URL=postgresql://app:{}@db.internal:5432/app", pw),
        lambda: ("    password: {}", pw),
        lambda: ('{{"user": "app", "client_secret": "{}"}}', pw),
        lambda: ("mysql --password {} -h db", pw),
    ]
    template, secret = rng.choice(choices)()
    return template.format(secret), secret


def filler_line() -> str:
    """An ordinary line, often a look-alike that must survive."""
    sha, digest = rand(40, HEX), rand(64, HEX)
    uid = f"{rand(8, HEX)}-{rand(4, HEX)}-{rand(4, HEX)}-{rand(4, HEX)}-{rand(12, HEX)}"
    lines = [
        f"2024-05-01T12:{rng.randint(10, 59)}:{rng.randint(10, 59)}Z INFO request_id={uid} GET /api/v1/items/"
        f"{rng.randint(1, 9999)} 200 {rng.randint(1, 500)}ms user=octocat",
        f"commit {sha} Merge pull request #{rng.randint(1, 999)} from acme/feature-{rng.randint(1, 99)}",
        f"    image: ghcr.io/acme/api@sha256:{digest}",
        f'  {{"id": "{rng.randint(1, 10**9)}", "sha": "{sha}", "status": "success", "max_tokens": 4096}},',
        "    password: ${DB_PASSWORD}",
        "      token: ${{ secrets.GITHUB_TOKEN }}",
        "def handler(event, context):  # process the incoming event and return a token count",
        "    api_key: str | None = None",
        f"npm notice version 1.{rng.randint(0, 40)}.{rng.randint(0, 9)} published; sig={rand(6)}",
        "Rotate the token every 90 days; the password policy requires 16 characters.",
        "https://github.com/acme/api/pull/12 http://localhost:8080/health git@github.com:acme/api.git",
        f"data: {base64.b64encode(rand(60).encode()).decode()}",
        "PWD=/home/runner/work/api/api",
    ]
    return rng.choice(lines)


def build(size: int, planted: int) -> tuple[str, list[str]]:
    lines: list[str] = []
    secrets: list[str] = []
    length = 0
    every = size // planted
    next_plant = every // 2
    while length < size:
        if length >= next_plant and len(secrets) < planted:
            line, secret = fake_secret()
            secrets.append(secret)
            next_plant += every
        else:
            line = filler_line()
        lines.append(line)
        length += len(line) + 1
    return "\n".join(lines), secrets


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up: compiled patterns, caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def detect_secrets_run(text: str, runs: int) -> tuple[float, int] | None:
    """detect-secrets' median time on `text` and how many secrets it reported, if it is installed."""
    try:
        from detect_secrets import SecretsCollection
        from detect_secrets.settings import default_settings
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "mixed.txt")
        Path(path).write_text(text)
        with default_settings():
            collection = SecretsCollection()
            collection.scan_file(path)
            return median_ms(lambda: SecretsCollection().scan_file(path), runs), len(list(collection))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--detect-secrets-runs", type=int, default=3)
    args = parser.parse_args()

    text, planted = build(SIZE, 100)
    redacted = redact(text)
    leaked = [s for s in planted if s in redacted]
    findings = find_secrets(text)
    redact_ms = median_ms(lambda: redact(text), args.runs)
    find_ms = median_ms(lambda: find_secrets(text), args.runs)
    clean = "\n".join(filler_line() for _ in range(SIZE // 60))
    clean_ms = median_ms(lambda: redact(clean), args.runs)
    survived = redact(clean) == clean
    detect_secrets = detect_secrets_run(text, args.detect_secrets_runs)

    print("## Secret redaction (1 MB mixed text)\n")
    print(f"{datetime.date.today().isoformat()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.machine()}. `python bench/bench_redact.py --runs {args.runs}`: {len(text):,} characters, "
          f"{text.count(chr(10)) + 1:,} lines of logs, YAML, JSON and code, {len(planted)} planted fake secrets "
          "and many look-alikes (git SHAs, digests, UUIDs, placeholders, prose). Median after a warm-up.\n")
    print("| what | time | result |")
    print("| --- | ---: | --- |")
    print(f"| `redact` | {redact_ms:.1f} ms | {len(planted) - len(leaked)}/{len(planted)} planted secrets redacted |")
    print(f"| `find_secrets` | {find_ms:.1f} ms | {len(findings)} findings |")
    print(f"| `redact`, look-alikes only (no secret) | {clean_ms:.1f} ms | "
          f"{'unchanged' if survived else 'CHANGED: false positives'} |")
    if detect_secrets is None:
        print("| detect-secrets `scan_file` | not installed | |")
    else:
        print(f"| detect-secrets `scan_file`, default plugins | {detect_secrets[0]:.0f} ms | {detect_secrets[1]:,} "
              "reported (values and line numbers, no offsets to redact) |")
    if leaked or not survived:
        sys.exit(f"leaked {len(leaked)} planted secrets; look-alikes unchanged: {survived}")


if __name__ == "__main__":
    main()
