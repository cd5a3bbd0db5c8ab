"""Checks HTTP traffic against an OpenAPI 3.0 description, for test doubles.

Generic on purpose: the GitHub double and a Supabase double each load their own spec file.
`OpenAPISpec.match` finds the operation for a method and path; `check_request` and
`check_response` return human-readable violations (an empty list means the traffic is allowed).

OpenAPI 3.0 schemas are not JSON Schema, so each schema is converted once:
- `nullable: true` becomes `anyOf: [<schema>, {"type": "null"}]`;
- siblings of `$ref` are dropped (3.0 ignores them), except `nullable`;
- `$ref`s point into one registered copy of the whole document, so any sub-schema validates alone;
- `oneOf` is read as `anyOf`: vendor specs (GitHub's among them) list alternatives that overlap,
  e.g. a validation error also matches the all-optional rule-violation error, so a strict
  `oneOf` would reject the vendor's own real responses;
- formats `date-time` and `uri` are checked; other formats are annotations.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_URI = "urn:openapi-spec"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Keywords OpenAPI 3.0 adds to schemas that JSON Schema would misread or reject.
_OPENAPI_ONLY = {"nullable", "discriminator", "readOnly", "writeOnly", "xml", "externalDocs", "example"}
_NO_BODY_STATUSES = {204, 304}
# Keywords whose values are data, not schemas: copied untouched.
_DATA_KEYWORDS = {"enum", "default", "const", "required", "examples"}


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # "path", "query", "header" or "cookie"
    required: bool
    schema: dict[str, Any]
    schema_pointer: str  # where its schema lives in the spec, for validation and messages
    multi_segment: bool  # GitHub's `x-multi-segment`: the value may contain slashes


@dataclass(frozen=True)
class Operation:
    """One method + path template of the spec, with its `$ref`s resolved."""

    operation_id: str
    method: str
    template: str
    parameters: tuple[Parameter, ...]
    body_required: bool
    body_pointer: str | None  # JSON schema of an application/json request body
    body_declared: bool
    responses: dict[str, dict[str, Any]]
    response_pointers: dict[str, str]
    pattern: re.Pattern[str] = field(compare=False)
    literal_chars: int = 0  # more literal text = more specific template, tried first


@dataclass(frozen=True)
class RouteMatch:
    operation: Operation
    raw_params: dict[str, str]


@dataclass
class RequestCheck:
    """Result of checking one request: violations plus parameters coerced to their schema types."""

    violations: list[str]
    path_params: dict[str, Any]
    query: dict[str, Any]


def _escape_pointer(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _convert(node: Any) -> Any:
    """Turn an OpenAPI 3.0 schema (recursively) into a JSON Schema 2020-12 schema."""
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        converted: dict[str, Any] = {"$ref": SPEC_URI + ref if ref.startswith("#") else ref}
        return _nullable(converted) if node.get("nullable") else converted
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _OPENAPI_ONLY or key.startswith("x-"):
            continue
        if key == "properties":
            out[key] = {name: _convert(sub) for name, sub in value.items()}
        elif key in _DATA_KEYWORDS:
            out[key] = value
        elif key == "oneOf":
            out["anyOf"] = _convert(value)
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and isinstance(value, bool):
            bound = "minimum" if key == "exclusiveMinimum" else "maximum"
            if value and bound in node:
                out[key] = node[bound]
        else:
            out[key] = _convert(value)
    for key in ("exclusiveMinimum", "exclusiveMaximum"):
        bound = "minimum" if key == "exclusiveMinimum" else "maximum"
        if node.get(key) is True:
            out.pop(bound, None)
    return _nullable(out) if node.get("nullable") else out


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _convert_document(doc: Any) -> Any:
    """Copy the document, converting every schema object found under a `schema`/`schemas` key."""
    if isinstance(doc, list):
        return [_convert_document(item) for item in doc]
    if not isinstance(doc, dict):
        return doc
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if key == "schema":
            out[key] = _convert(value)
        elif key == "schemas" and isinstance(value, dict):
            out[key] = {name: _convert(sub) for name, sub in value.items()}
        else:
            out[key] = _convert_document(value)
    return out


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if "T" not in value.upper():
            return False
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        return parsed.tzinfo is not None

    @checker.checks("uri")
    def _uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parts = urlsplit(value)
        return bool(parts.scheme) and (bool(parts.netloc) or parts.scheme in ("urn", "mailto"))

    return checker


class OpenAPISpec:
    """An OpenAPI 3.0 document ready to route and check traffic.

    `generic_errors` maps statuses that any operation may answer with (authentication, rate
    limits, outages: APIs document these once, not per operation) to the JSON pointer of the
    schema their body must match; `None` means any body.
    """

    def __init__(self, document: Mapping[str, Any], generic_errors: Mapping[int, str | None] | None = None):
        self.document = dict(document)
        self.generic_errors = dict(generic_errors or {})
        self._converted = _convert_document(self.document)
        resource = Resource.from_contents(self._converted, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
        self._format_checker = _format_checker()
        self.operations = self._load_operations()
        self._validators: dict[str, Draft202012Validator] = {}

    @classmethod
    def from_file(cls, path: Path, generic_errors: Mapping[int, str | None] | None = None) -> OpenAPISpec:
        return cls(json.loads(path.read_text(encoding="utf-8")), generic_errors)

    # --- routing -------------------------------------------------------------------------------

    def _resolve(self, node: Any, pointer: str) -> tuple[Any, str]:
        """Follow `$ref`s inside the document; return the target and its JSON pointer."""
        while isinstance(node, dict) and "$ref" in node:
            pointer = node["$ref"]
            node = self.document
            for token in pointer.lstrip("#/").split("/"):
                node = node[token.replace("~1", "/").replace("~0", "~")]
        return node, pointer

    def _load_operations(self) -> list[Operation]:
        operations = []
        for template, item in self.document.get("paths", {}).items():
            item_pointer = f"#/paths/{_escape_pointer(template)}"
            shared = self._parameters(item.get("parameters", []), f"{item_pointer}/parameters")
            for method, op in item.items():
                if method in HTTP_METHODS:
                    pointer = f"{item_pointer}/{method}"
                    operations.append(self._operation(template, method, op, pointer, shared))
        # The most specific template wins: /branches/{branch}/protection before /branches/{branch}.
        operations.sort(key=lambda o: -o.literal_chars)
        return operations

    def _operation(
        self, template: str, method: str, op: dict[str, Any], pointer: str, shared: list[Parameter]
    ) -> Operation:
        own = self._parameters(op.get("parameters", []), f"{pointer}/parameters")
        merged = {(p.name, p.location): p for p in shared}
        merged.update({(p.name, p.location): p for p in own})
        params = tuple(merged.values())
        body, body_at = self._resolve(op.get("requestBody"), f"{pointer}/requestBody")
        body_pointer = None
        if body and "application/json" in body.get("content", {}):
            body_pointer = f"{body_at}/content/application~1json/schema"
        responses, response_pointers = {}, {}
        for status, raw in op.get("responses", {}).items():
            resolved, at = self._resolve(raw, f"{pointer}/responses/{_escape_pointer(status)}")
            responses[status], response_pointers[status] = resolved, at
        return Operation(
            operation_id=op.get("operationId", f"{method.upper()} {template}"),
            method=method.upper(),
            template=template,
            parameters=params,
            body_required=bool(body and body.get("required")),
            body_pointer=body_pointer,
            body_declared=body is not None,
            responses=responses,
            response_pointers=response_pointers,
            pattern=self._template_regex(template, params),
            literal_chars=len(re.sub(r"\{[^}]+\}", "", template)),
        )

    def _parameters(self, raw_list: list[Any], pointer: str) -> list[Parameter]:
        params = []
        for index, raw in enumerate(raw_list):
            param, at = self._resolve(raw, f"{pointer}/{index}")
            params.append(
                Parameter(
                    name=param["name"],
                    location=param["in"],
                    required=bool(param.get("required")),
                    schema=param.get("schema", {}),
                    schema_pointer=f"{at}/schema",
                    multi_segment=bool(param.get("x-multi-segment")),
                )
            )
        return params

    @staticmethod
    def _template_regex(template: str, params: Iterable[Parameter]) -> re.Pattern[str]:
        multi = {p.name for p in params if p.location == "path" and p.multi_segment}
        regex = ""
        for piece in re.split(r"(\{[^}]+\})", template):
            if piece.startswith("{") and piece.endswith("}"):
                name = piece[1:-1]
                regex += f"(?P<{name}>.+)" if name in multi else f"(?P<{name}>[^/]+)"
            else:
                regex += re.escape(piece)
        return re.compile(regex)

    def match(self, method: str, path: str) -> RouteMatch | None:
        for op in self.operations:
            if op.method != method.upper():
                continue
            found = op.pattern.fullmatch(path)
            if found:
                return RouteMatch(op, {k: unquote(v) for k, v in found.groupdict().items()})
        return None

    def operations_with_id(self, operation_id: str) -> list[Operation]:
        return [op for op in self.operations if op.operation_id == operation_id]

    # --- schema validation ---------------------------------------------------------------------

    def _validator(self, pointer: str) -> Draft202012Validator:
        if pointer not in self._validators:
            self._validators[pointer] = Draft202012Validator(
                {"$ref": SPEC_URI + pointer}, registry=self._registry, format_checker=self._format_checker
            )
        return self._validators[pointer]

    def schema_errors(self, pointer: str, instance: Any, limit: int = 5) -> list[str]:
        """Validate `instance` against the schema at `pointer` (e.g. `#/components/schemas/x`)."""
        errors = sorted(self._validator(pointer).iter_errors(instance), key=lambda e: list(e.absolute_path))
        return [_describe(error) for error in errors[:limit]]

    # --- requests ------------------------------------------------------------------------------

    def check_request(
        self, found: RouteMatch, query: Mapping[str, list[str]], body: Any, has_body: bool
    ) -> RequestCheck:
        """Check path and query parameters and the JSON body; `body` is the parsed JSON."""
        op = found.operation
        check = RequestCheck([], {}, {})
        for param in op.parameters:
            if param.location == "path":
                self._check_parameter(param, found.raw_params.get(param.name), check.path_params, check)
            elif param.location == "query":
                values = query.get(param.name)
                self._check_parameter(param, None if not values else values[-1], check.query, check)
        declared = {p.name for p in op.parameters if p.location == "query"}
        for name in sorted(set(query) - declared):
            check.violations.append(f"query parameter {name!r} is not declared")
        check.violations.extend(self._check_body(op, body, has_body))
        return check

    def _check_parameter(self, param: Parameter, raw: str | None, into: dict[str, Any], check: RequestCheck) -> None:
        if raw is None:
            if param.required:
                check.violations.append(f"{param.location} parameter {param.name!r} is required")
            elif "default" in param.schema:
                into[param.name] = param.schema["default"]
            return
        value = _coerce(raw, param.schema.get("type"))
        for problem in self.schema_errors(param.schema_pointer, value):
            check.violations.append(f"{param.location} parameter {param.name!r} {problem}")
        into[param.name] = value

    def _check_body(self, op: Operation, body: Any, has_body: bool) -> list[str]:
        if not op.body_declared:
            return ["a request body was sent but the operation declares none"] if has_body else []
        if not has_body:
            return ["request body is required"] if op.body_required else []
        if op.body_pointer is None:
            return ["the operation does not accept application/json"]
        return [f"request body {p}" for p in self.schema_errors(op.body_pointer, body)]

    # --- responses -----------------------------------------------------------------------------

    def check_response(self, op: Operation, status: int, body: Any, has_body: bool) -> list[str]:
        """Check a status and its parsed JSON body (`has_body` False for an empty body)."""
        key = self._response_key(op, status)
        if key is None:
            if status not in self.generic_errors:
                return [f"status {status} is not declared for {op.operation_id}"]
            pointer = self.generic_errors[status]
            if pointer is None:
                return []
            if not has_body:
                return [f"status {status} needs a JSON error body but none was sent"]
            return [f"body {p}" for p in self.schema_errors(pointer, body)]
        content = op.responses[key].get("content")
        if not content:
            if has_body and status in _NO_BODY_STATUSES:
                return [f"status {status} must not carry a body"]
            return []
        if "application/json" not in content:
            return []
        if not has_body:
            return [f"status {status} declares a JSON body but none was sent"]
        pointer = f"{op.response_pointers[key]}/content/application~1json/schema"
        return [f"body {p}" for p in self.schema_errors(pointer, body)]

    @staticmethod
    def _response_key(op: Operation, status: int) -> str | None:
        for key in (str(status), f"{str(status)[0]}XX", f"{str(status)[0]}xx", "default"):
            if key in op.responses:
                return key
        return None


def _coerce(raw: str, kind: str | None) -> Any:
    """Read a path or query string as its schema type; leave it a string when it does not parse,
    so validation reports the mismatch."""
    parsers: dict[str, Callable[[str], Any]] = {"integer": int, "number": float}
    if kind in parsers:
        try:
            return parsers[kind](raw)
        except ValueError:
            return raw
    if kind == "boolean" and raw in ("true", "false"):
        return raw == "true"
    return raw


def _describe(error: ValidationError) -> str:
    # A nullable schema is an `anyOf` with null; report the reason inside it, not "not valid
    # under any of the given schemas".
    while error.context:
        inner = [e for e in error.context if e.schema != {"type": "null"}]
        if not inner:
            break
        error = max(inner, key=lambda e: len(e.absolute_path))
    where = "/".join(str(part) for part in error.absolute_path) or "(root)"
    message = str(error.message)
    if len(message) > 300:
        message = message[:300] + "…"
    return f"at {where}: {message}"


@cache
def load_spec(path: Path, generic: tuple[tuple[int, str | None], ...] = ()) -> OpenAPISpec:
    """Load a spec once per process: converting and indexing it costs more than a test."""
    return OpenAPISpec.from_file(path, dict(generic))
