"""Secret detection and redaction: a table of fake secrets that must go and look-alikes that must stay.

Every fake is built at run time from pieces (`"gh" + "p_"` + random characters of the real
alphabet and length, with the real checksum where the format has one), so no literal in this
file looks like a token to a secret scanner.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import string
import uuid
import zlib
from dataclasses import FrozenInstanceError

import pytest

from server.redact import RULES, SecretFinding, find_secrets, redact, redact_value

_rng = random.Random(20240501)  # fixed seed: a failure names the same fake every run
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"


def rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


def password() -> str:
    return rand(1, string.ascii_letters) + rand(15, ALNUM + "!#^_.-")


def checksummed(prefix: str) -> str:
    """GitHub/npm token layout: 30 random base62 characters, then their CRC32 in 6 base62 digits."""
    body = rand(30)
    crc, digits = zlib.crc32(body.encode()), ""
    for _ in range(6):
        crc, digit = divmod(crc, 62)
        digits = BASE62[digit] + digits
    return prefix + body + digits


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(payload: dict[str, object], alg: str = "HS256") -> str:
    header = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    return f"{header}.{b64url(json.dumps(payload).encode())}.{rand(43, B64URL)}"


PRIVATE = "PRIV" + "ATE KEY"  # split so that scanners do not take this file for a key


def pem(kind: str, newline: str = "\n") -> tuple[str, str]:
    """A private key block and one of its body lines (what must not survive redaction)."""
    label = f"{kind} {PRIVATE}".strip()
    lines = [rand(64, B64) for _ in range(12)] + [rand(20, B64) + "=="]
    block = newline.join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"])
    return block, lines[5]


def supabase_jwt(role: str) -> str:
    return jwt({"iss": "supabase", "ref": rand(20, string.ascii_lowercase), "role": role, "iat": 1700000000})


_gh = {kind: checksummed("gh" + kind + "_") for kind in "pousr"}
_fine = "github" + "_pat_" + rand(22) + "_" + rand(59)
_glpat = "gl" + "pat-" + rand(20, B64URL)
_sbp = "sb" + "p_" + rand(40, HEX)
_sb_server_key = "sb_" + "secret_" + rand(31, ALNUM)
_sb_pub = "sb_" + "publishable_" + rand(31, ALNUM)
_service_jwt, _anon_jwt = supabase_jwt("service_role"), supabase_jwt("anon")
_rs_jwt = jwt({"sub": "deploy-bot", "exp": 1900000000}, alg="RS256")
_akia = "AK" + "IA" + rand(16, string.ascii_uppercase + "234567")
_asia = "AS" + "IA" + rand(16, string.ascii_uppercase + "234567")
_aws_secrets = [rand(40, B64) for _ in range(3)]
_key_id = rand(40, HEX)
_gcp_key, _gcp_line = pem("", newline="\\n")
_aiza = "AI" + "za" + rand(35, B64URL)
_account_key = rand(86, B64) + "=="
_shared_key = rand(43, B64) + "="
_sas_sig = rand(40, ALNUM) + "%2B" + rand(8) + "%3D"
_url_sig = rand(30, ALNUM) + "%2F" + rand(10) + "%3D"
_xoxb = "xo" + "xb-" + rand(12, string.digits) + "-" + rand(13, string.digits) + "-" + rand(24)
_xoxp = "xo" + "xp-" + "-".join(rand(12, string.digits) for _ in range(3)) + "-" + rand(32, HEX)
_xapp = "xa" + "pp-1-A" + rand(10, string.ascii_uppercase + string.digits) + "-" + rand(13, string.digits) + "-"
_xapp += rand(64, HEX)
_hook = "services/T" + rand(8, string.ascii_uppercase) + "/B" + rand(8, string.ascii_uppercase) + "/" + rand(24)
_stripe = {p: p + "_" + rand(24) for p in ("sk" + "_live", "rk" + "_live", "sk" + "_test")}
_npm = checksummed("np" + "m_")
_pypi = "py" + "pi-AgEIcHlwaS5vcmc" + b64url(_rng.randbytes(120))
_anthropic = "sk-" + "ant-api03-" + rand(93, B64URL) + "AA"
_openai_proj = "sk-" + "proj-" + rand(156, B64URL)
_openai_legacy = "sk-" + rand(20) + "T3Blbk" + "FJ" + rand(20)
_rsa, _rsa_line = pem("RSA")
_ec, _ec_line = pem("EC")
_openssh, _openssh_line = pem("OPENSSH")
_pgp_label = f"PGP {PRIVATE} BLOCK"
_pgp_lines = [rand(64, B64) for _ in range(8)]
_pgp = "\n".join([f"-----BEGIN {_pgp_label}-----", "Version: GnuPG v2", "", *_pgp_lines, f"-----END {_pgp_label}-----"])
_enc, _enc_line = pem("ENCRYPTED")
_truncated, _truncated_line = pem("RSA")
_truncated = _truncated.rsplit("\n", 3)[0]  # a log cut before the END line
_bearer = rand(40)
_basic = base64.b64encode(f"deploy:{password()}".encode()).decode()
_bare_bearer = rand(20) + rand(4, string.digits) + rand(8)
_pw = [password() for _ in range(16)]

# id, text, the secret in it, the rule that must find it, text around it that must survive
_ROWS: list[tuple[str, str, str, str, str | None]] = [
    ("github-classic", f"export GITHUB_TOKEN={_gh['p']}", _gh["p"], "github_token", "export GITHUB_TOKEN="),
    ("github-oauth-json", f'{{"access_token": "{_gh["o"]}", "scope": "repo"}}', _gh["o"], "github_token",
     '"scope": "repo"'),
    ("github-user-to-server", f"INFO refreshed {_gh['u']} for octocat", _gh["u"], "github_token", "for octocat"),
    ("github-app-in-clone-url", f"git clone https://x-access-token:{_gh['s']}@github.com/acme/api.git", _gh["s"],
     "github_token", "@github.com/acme/api.git"),
    ("github-refresh", f'"refresh_token": "{_gh["r"]}"', _gh["r"], "github_token", '"refresh_token": "'),
    ("github-fine-grained", f"GH_PAT: {_fine}", _fine, "github_fine_grained_token", "GH_PAT: "),
    ("gitlab-pat", f"using {_glpat} for the mirror", _glpat, "gitlab_token", " for the mirror"),
    ("supabase-access-token", f"SUPABASE_ACCESS_TOKEN={_sbp}", _sbp, "supabase_access_token",
     "SUPABASE_ACCESS_TOKEN="),
    ("supabase-secret-key", f"SUPABASE_SECRET_KEY='{_sb_server_key}'", _sb_server_key, "supabase_secret_key",
     "SUPABASE_SECRET_KEY='"),
    ("supabase-publishable-key", f'createClient(url, "{_sb_pub}")', _sb_pub, "supabase_publishable_key",
     "createClient(url, "),
    ("supabase-service-role-jwt", f"SUPABASE_SERVICE_ROLE_KEY={_service_jwt}", _service_jwt, "jwt",
     "SUPABASE_SERVICE_ROLE_KEY="),
    ("supabase-anon-jwt", f"const anon = '{_anon_jwt}';", _anon_jwt, "jwt", "const anon = '"),
    ("jwt-in-header", f"Authorization: Bearer {_rs_jwt}", _rs_jwt, "jwt", "Authorization: Bearer "),
    ("aws-akia", f"aws_access_key_id = {_akia}", _akia, "aws_access_key_id", "aws_access_key_id = "),
    ("aws-asia", f'"AccessKeyId": "{_asia}",', _asia, "aws_access_key_id", '"AccessKeyId": "'),
    ("aws-secret-ini", f"aws_secret_access_key = {_aws_secrets[0]}", _aws_secrets[0], "aws_secret_access_key",
     "aws_secret_access_key = "),
    ("aws-secret-env", f"AWS_SECRET_ACCESS_KEY={_aws_secrets[1]}", _aws_secrets[1], "aws_secret_access_key",
     "AWS_SECRET_ACCESS_KEY="),
    ("aws-secret-sts-json", f'"SecretAccessKey": "{_aws_secrets[2]}"', _aws_secrets[2], "aws_secret_access_key",
     '"SecretAccessKey": "'),
    ("gcp-private-key-id", f'"private_key_id": "{_key_id}",', _key_id, "gcp_private_key_id", '"private_key_id": "'),
    ("gcp-service-account-key", f'"private_key": "{_gcp_key}\\n",', _gcp_line, "private_key", '"private_key": "'),
    ("gcp-api-key", f"GET /maps/api/geocode/json?address=Paris&key={_aiza}", _aiza, "gcp_api_key",
     "address=Paris&key="),
    ("azure-account-key",
     f"DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={_account_key};EndpointSuffix=core.windows.net",
     _account_key, "azure_account_key", ";EndpointSuffix=core.windows.net"),
    ("azure-service-bus-key",
     f"Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey={_shared_key}",
     _shared_key, "azure_account_key", "SharedAccessKeyName=Root;SharedAccessKey="),
    ("azure-sas-connection-string",
     f"BlobEndpoint=https://acme.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=b&sp=rl&sig={_sas_sig}",
     _sas_sig, "azure_sas", "SharedAccessSignature="),
    ("azure-sas-url", f"https://acme.blob.core.windows.net/c/b.txt?sv=2022-11-02&sr=b&sp=r&sig={_url_sig}", _url_sig,
     "azure_sas", "&sp=r&sig="),
    ("slack-bot", f"SLACK_BOT_TOKEN: {_xoxb}", _xoxb, "slack_token", "SLACK_BOT_TOKEN: "),
    ("slack-user", f"client = WebClient('{_xoxp}')", _xoxp, "slack_token", "WebClient('"),
    ("slack-app", f"SLACK_APP_TOKEN={_xapp}", _xapp, "slack_token", "SLACK_APP_TOKEN="),
    ("slack-webhook", f"webhook: https://hooks.slack.com/{_hook}", _hook, "slack_webhook", "https://hooks.slack.com/"),
    ("stripe-secret-live", f'stripe.api_key = "{_stripe["sk_live"]}"', _stripe["sk_live"], "stripe_key",
     "stripe.api_key = "),
    ("stripe-restricted-live", f"STRIPE_RESTRICTED={_stripe['rk_live']}", _stripe["rk_live"], "stripe_key",
     "STRIPE_RESTRICTED="),
    ("stripe-secret-test", f"stripe --api-key {_stripe['sk_test']} listen", _stripe["sk_test"], "stripe_key",
     " listen"),
    ("npm", f"//registry.npmjs.org/:_authToken={_npm}", _npm, "npm_token", "//registry.npmjs.org/:_authToken="),
    ("pypi", f"[pypi]\nusername = __token__\npassword = {_pypi}\n", _pypi, "pypi_token", "username = __token__"),
    ("anthropic", f"ANTHROPIC_API_KEY={_anthropic}", _anthropic, "anthropic_api_key", "ANTHROPIC_API_KEY="),
    ("openai-project", f"OPENAI_API_KEY={_openai_proj}", _openai_proj, "openai_api_key", "OPENAI_API_KEY="),
    ("openai-legacy", f"openai.api_key = '{_openai_legacy}'", _openai_legacy, "openai_api_key",
     "openai.api_key = '"),
    ("rsa-private-key", f"$ cat id_rsa\n{_rsa}\n$ exit", _rsa_line, "private_key", "$ exit"),
    ("ec-private-key", f"tls.key: |\n{_ec}\n", _ec_line, "private_key", "tls.key: |"),
    ("openssh-private-key", f"{_openssh}\nnext line", _openssh_line, "private_key", "next line"),
    ("pgp-private-key", f"key.asc:\n{_pgp}\n", _pgp_lines[3], "private_key", "key.asc:"),
    ("encrypted-private-key", f"{_enc}\n", _enc_line, "private_key", None),
    ("truncated-private-key", f"debug: {_truncated}", _truncated_line, "private_key", "debug: "),
    ("authorization-bearer", f'curl -H "Authorization: Bearer {_bearer}" https://api.example.com', _bearer,
     "authorization", "https://api.example.com"),
    ("authorization-basic", f"authorization: Basic {_basic}", _basic, "authorization", "authorization: Basic "),
    ("bare-bearer", f"retrying with Bearer {_bare_bearer} after 401", _bare_bearer, "authorization", " after 401"),
    ("url-https-credentials", f"remote: https://deploy:{_pw[0]}@git.example.com/acme/app.git", _pw[0],
     "url_credentials", "@git.example.com/acme/app.git"),
    ("url-postgres-credentials", f"DATABASE_URL=postgresql://app:{_pw[1]}@db.internal:5432/app", _pw[1],
     "url_credentials", "postgresql://"),
    ("url-redis-password-only", f"redis://:{_pw[2]}@cache:6379/0", _pw[2], "url_credentials", "@cache:6379/0"),
    ("env-password", f"password={_pw[3]}", _pw[3], "secret_assignment", "password="),
    ("yaml-passwd", f"db:\n  passwd: {_pw[4]}\n  user: app\n", _pw[4], "secret_assignment", "  user: app"),
    ("json-password", f'{{"user": "app", "password": "{_pw[5]}"}}', _pw[5], "secret_assignment", '"password": "'),
    ("quoted-secret", f'secret="{_pw[6]}"', _pw[6], "secret_assignment", 'secret=""'),
    ("query-token", f"GET /export?user=bob&token={_pw[7]}&page=2", _pw[7], "secret_assignment", "&page=2"),
    ("yaml-api-key", f"api_key: {_pw[8]}  # rotate monthly", _pw[8], "secret_assignment", "# rotate monthly"),
    ("cli-password", f"mysql --password {_pw[9]} -h db", _pw[9], "secret_assignment", " -h db"),
    ("cli-token-equals", f"vault login --token={_pw[10]}", _pw[10], "secret_assignment", "--token="),
    ("export-quoted", f"export DB_PASSWORD='{_pw[11]}'", _pw[11], "secret_assignment", "export DB_PASSWORD=''"),
    ("odbc-pwd", f"Server=db;Uid=sa;Pwd={_pw[12]};Encrypt=yes", _pw[12], "secret_assignment", ";Encrypt=yes"),
    ("escaped-json-in-log", f'msg="{{\\"client_secret\\": \\"{_pw[13]}\\"}}"', _pw[13], "secret_assignment",
     '\\"client_secret\\"'),
    ("cli-quoted-with-space", f"deploy --db-password '{_pw[14]} {_pw[15]}' --yes", _pw[14], "secret_assignment",
     " --yes"),
    ("php-arrow", f"$config['password'] => '{_pw[15]}';", _pw[15], "secret_assignment", "$config['password'] => ''"),
]
FAKES = [pytest.param(*row[1:], id=row[0]) for row in _ROWS]


def _look_alikes() -> list[object]:
    sha = rand(40, HEX)
    digest = rand(64, HEX)
    ordinary = base64.b64encode(b"The quick brown fox jumps over the lazy dog, twice over." * 2).decode()
    no_alg = b64url(b'{"typ":"JWT","kid":"1"}') + "." + b64url(b'{"sub":"x"}') + "." + rand(20, B64URL)
    cases = {
        "git-sha": f"commit {sha}\nMerge: {sha[:7]} {rand(7, HEX)}",
        "sha256-digest": f"image: ghcr.io/acme/api@sha256:{digest}",
        "sha256sum-output": f"{digest}  dist/app.tar.gz",
        "uuid": f"request_id={uuid.UUID(int=_rng.getrandbits(128))}",
        "request-id": f"x-request-id: req_{rand(24)}",
        "base64-ordinary": f"data: {ordinary}",
        "empty-value": "password=",
        "empty-quoted-value": '"password": ""',
        "env-placeholder-braces": "DB_PASSWORD=${DB_PASSWORD}",
        "env-placeholder": "password=$DB_PASSWORD",
        "angle-placeholder": "password: <password>",
        "masked": "password=***",
        "already-redacted": "password=[REDACTED:secret_assignment]",
        "already-redacted-token": "Authorization: Bearer [REDACTED:jwt]",
        "already-redacted-url": "postgresql://[REDACTED:url_credentials]@db:5432/app",
        "actions-expression": "token: ${{ secrets.GITHUB_TOKEN }}",
        "jinja": "password: '{{ vault_db_password }}'",
        "prose-token": "Rotate the token every 90 days; a token that leaks must be revoked.",
        "prose-pw": "Passwords are stored hashed; passwordless login is enabled.",
        "prose-bearer": "Use bearer authentication for the admin API.",
        "akia-in-word": "ZAKIA" + rand(16, string.ascii_uppercase),
        "version": "version 1.24.0-rc.1+build.5 (v2.3.4)",
        "max-tokens": "max_tokens=4096 num_tokens: 12 token_count=5",
        "k8s-secret-ref": "secretKeyRef:\n  name: db\n  key: password\nsecretName: tls-cert",
        "python-annotation": "    password: str\n    api_key: str | None = None\n    token: SecretStr",
        "code-getenv": 'password = os.getenv("DB_PASSWORD")',
        "terraform-var": "password = var.db_password",
        "json-null": '{"token": null, "secret": false}',
        "password-stdin": "echo $CR_PAT | docker login ghcr.io --password-stdin -u octocat",
        "pwd-env": "PWD=/home/runner/work/api\nOLDPWD=/home/runner",
        "plain-url": "https://github.com/acme/api/pull/12 http://localhost:8080/health",
        "scp-like-git": "git@github.com:acme/api.git ssh://git@github.com/acme/api",
        "url-user-only": "https://octocat@example.com/ and http://[::1]:8080/",
        "ghp-short": "gh" + "p_" + rand(10),
        "sbp-short": "sb" + "p_" + rand(12, HEX),
        "npm-config": "npm_config_cache=/tmp/npm npm_package_version=1.2.3",
        "pypi-word": "pypi-server --port 8080",
        "sklearn": "pip install scikit-learn; task-" + rand(48),
        "slack-prose": "xoxb- tokens belong to bots",
        "certificate": "-----BEGIN CERTIFICATE-----\n" + rand(64, B64) + "\n-----END CERTIFICATE-----",
        "public-key": "-----BEGIN PUBLIC KEY-----\n" + rand(64, B64) + "\n-----END PUBLIC KEY-----",
        "ssh-public": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + rand(43, B64) + " octocat@laptop",
        "jwt-without-alg": no_alg,
        "dotted-names": "com.example.app org.acme.service.v1.Handler",
        "sig-short": "?sig=abc&page=2",
        "basic-realm": 'WWW-Authenticate: Basic realm="staging"',
        "authorization-placeholder": "Authorization: Bearer $TOKEN and Authorization: Bearer <token>",
        "azure-no-key": "DefaultEndpointsProtocol=https;AccountName=acme;EndpointSuffix=core.windows.net",
        "stripe-prose": "disk_test_results_2024 were fine",
        "aiza-short": "AI" + "za" + rand(10),
        "times": "12:30:45 2024-05-01T12:30:45Z",
        "html-password-field": '<input type="password" name="password" autocomplete="current-password">',
    }
    return [pytest.param(text, id=name) for name, text in cases.items()]


LOOK_ALIKES = _look_alikes()


@pytest.mark.parametrize(("text", "secret", "rule", "kept"), FAKES)
def test_fake_secret_is_redacted(text: str, secret: str, rule: str, kept: str | None) -> None:
    out = redact(text)
    assert secret not in out
    assert f"[REDACTED:{rule}]" in out
    if kept is not None:  # the key, scheme or host around the secret stays readable
        assert kept in out.replace(f"[REDACTED:{rule}]", "")


@pytest.mark.parametrize(("text", "secret", "rule", "kept"), FAKES)
def test_fake_secret_is_found(text: str, secret: str, rule: str, kept: str | None) -> None:
    start = text.index(secret)
    covering = [f.rule for f in find_secrets(text) if f.start <= start and start + len(secret) <= f.end]
    assert covering == [rule]


@pytest.mark.parametrize(("text", "secret", "rule", "kept"), FAKES)
def test_redaction_is_idempotent(text: str, secret: str, rule: str, kept: str | None) -> None:
    once = redact(text)
    assert redact(once) == once


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alike_is_left_intact(text: str) -> None:
    assert redact(text) == text
    assert find_secrets(text) == []


def test_tables_are_large_enough_and_cover_every_rule() -> None:
    assert len(FAKES) >= 40
    assert len(LOOK_ALIKES) >= 40
    assert {row[3] for row in _ROWS} == set(RULES)


def test_findings_are_ordered_and_do_not_overlap() -> None:
    text = f"a={_gh['p']} password={_pw[0]} {_rs_jwt} https://u:{_pw[1]}@h/ {_akia}"
    findings = find_secrets(text)
    assert [f.rule for f in findings] == [
        "github_token", "secret_assignment", "jwt", "url_credentials", "aws_access_key_id",
    ]
    assert all(a.end <= b.start for a, b in itertools.pairwise(findings))


def test_overlapping_findings_merge_under_the_most_specific_rule() -> None:
    text = f"token={_gh['p']}"  # both the assignment and the GitHub rule match the value
    assert find_secrets(text) == [SecretFinding("github_token", 6, len(text))]


def test_finding_is_frozen() -> None:
    finding = SecretFinding("jwt", 0, 1)
    with pytest.raises(FrozenInstanceError):
        finding.rule = "other"  # type: ignore[misc]


def test_redaction_inside_a_json_document_keeps_it_valid() -> None:
    document = json.dumps({
        "type": "service_account",
        "project_id": "acme-prod",
        "private_key_id": _key_id,
        "private_key": _gcp_key.replace("\\n", "\n") + "\n",
        "client_email": "deploy@acme-prod.iam.gserviceaccount.com",
        "nested": {"password": _pw[0], "items": [_gh["p"], "plain"]},
    }, indent=2)
    out = redact(document)
    parsed = json.loads(out)
    assert parsed["private_key_id"] == "[REDACTED:gcp_private_key_id]"
    assert parsed["private_key"] == "[REDACTED:private_key]"
    assert parsed["nested"] == {"password": "[REDACTED:secret_assignment]",
                                "items": ["[REDACTED:github_token]", "plain"]}
    assert parsed["client_email"] == "deploy@acme-prod.iam.gserviceaccount.com"


def test_redaction_inside_yaml() -> None:
    yaml_text = (
        "services:\n"
        "  db:\n"
        "    image: postgres:16@sha256:" + rand(64, HEX) + "\n"
        "    environment:\n"
        f"      POSTGRES_PASSWORD: {_pw[0]}\n"
        "      POSTGRES_USER: app\n"
        f"      DATABASE_URL: \"postgresql://app:{_pw[1]}@db:5432/app\"\n"
        "  api:\n"
        "    environment:\n"
        "      - GITHUB_TOKEN=${GITHUB_TOKEN}\n"
        f"      - SUPABASE_ACCESS_TOKEN={_sbp}\n"
    )
    expected = (
        yaml_text.replace(_pw[0], "[REDACTED:secret_assignment]")
        .replace(f"app:{_pw[1]}", "[REDACTED:url_credentials]")
        .replace(_sbp, "[REDACTED:supabase_access_token]")
    )
    assert redact(yaml_text) == expected


def test_redaction_inside_log_lines() -> None:
    lines = [
        f"2024-05-01T12:00:00Z INFO request_id={uuid.UUID(int=1)} user=octocat status=200",
        f'2024-05-01T12:00:01Z DEBUG headers={{"Authorization": "Bearer {_bearer}", "Accept": "*/*"}}',
        f"2024-05-01T12:00:02Z ERROR connect failed url=postgresql://app:{_pw[2]}@db:5432/app",
        f"2024-05-01T12:00:03Z WARN token={_sb_server_key} is about to expire",
    ]
    out = redact("\n".join(lines)).split("\n")
    assert out[0] == lines[0]
    assert out[1] == '2024-05-01T12:00:01Z DEBUG headers={"Authorization": "Bearer [REDACTED:authorization]", ' \
                     '"Accept": "*/*"}'
    assert out[2] == "2024-05-01T12:00:02Z ERROR connect failed url=postgresql://[REDACTED:url_credentials]@db:5432/app"
    assert out[3] == "2024-05-01T12:00:03Z WARN token=[REDACTED:supabase_secret_key] is about to expire"


def test_redact_value_walks_nested_structures() -> None:
    original = {
        "repo": "acme/api",
        "files": [{"path": ".env", "content": f"SUPABASE_ACCESS_TOKEN={_sbp}\n"}],
        "headers": ("Accept: */*", f"Authorization: Bearer {_bearer}"),
        "request_headers": {"Authorization": "Bearer abc", "Cookie": "session=" + _pw[1], "Accept": "*/*"},
        "password": _pw[0],
        "apiKey": _stripe["sk_live"],
        "PWD": "/home/runner/work",
        "DB_PASSWORD": "${DB_PASSWORD}",
        f"key {_gh['p']}": 3,
        "count": 7,
        "flag": None,
    }
    out = redact_value(original)
    assert out == {
        "repo": "acme/api",
        "files": [{"path": ".env", "content": "SUPABASE_ACCESS_TOKEN=[REDACTED:supabase_access_token]\n"}],
        "headers": ("Accept: */*", "Authorization: Bearer [REDACTED:authorization]"),
        "request_headers": {"Authorization": "[REDACTED:secret_assignment]", "Cookie": "[REDACTED:secret_assignment]",
                            "Accept": "*/*"},
        "password": "[REDACTED:secret_assignment]",
        "apiKey": "[REDACTED:stripe_key]",
        "PWD": "/home/runner/work",
        "DB_PASSWORD": "${DB_PASSWORD}",
        "key [REDACTED:github_token]": 3,
        "count": 7,
        "flag": None,
    }
    assert original["password"] == _pw[0]  # a new structure: the input is untouched
    assert original["files"][0]["content"].startswith("SUPABASE_ACCESS_TOKEN=sb")  # type: ignore[index]


def test_redact_value_keeps_non_string_leaves() -> None:
    marker = object()
    assert redact_value(marker) is marker
    assert redact_value([1, 2.5, True, None]) == [1, 2.5, True, None]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("a" * 10**6, "a" * 10**6, id="long-word"),
        pytest.param("password=" + "x" * 10**6, "password=[REDACTED:secret_assignment]", id="long-password"),
        pytest.param('password="' + "x" * 10**6, 'password="' + "x" * 10**6, id="unterminated-quote"),
        pytest.param("eyJa" * 250_000, "eyJa" * 250_000, id="jwt-prefix-run"),
        pytest.param("-" * 10**6, "-" * 10**6, id="dashes"),
        pytest.param("://a:" * 200_000, "://a:" * 200_000, id="url-fragments"),
        pytest.param("github_pat_" * 90_000, "github_pat_" * 90_000, id="prefix-repeated"),
        pytest.param("sk-" + "a-" * 500_000, "sk-" + "a-" * 500_000, id="token-alphabet-run"),
    ],
)
def test_adversarial_input_completes_correctly(text: str, expected: str) -> None:
    assert redact(text) == expected
