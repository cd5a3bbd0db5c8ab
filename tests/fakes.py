"""Fake secrets of real formats, built at run time so that no scanner flags this repository."""

from __future__ import annotations

import base64
import json
import secrets
import string

_ALNUM = string.ascii_letters + string.digits


def _rand(n: int, alphabet: str = _ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def github_token() -> str:
    return "gh" + "p_" + _rand(36)


def aws_access_key_id() -> str:
    return "AK" + "IA" + _rand(16, string.ascii_uppercase + "234567")


def aws_secret_access_key() -> str:
    return _rand(40, _ALNUM + "/+")


def supabase_token() -> str:
    return "sb" + "p_" + _rand(40, "0123456789abcdef")


def service_role_jwt() -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    header = part({"alg": "HS256", "typ": "JWT"})
    payload = part({"iss": "supabase", "ref": _rand(20).lower(), "role": "service_role", "exp": 2000000000})
    return f"{header}.{payload}.{_rand(43, _ALNUM + '-_')}"
