"""Secret detection and redaction for tool results, log lines, audit rows and commit content.

Hand-written rules, not detect-secrets: on 1 MB of mixed text detect-secrets 1.5.0 took 3.6 s
(scan_file) to 5.6 s (scan_line), reports values and line numbers but no offsets to redact, and its
entropy plugins flag every git SHA and digest; these rules take milliseconds (bench/RESULTS.md).

Speed: each rule names cheap literal anchors and its regex runs only when one of them occurs in
the text (`in` is a C substring search), so ordinary text costs a few substring scans. Token
patterns start with a literal (the regex engine then searches for it directly) followed by a
fixed-width look-behind on the character before it, so a run of token characters is entered
once; quoted values use possessive repeats, so no pattern backtracks more than a bounded amount.
Overlapping findings are merged into one span named after the most specific rule.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RULES", "SecretFinding", "find_secrets", "redact", "redact_value"]


@dataclass(frozen=True, slots=True)
class SecretFinding:
    """A secret at text[start:end], found by `rule` (one of RULES)."""

    rule: str
    start: int
    end: int


# A checker sees the match and the group holding the value (0: the whole match); False drops it.
_Check = Callable[["re.Match[str]", str | int], bool]


@dataclass(frozen=True, slots=True)
class _Rule:
    id: str
    pattern: re.Pattern[str]
    anchors: tuple[str, ...]  # the regex runs only if one occurs in the text
    folded: bool = False  # anchors are lower case and looked up in text.lower()
    check: _Check | None = None


def _token(prefix: str, body: str, edge: str = "A-Za-z0-9_-") -> str:
    """A token `prefix` + `body` not glued to other token characters on either side.

    `prefix` must be fixed-width: the look-behind placed after it tests the character before it,
    which keeps the literal prefix first so the engine can search for it.
    """
    return rf"{prefix}(?<![{edge}]{prefix}){body}(?![{edge}])"


# Values that name, mask or template a secret rather than hold one; matched against a whole value.
_PLACEHOLDER = re.compile(
    r"""
    \$.*                                  # $VAR, ${VAR}, $(cmd), ${{ secrets.X }}
    | <[^<>]*> | \{\{.*\}\} | \{[\w.-]*\}  # <password>, {{ template }}, {name}
    | %\(?\w*\)?s                          # %s, %(name)s
    | \*+ | •+                             # masked
    | \[REDACTED[^\]]*\]                   # already redacted: keeps redact() idempotent
    | none | null | nil | true | false | undefined | required
    | str | string | bytes | int | bool | any | secretstr | secretbytes  # type annotations
    | optional\[.* | bearer | basic
    | (?:self|this|cls|os|var|local|env|process|settings|config|args|params|inputs|vars|secrets)
      [.\[].*                              # a reference in code: var.db_password, os.environ[...]
    | .*\(.*                               # a call in code: os.getenv("X")
    """,
    re.IGNORECASE | re.VERBOSE,
)


def _real_value(value: str) -> bool:
    return bool(value) and not _PLACEHOLDER.fullmatch(value)


def _assignment_check(m: re.Match[str], group: str | int) -> bool:
    value = m[group]
    # `PWD=/home/runner/work` in an env dump is the working directory, not a password.
    return _real_value(value) and not (m["k"].lower() == "pwd" and value.startswith(("/", "~")))


def _flag_check(m: re.Match[str], group: str | int) -> bool:
    # A flag followed by the next flag (`--no-password --verbose`) has no value.
    return _assignment_check(m, group) and not m[group].startswith("-")


def _jwt_check(m: re.Match[str], group: str | int) -> bool:
    header = m[group].split(".", 1)[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (ValueError, binascii.Error):  # not base64, not UTF-8 or not JSON
        return False
    return isinstance(decoded, dict) and "alg" in decoded


def _authorization_check(m: re.Match[str], group: str | int) -> bool:
    value = m[group]
    if group == "v":  # after an Authorization header anything but a placeholder is a credential
        return _real_value(value)
    if group == "v2":  # a bare "Bearer x" in prose: only a token-like value with digits and letters
        return _real_value(value) and any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
    try:  # a bare "Basic x": only if it decodes to user:password
        return b":" in base64.b64decode(value, validate=True)
    except binascii.Error:
        return False


def _url_check(m: re.Match[str], group: str | int) -> bool:
    password = m[group].split(":", 1)[1]
    return _real_value(password) and "[REDACTED:" not in m[group]


# Key names whose value is a secret; a key must end with one (`DB_PASSWORD`, `clientSecret`).
_KEY_WORD = (
    r"(?P<k>pass(?:word|wd|phrase)|pwd|secret|token|api[_-]?key|apikey|access[_-]?key"
    r"|private[_-]?key|(?:signing|encryption|master)[_-]?key|credentials?)(?:[_-]?(?:key|base|value)){0,2}"
)
_CLI_WORD = (
    r"(?P<k>password|passwd|passphrase|pwd|secret|token|api-?key|access-key|private-key"
    r"|client-secret|credentials?)"
)
# Quoted values may not span lines; possessive repeats never backtrack into a long value.
_VALUE = (
    r"""(?:"(?P<v>(?:[^"\\\r\n]|\\.)*+)"|'(?P<v2>[^'\r\n]*+)'"""
    r"""|\\"(?P<v3>(?:[^"\\\r\n]|\\[^"\r\n])*+)\\"|(?P<v4>[^\s"'`,;&)}]++))"""
)

_RULES: tuple[_Rule, ...] = (
    # Most specific first: when findings overlap, the earliest rule names the merged span.
    _Rule(
        "private_key",
        # The body runs to the END line; without one it runs to the next "-----" or the end of
        # the text: a truncated key is still secret. Base64 never holds "-----".
        re.compile(
            r"-----BEGIN(?: [A-Z0-9]+){0,3} PRIVATE KEY(?: BLOCK)?-----(?:[^-]|-(?!----))*+"
            r"(?:-----END(?: [A-Z0-9]+){0,3} PRIVATE KEY(?: BLOCK)?-----)?"
        ),
        ("PRIVATE KEY",),
    ),
    _Rule(
        "jwt",
        re.compile(_token("eyJ", r"[A-Za-z0-9_-]++\.[A-Za-z0-9_-]++\.[A-Za-z0-9_-]*+")),
        ("eyJ",),
        check=_jwt_check,
    ),
    _Rule("github_fine_grained_token", re.compile(_token("github_pat_", r"[A-Za-z0-9_]{22,255}")), ("github_pat_",)),
    _Rule(
        "github_token",
        re.compile(_token("gh[pousr]_", r"[A-Za-z0-9]{36,251}")),
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    ),
    _Rule("gitlab_token", re.compile(_token("glpat-", r"[A-Za-z0-9_-]{20,64}")), ("glpat-",)),
    _Rule("supabase_access_token", re.compile(_token("sbp_", r"[A-Za-z0-9_]{40,128}")), ("sbp_",)),
    _Rule("supabase_secret_key", re.compile(_token("sb_secret_", r"[A-Za-z0-9_-]{20,128}")), ("sb_secret_",)),
    _Rule(
        "supabase_publishable_key",
        re.compile(_token("sb_publishable_", r"[A-Za-z0-9_-]{20,128}")),
        ("sb_publishable_",),
    ),
    _Rule("anthropic_api_key", re.compile(_token("sk-ant-", r"[A-Za-z0-9_-]{32,256}")), ("sk-ant-",)),
    _Rule(
        "openai_api_key",
        re.compile(_token("sk-", r"(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,256}|[A-Za-z0-9]{48})")),
        ("sk-",),
    ),
    _Rule(
        "stripe_key",
        re.compile(_token("[sr]k_(?:live|test)_", r"[A-Za-z0-9]{16,247}")),
        ("k_live_", "k_test_"),
    ),
    _Rule(
        "slack_token",
        re.compile(_token("x(?:ox[abeoprs]|app)", r"(?:\.xox[abeoprs])?-[A-Za-z0-9-]{10,250}")),
        ("xox", "xapp-"),
    ),
    _Rule(
        "slack_webhook",  # the path is the secret; scheme and host stay readable
        re.compile(r"https://hooks\.slack\.com/(?P<v>(?:services|workflows|triggers)/[A-Za-z0-9_/-]{8,})"),
        ("hooks.slack.com/",),
    ),
    _Rule("npm_token", re.compile(_token("npm_", r"[A-Za-z0-9]{36}")), ("npm_",)),
    _Rule("pypi_token", re.compile(_token("pypi-AgE", r"[A-Za-z0-9_-]{50,1000}")), ("pypi-AgE",)),
    _Rule("aws_access_key_id", re.compile(_token("A[KS]IA", r"[A-Z0-9]{16}", edge="A-Za-z0-9")), ("AKIA", "ASIA")),
    _Rule(
        "aws_secret_access_key",
        re.compile(
            r"secret[_-]?access[_-]?key(?:\\?[\"'])?[ \t]*[:=][ \t]*(?:\\?[\"'])?"
            r"(?P<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
            re.IGNORECASE,
        ),
        ("secret_access_key", "secretaccesskey", "secret-access-key"),
        folded=True,
    ),
    _Rule("gcp_api_key", re.compile(_token("AIza", r"[A-Za-z0-9_-]{35}")), ("AIza",)),
    _Rule(
        "gcp_private_key_id",
        re.compile(r'private_key_id\\?"[ \t]*:[ \t]*\\?"(?P<v>[a-f0-9]{40})\\?"'),
        ("private_key_id",),
    ),
    _Rule(
        "azure_account_key",  # storage AccountKey=, Service Bus / Event Hubs SharedAccessKey=
        re.compile(r"(?:AccountKey|SharedAccessKey)[ \t]*=[ \t]*(?P<v>[A-Za-z0-9+/]{20,}={0,2})", re.IGNORECASE),
        ("accountkey", "sharedaccesskey"),
        folded=True,
    ),
    _Rule(
        "azure_sas",  # a SAS in a connection string or token, or the sig= of a SAS URL
        re.compile(
            r"SharedAccessSignature[ \t]*[= ][ \t]*(?P<v>[^\s;\"'<>]+)|[?&;]sig=(?P<v2>[A-Za-z0-9%+/=_-]{16,})",
            re.IGNORECASE,
        ),
        ("sharedaccesssignature", "sig="),
        folded=True,
    ),
    _Rule(
        "authorization",
        re.compile(
            r"(?:proxy-)?authorization(?:\\?[\"'])?[ \t]*[:=][ \t]*(?:\\?[\"'])?"
            r"(?:(?:bearer|basic|token|bot|apikey)[ \t]+)?(?P<v>[^\s\"'`,;\\]+)"
            r"|(?<![A-Za-z])bearer[ \t]+(?P<v2>[A-Za-z0-9._~+/=-]{16,})"
            r"|(?<![A-Za-z])basic[ \t]+(?P<v3>[A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])",
            re.IGNORECASE,
        ),
        ("authorization", "bearer", "basic"),
        folded=True,
        check=_authorization_check,
    ),
    _Rule(
        "url_credentials",  # user and password before @host: only that userinfo goes (with any unencoded ? or #)
        re.compile(r"://(?P<v>[^\s:/?#@\"'<>]{0,128}:[^\s/\"'<>]{1,256})@"),
        ("://",),
        check=_url_check,
    ),
    _Rule(
        "secret_assignment",  # key=value, key: value, "key": "value", key => value (only the value goes)
        # A bare colon needs a blank or quote after it (YAML, JSON): `x-access-token:ghs_…@host`
        # is URL userinfo, left to the URL and token rules.
        re.compile(_KEY_WORD + r"(?:\\?[\"'])?\]?[ \t]*(?:=>|:=|=|:(?=[ \t]|\\?[\"']))[ \t]*" + _VALUE, re.IGNORECASE),
        ("pass", "pwd", "secret", "token", "key", "credential"),
        folded=True,
        check=_assignment_check,
    ),
    _Rule(
        "secret_assignment",  # CLI flags: --password hunter2, --db-password 'x'
        re.compile(
            r"--(?:[A-Za-z0-9]++-){0,4}" + _CLI_WORD + r"[ \t]+" + _VALUE,
            re.IGNORECASE,
        ),
        ("--",),
        check=_flag_check,
    ),
)

RULES: tuple[str, ...] = tuple(dict.fromkeys(rule.id for rule in _RULES))

# A dict key naming a secret (`{"password": "x"}`): its string value is redacted whole.
_SECRET_KEY = re.compile(_KEY_WORD + r"\Z", re.IGNORECASE)


def find_secrets(text: str) -> list[SecretFinding]:
    """The secrets in `text`, ordered and non-overlapping."""
    folded = text.lower()  # only for anchor look-ups: its offsets may differ from text's
    spans: list[list[int]] = []  # [start, end, rule index]
    for index, rule in enumerate(_RULES):
        haystack = folded if rule.folded else text
        if not any(anchor in haystack for anchor in rule.anchors):
            continue
        groups = [name for name in rule.pattern.groupindex if name.startswith("v")]
        for m in rule.pattern.finditer(text):
            group: str | int = next((name for name in groups if m.start(name) >= 0), 0)
            start, end = m.span(group)
            if start == end or (rule.check is not None and not rule.check(m, group)):
                continue
            spans.append([start, end, index])
    spans.sort()
    merged: list[list[int]] = []
    for span in spans:
        if merged and span[0] < merged[-1][1]:
            last = merged[-1]
            last[1], last[2] = max(last[1], span[1]), min(last[2], span[2])
        else:
            merged.append(span)
    return [SecretFinding(_RULES[index].id, start, end) for start, end, index in merged]


def redact(text: str) -> str:
    """`text` with each secret replaced by `[REDACTED:<rule>]`; redacting twice changes nothing."""
    parts: list[str] = []
    position = 0
    for finding in find_secrets(text):
        parts += (text[position : finding.start], f"[REDACTED:{finding.rule}]")
        position = finding.end
    if not parts:
        return text
    parts.append(text[position:])
    return "".join(parts)


def redact_value(value: object) -> object:
    """A copy of `value` with every string in it (dict keys too) redacted, recursively.

    A string value under a key that names a secret (`password`, `DB_PASSWORD`, `apiKey`) is
    redacted whole unless it is empty or a placeholder. Other objects are returned as they are.
    """
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_value(key): _redact_field(key, item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_value(item) for item in value]
    if isinstance(value, tuple):
        return tuple(redact_value(item) for item in value)
    return value


def _redact_field(key: object, value: object) -> object:
    if isinstance(key, str) and isinstance(value, str) and _real_value(value):
        m = _SECRET_KEY.search(key)
        if m and not (m["k"].lower() == "pwd" and value.startswith(("/", "~"))):
            return "[REDACTED:secret_assignment]"
    return redact_value(value)
