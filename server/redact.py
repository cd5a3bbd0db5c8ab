"""Secret detection and redaction for tool results, log lines, audit rows and commit content.

Hand-written rules, not detect-secrets: on 1 MB of mixed text detect-secrets 1.5.0 took 3.6 s
(scan_file) to 5.6 s (scan_line), reports values and line numbers but no offsets to redact, and its
entropy plugins flag every git SHA and digest; these rules take about 30 ms (bench/RESULTS.md).

Speed: every pattern starts with a literal anchor (`ghp_`, `eyJ`, `password`, `://`), so the
regex engine's literal search skips all text without it: each rule costs about one substring
scan. Rules for key names, whose case varies, are written in lower case and run on a lower-cased
copy instead of using re.IGNORECASE, which would disable that search. Token patterns put a
fixed-width look-behind after the literal, so a run of token characters is entered once, and
repeats are bounded or possessive: no input makes a pattern backtrack more than a bounded amount.
Overlapping findings are merged into one span named after the most specific rule.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = ["RULES", "SecretFinding", "find_secrets", "redact", "redact_value"]


@dataclass(frozen=True, slots=True)
class SecretFinding:
    """A secret at text[start:end], found by `rule` (one of RULES)."""

    rule: str
    start: int
    end: int


# A checker sees the match and the secret's text as it is in the input (a folded rule matched the
# lower-cased copy); False drops the match.
_Check = Callable[["re.Match[str]", str], bool]


@dataclass(frozen=True, slots=True)
class _Rule:
    id: str
    pattern: re.Pattern[str]  # starts with a literal: the engine searches for it, skipping the rest
    folded: bool = False  # written in lower case and run on text.lower(): key names come in any case
    check: _Check | None = None


def _rule(rule_id: str, pattern: str, *, folded: bool = False, check: _Check | None = None) -> _Rule:
    return _Rule(rule_id, re.compile(pattern), folded, check)


def _token(prefix: str, body: str, edge: str = "A-Za-z0-9_-") -> str:
    """A token `prefix` + `body` not glued to other token characters on either side.

    `prefix` must be fixed-width: the look-behind placed after it tests the character before it,
    which keeps the literal prefix first so the engine can search for it.
    """
    return rf"{prefix}(?<![{edge}]{prefix}){body}(?![{edge}])"


# Values that name, mask or template a secret rather than hold one; matched against a whole value.
_PLACEHOLDER = re.compile(
    r"""
    \$.*                                    # $VAR, ${VAR}, $(cmd), ${{ secrets.X }}
    | <[^<>]*> | \{.* | %\(?\w*\)?s          # <password>, {{ template }}, {name}, a JSON object, %s
    | \[.*                                   # [REDACTED:…] (keeps redact() idempotent), a list
    | \*+ | •+ | \.\.\.+ | … | [\W_]          # masked, elided, or a lone `=` or `.`
    | \#.*                                   # a comment: `password:  # set in CI`
    | none | null | nil | true | false | undefined | required | optional | read | write  # `id-token: write`
    | the | a | an                           # prose: "token: the value from the login step"
    | str | string | bytes | int | bool | any | secretstr | secretbytes | optional\[.*  # type annotations
    | bearer | basic | await | new | lambda | function
    | (?:self|this|cls|os|var|local|env|process|settings|config|args|params|inputs|vars|secrets)
      [.\[].*                                # a reference in code: var.db_password, os.environ[...]
    | .*\(.* | [a-z_]\w*\[.*                 # code: os.getenv("X"), auth[1], Callable[[str], None]
    """,
    re.IGNORECASE | re.VERBOSE,
)


def _real_value(value: str) -> bool:
    return bool(value) and not _PLACEHOLDER.fullmatch(value)


_NAME = re.compile(r"[\w.]+")


def _names_itself(key_word: str, value: str) -> bool:
    """A value that is a name ending in the key word is code: `token=auth.token`, `token: ProgressToken`."""
    return bool(_NAME.fullmatch(value)) and value.lower().replace("_", "").endswith(
        key_word.lower().replace("_", "").replace("-", "")
    )


def _secret_value(key_word: str, value: str) -> bool:
    # `PWD=/home/runner/work` in an env dump is the working directory, not a password.
    return (
        _real_value(value)
        and not _names_itself(key_word, value)
        and not (key_word.lower() == "pwd" and value.startswith(("/", "~")))
    )


def _assignment_check(m: re.Match[str], value: str) -> bool:
    return _secret_value(m["k"], value)


def _flag_check(m: re.Match[str], value: str) -> bool:
    # A flag followed by the next flag (`--no-password --verbose`) has no value.
    return _secret_value(m["k"], value) and not value.startswith("-")


def _jwt_check(m: re.Match[str], value: str) -> bool:
    header = value.split(".", 1)[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (ValueError, binascii.Error):  # not base64, not UTF-8 or not JSON
        return False
    return isinstance(decoded, dict) and "alg" in decoded


def _header_check(m: re.Match[str], value: str) -> bool:
    # After an Authorization header anything but a placeholder or a name in code is a credential.
    return _real_value(value) and not _names_itself("authorization", value)


def _bare_bearer_check(m: re.Match[str], value: str) -> bool:
    # "Bearer x" outside a header may be prose: only a token-like value with digits and letters.
    return _real_value(value) and any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def _bare_basic_check(m: re.Match[str], value: str) -> bool:
    # "Basic x" outside a header may be prose: only a value that decodes to user:password.
    try:
        return b":" in base64.b64decode(value, validate=True)
    except binascii.Error:
        return False


_EXAMPLE_PASSWORDS = frozenset({"password", "passwd", "pass", "pwd", "pw", "secret"})  # user:password@host in docs


def _url_check(m: re.Match[str], value: str) -> bool:
    password = value.split(":", 1)[1]
    return _real_value(password) and password.lower() not in _EXAMPLE_PASSWORDS and "[REDACTED:" not in value


# Key names whose value is a secret (a key ends with one: `DB_PASSWORD`, `clientSecret`), each
# starting with a literal so that each gets its own fast search.
_KEY_WORDS = (
    "pass(?:word|wd|phrase)", "pwd", "secret", "token", "api[_-]?key", "access[_-]?key", "private[_-]?key",
    "signing[_-]?key", "encryption[_-]?key", "master[_-]?key",
)
_KEY_SUFFIX = r"(?:[_-]?(?:key|base|value)){0,2}"
# key=, key:, "key": , key => , ['key'] => , but not key == . A bare colon needs a blank or quote after it (YAML,
# JSON): in `x-access-token:ghs_…@host` it is URL userinfo, left to the URL and token rules.
_ASSIGN = r"""(?:\\?["'])?\]?[ \t]*(?:=>|:=|=(?!=)|:(?=[ \t]|\\?["']))[ \t]*"""
_CLI_WORD = r"(?P<k>password|passwd|passphrase|pwd|secret|token|api-?key|access-key|private-key)"
# Quoted values may not span lines, nor may a bare value run over a `\n` escape (JSON-encoded
# text); possessive repeats never backtrack into a long value.
_VALUE = (
    r"""(?:"(?P<v>(?:[^"\\\r\n]|\\.)*+)"|'(?P<v2>[^'\r\n]*+)'"""
    r"""|\\"(?P<v3>(?:[^"\\\r\n]|\\[^"\r\n])*+)\\"|(?P<v4>(?:[^\s"'`,;&)}\\]|\\(?![nrt"]))++))"""
)

_RULES: tuple[_Rule, ...] = (
    # Most specific first: when findings overlap, the earliest rule names the merged span.
    _rule(
        "private_key",
        # The body runs to the END line; without one it runs to the next "-----" or the end of
        # the text: a truncated key is still secret. Base64 never holds "-----".
        r"-----BEGIN(?: [A-Z0-9]+){0,3} PRIVATE KEY(?: BLOCK)?-----(?:[^-]|-(?!----))*+"
        r"(?:-----END(?: [A-Z0-9]+){0,3} PRIVATE KEY(?: BLOCK)?-----)?",
    ),
    _rule("jwt", _token("eyJ", r"[A-Za-z0-9_-]++\.[A-Za-z0-9_-]++\.[A-Za-z0-9_-]*+"), check=_jwt_check),
    _rule("github_fine_grained_token", _token("github_pat_", r"[A-Za-z0-9_]{22,255}")),
    _rule("github_token", _token("gh[pousr]_", r"[A-Za-z0-9]{36,251}")),
    _rule("gitlab_token", _token("glpat-", r"[A-Za-z0-9_-]{20,64}")),
    _rule("supabase_access_token", _token("sbp_", r"[A-Za-z0-9_]{40,128}")),
    _rule("supabase_secret_key", _token("sb_secret_", r"[A-Za-z0-9_-]{20,128}")),
    _rule("supabase_publishable_key", _token("sb_publishable_", r"[A-Za-z0-9_-]{20,128}")),
    _rule("anthropic_api_key", _token("sk-ant-", r"[A-Za-z0-9_-]{32,256}")),
    _rule("openai_api_key", _token("sk-", r"(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,256}|[A-Za-z0-9]{48})")),
    _rule("stripe_key", _token("sk_(?:live|test)_", r"[A-Za-z0-9]{16,247}")),
    _rule("stripe_key", _token("rk_(?:live|test)_", r"[A-Za-z0-9]{16,247}")),
    _rule("slack_token", _token("x(?:ox[abeoprs]|app)", r"(?:\.xox[abeoprs])?-[A-Za-z0-9-]{10,250}")),
    # The path is the secret; scheme and host stay readable.
    _rule("slack_webhook", r"https://hooks\.slack\.com/(?P<v>(?:services|workflows|triggers)/[A-Za-z0-9_/-]{8,})"),
    _rule("npm_token", _token("npm_", r"[A-Za-z0-9]{36}")),
    _rule("pypi_token", _token("pypi-AgE", r"[A-Za-z0-9_-]{50,1000}")),
    _rule("aws_access_key_id", _token("A[KS]IA", r"[A-Z0-9]{16}", edge="A-Za-z0-9")),
    _rule(
        "aws_secret_access_key",
        r"""secret[_-]?access[_-]?key(?:\\?["'])?[ \t]*[:=][ \t]*(?:\\?["'])?(?P<v>[a-z0-9/+]{40})(?![a-z0-9/+=])""",
        folded=True,
    ),
    _rule("gcp_api_key", _token("AIza", r"[A-Za-z0-9_-]{35}")),
    _rule("gcp_private_key_id", r'private_key_id\\?"[ \t]*:[ \t]*\\?"(?P<v>[a-f0-9]{40})\\?"'),
    # Storage AccountKey=, Service Bus / Event Hubs SharedAccessKey=.
    _rule("azure_account_key", r"accountkey[ \t]*=[ \t]*(?P<v>[a-z0-9+/]{20,}={0,2})", folded=True),
    _rule("azure_account_key", r"sharedaccesskey[ \t]*=[ \t]*(?P<v>[a-z0-9+/]{20,}={0,2})", folded=True),
    # A SAS in a connection string or token, or the sig= of a SAS URL.
    _rule("azure_sas", r"""sharedaccesssignature[ \t]*[= ][ \t]*(?P<v>[^\s;"'<>]+)""", folded=True),
    _rule("azure_sas", r"sig=(?<=[?&;]sig=)(?P<v>[a-z0-9%+/=_-]{16,})", folded=True),
    _rule(
        "authorization",
        r"""authorization(?:\\?["'])?[ \t]*[:=][ \t]*(?:\\?["'])?(?:(?:bearer|basic|token|bot|apikey)[ \t]+)?"""
        r"""(?P<v>[^\s"'`,;\\]{8,})""",  # credentials are long; `f"Bearer {key}"` leaves `f`
        folded=True,
        check=_header_check,
    ),
    _rule("authorization", r"bearer(?<![a-z]bearer)[ \t]+(?P<v>[a-z0-9._~+/=-]{16,})", folded=True,
          check=_bare_bearer_check),
    _rule("authorization", r"basic(?<![a-z]basic)[ \t]+(?P<v>[a-z0-9+/]{8,}={0,2})(?![a-z0-9+/=])", folded=True,
          check=_bare_basic_check),
    # A URL with a user and a password before @host: only that userinfo goes, with any unencoded ? or # in it.
    _rule("url_credentials", r"""://(?P<v>[^\s:/?#@"'<>]{0,128}:[^\s/"'<>]{1,256})@""", check=_url_check),
    # key=value, key: value, "key": "value", key => value: only the value goes.
    *(
        _rule("secret_assignment", f"(?P<k>{word}{_KEY_SUFFIX}){_ASSIGN}{_VALUE}", folded=True,
              check=_assignment_check)
        for word in _KEY_WORDS
    ),
    # CLI flags: "--password" or "--db-password", a blank, then the value.
    _rule("secret_assignment", r"--(?:[a-z0-9]++-){0,4}" + _CLI_WORD + r"[ \t]+" + _VALUE, folded=True,
          check=_flag_check),
)

RULES: tuple[str, ...] = tuple(dict.fromkeys(rule.id for rule in _RULES))
# Each rule's named value groups ("v…"), looked up once rather than on every scan.
_VALUE_GROUPS: tuple[tuple[str, ...], ...] = tuple(
    tuple(name for name in rule.pattern.groupindex if name.startswith("v")) for rule in _RULES
)

# A dict key naming a secret (password, DB_PASSWORD, apiKey, an Authorization or Cookie header):
# its string value is redacted whole.
_SECRET_KEY = re.compile(f"(?P<k>(?:{'|'.join(_KEY_WORDS)}){_KEY_SUFFIX}|authorization|cookie)\\Z", re.IGNORECASE)


def find_secrets(text: str) -> list[SecretFinding]:
    """The secrets in `text`, ordered and non-overlapping."""
    folded = text.lower()
    if len(folded) != len(text):  # only U+0130 lower-cases to two characters; offsets must match
        folded = text.replace("\u0130", "i").lower()
    spans: list[list[int]] = []  # [start, end, rule index]
    for index, (rule, groups) in enumerate(zip(_RULES, _VALUE_GROUPS, strict=True)):
        for m in rule.pattern.finditer(folded if rule.folded else text):
            group: str | int = next((name for name in groups if m.start(name) >= 0), 0)
            start, end = m.span(group)
            if start == end or (rule.check is not None and not rule.check(m, text[start:end])):
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

    A string value under a key that names a secret (`password`, `DB_PASSWORD`, `apiKey`,
    `Authorization`, `Cookie`) is redacted whole unless it is empty or a placeholder. Other
    objects are returned as they are.
    """
    if isinstance(value, str):
        return redact(value)
    if not _may_hold_secret(value):
        return value
    return _redact_each(value)


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _keyed_secret(value: object) -> bool:
    if isinstance(value, dict):
        return any(
            (isinstance(key, str) and isinstance(item, str) and _SECRET_KEY.search(key) is not None)
            or _keyed_secret(item)
            for key, item in value.items()
        )
    if isinstance(value, list | tuple):
        return any(_keyed_secret(item) for item in value)
    return False


def _may_hold_secret(value: object) -> bool:
    """One scan over all of a structure's strings: most tool results hold no secret, and scanning each
    short string on its own costs the rules' fixed overhead every time."""
    return _keyed_secret(value) or bool(find_secrets("\n".join(_strings(value))))


def _redact_each(value: object) -> object:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {_redact_each(key): _redact_field(key, item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact_each(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_redact_each(item) for item in value)
    return value


def _redact_field(key: object, value: object) -> object:
    if isinstance(key, str) and isinstance(value, str):
        m = _SECRET_KEY.search(key)
        if m and _secret_value(m["k"], value):
            # Named after a rule that recognises the whole value, if one does (`[REDACTED:jwt]`).
            findings = find_secrets(value)
            whole = len(findings) == 1 and findings[0].start == 0 and findings[0].end == len(value)
            return f"[REDACTED:{findings[0].rule if whole else 'secret_assignment'}]"
    return redact_value(value)
