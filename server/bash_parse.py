"""Parse a bash command with tree-sitter-bash and normalise its words the way bash would.

The bash guard (server/bash_guard.py) judges the simple commands this module finds; it never
looks at raw text. Every simple command is found: in pipelines, lists, subshells, groups, loops,
functions, `$()`, backticks, `<()`/`>()` and unquoted heredocs. Each word is unquoted and
unescaped (`r''m`, `\\rm`, `$'\\x72\\x6d'`), constant variables assigned earlier in the same
command are substituted (`x=sudo; $x`), `$HOME`/`~` become `~`, unquoted expansions are split
on blanks (`rm${IFS}-rf${IFS}/`) and braces are expanded (`{rm,-rf,/}`). What cannot be known
(an unset variable, a command's output) stays visible as written and marks the word not literal,
so that the guard can fail closed.

Pure: no subprocess, no network; the parser is built once per process (about 10 µs).
"""

from __future__ import annotations

import itertools
import posixpath
import re
import shlex
from dataclasses import dataclass, field, replace

import tree_sitter_bash
from tree_sitter import Language, Node, Parser

__all__ = ["Redirect", "Script", "SimpleCommand", "Unwrapped", "Word", "echoed", "parse_script", "resolve_path",
           "unwrap"]

MAX_DEPTH = 8  # nested `bash -c`, eval and substitutions deeper than this are not read: fail closed

_PARSER: Parser | None = None


def _parser() -> Parser:
    global _PARSER  # built on first use: importing the guard stays cheap
    if _PARSER is None:
        _PARSER = Parser(Language(tree_sitter_bash.language()))
    return _PARSER


# Private-use characters mark what quoting decided, so that later steps (brace expansion, field
# splitting, globbing) act only where bash would. They never occur in a shell command.
_B_OPEN, _B_COMMA, _B_CLOSE = "\ue000", "\ue001", "\ue002"  # unquoted { , }: brace expansion
_SPLIT = "\ue003"  # a blank from an unquoted expansion: a field separator
_QUOTED_GLOB = {"*": "\ue004", "?": "\ue005", "[": "\ue006"}  # quoted or escaped: literal
_UNQUOTE_GLOB = {v: k for k, v in _QUOTED_GLOB.items()}
_UNKNOWN_BASE = 0xE100  # chr(_UNKNOWN_BASE + i): the i-th part whose value is unknown
_MAX_UNKNOWN = 0x600
# Marks left in a finished word go back to the characters they stand for.
_PLAIN = str.maketrans({_B_OPEN: "{", _B_COMMA: ",", _B_CLOSE: "}", _SPLIT: " ", **_UNQUOTE_GLOB})


@dataclass(frozen=True, slots=True)
class Word:
    """One word after bash's expansions."""

    text: str  # its value; unknown parts appear as written ($x, $(curl …))
    literal: bool = True  # False when any part's value is unknown
    glob: str | None = None  # an fnmatch pattern when unquoted *, ? or [ would make bash expand it
    inner: tuple[SimpleCommand, ...] = ()  # commands run by substitutions inside this word

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Redirect:
    op: str  # >, >>, >|, &>, &>>, <, <>, >&, <&, <<, <<-, <<<
    fd: str | None
    target: Word | None  # the file, for file redirections
    body: str | None = None  # heredoc or here-string text
    body_literal: bool = True  # False when the body holds an unknown expansion
    inner: tuple[SimpleCommand, ...] = ()  # commands run by substitutions in the body

    @property
    def writes(self) -> bool:
        # `>&2` duplicates a descriptor; `>&file` (like `&>file`) writes the file.
        if self.op == ">&" and self.target is not None:
            return not re.fullmatch(r"\d+-?|-", self.target.text)
        return self.target is not None and self.op in {">", ">>", ">|", "&>", "&>>", "<>"}

    @property
    def reads(self) -> bool:
        return self.target is not None and self.op in {"<", "<>"}


@dataclass(slots=True, eq=False)
class SimpleCommand:
    """One simple command with the context the guard needs to judge it."""

    words: list[Word]
    text: str  # as written, for messages
    assignments: list[tuple[str, Word]] = field(default_factory=list)  # VAR=value prefixes
    redirects: list[Redirect] = field(default_factory=list)  # its own and those of enclosing groups
    upstream: tuple[SimpleCommand, ...] = ()  # commands in earlier stages of its pipeline
    downstream: list[SimpleCommand] = field(default_factory=list)  # commands of the next stage
    background: bool = False  # run with `&`
    infinite_loop: bool = False  # inside `while true` (or the like)
    function: str | None = None  # the function whose body holds it
    cwd: str | None = ""  # where it runs: "" the workspace, a path, None unknown
    env: dict[str, str] = field(default_factory=dict)  # constant variables known at this point
    fallback: bool = False  # read by the crude fallback tokenizer of an unparseable command

    @property
    def name(self) -> Word | None:
        return self.words[0] if self.words else None

    @property
    def piped(self) -> bool:
        return bool(self.upstream or self.downstream)


@dataclass(slots=True)
class Script:
    commands: list[SimpleCommand]
    errors: list[str]  # text of what did not parse, or was too deep to read


# --- paths -----------------------------------------------------------------------------------

_FAKE_HOME = "/home/\ue0ff"  # `~` while normalising, so that `~/..` climbs to /home


def resolve_path(path: str, cwd: str | None) -> str | None:
    """`path` made absolute or `~`-based where it can be, `..` and `.` resolved lexically.

    `cwd` is "" for the workspace (relative paths stay relative, `..` at the front means above
    the workspace), a path, or None when unknown (then a relative path resolves to None).
    """
    if path.startswith("~"):
        head, _, rest = path[1:].partition("/")
        base = _FAKE_HOME if head == "" else ("/root" if head == "root" else f"/home/{head}")
        full = base + "/" + rest
    elif path.startswith("/"):
        full = path
    elif cwd is None:
        return None
    elif cwd == "":
        normal = posixpath.normpath(path)
        return "." if normal == "." else normal
    else:
        return resolve_path(cwd.rstrip("/") + "/" + path, None)
    normal = posixpath.normpath("/" + full.lstrip("/"))
    if normal == _FAKE_HOME or normal.startswith(_FAKE_HOME + "/"):
        return "~" + normal[len(_FAKE_HOME) :]
    return normal


# --- words ---------------------------------------------------------------------------------------


class _Unknowns:
    """The parts of a command whose value is unknown, each shown as written."""

    def __init__(self) -> None:
        self.raw: list[str] = []

    def mark(self, raw: str) -> str:
        index = min(len(self.raw), _MAX_UNKNOWN - 1)
        if index == len(self.raw):
            self.raw.append(raw)
        return chr(_UNKNOWN_BASE + index)

    def show(self, encoded: str) -> str:
        def one(ch: str) -> str:
            code = ord(ch) - _UNKNOWN_BASE
            return self.raw[code] if 0 <= code < len(self.raw) else ch

        return "".join(one(ch) if "\ue100" <= ch <= "\ue6ff" else ch for ch in encoded)


_ANSI_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b",
                "f": "\f", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?"}
_ANSI_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{1,2}|u[0-9A-Fa-f]{1,4}|U[0-9A-Fa-f]{1,8}|[0-7]{1,3}|c.|.)", re.S)


def _ansi_c(body: str) -> str:
    """The value of $'…' (bash's ANSI-C quoting)."""

    def one(m: re.Match[str]) -> str:
        esc = m.group(1)
        if esc[0] in "xuU" and len(esc) > 1:
            return chr(int(esc[1:], 16)) if int(esc[1:], 16) < 0x110000 else ""
        if esc[0].isdigit():
            return chr(int(esc, 8) & 0xFF)
        if esc[0] == "c" and len(esc) == 2:
            return chr(ord(esc[1]) & 0x1F)
        return _ANSI_SIMPLE.get(esc, "\\" + esc)

    return _ANSI_ESCAPE.sub(one, body)


def _quote_globs(text: str) -> str:
    return "".join(_QUOTED_GLOB.get(ch, ch) for ch in text)


_BRACE_CHARS = {"{": _B_OPEN, ",": _B_COMMA, "}": _B_CLOSE}


def _unquoted(text: str) -> str:
    """An unquoted word's literal text: escapes removed, brace and glob characters marked."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt != "\n":  # backslash-newline is a line continuation: nothing
                out.append(_QUOTED_GLOB.get(nxt, nxt))
            i += 2
            continue
        out.append(_BRACE_CHARS.get(ch, ch))
        i += 1
    return "".join(out)


_DQ_ESCAPE = re.compile(r'\\(\n|[$`"\\])')


def _split_value(value: str, ifs: str = " \t\n") -> str:
    """An unquoted expansion's value: IFS characters split fields, glob characters stay active."""
    return re.sub(f"[{re.escape(ifs)}]+", _SPLIT, value) if ifs else value


_EXPANSION = re.compile(r"\$\{(?P<len>#?)(?P<name>[A-Za-z_]\w*|[0-9@*#?$!-])(?P<op>:?[-=]|:?\+|)(?P<rest>.*)\}\Z", re.S)


def _brace_expand(text: str) -> list[str]:
    """Bash brace expansion over the marked (unquoted) braces; unmatched marks become plain."""
    start = text.find(_B_OPEN)
    while start != -1:
        depth, commas, end = 0, [], -1
        for i in range(start, len(text)):
            ch = text[i]
            if ch == _B_OPEN:
                depth += 1
            elif ch == _B_CLOSE:
                depth -= 1
                if depth == 0:
                    end = i
                    break
            elif ch == _B_COMMA and depth == 1:
                commas.append(i)
        if end == -1:
            break
        head, body, tail = text[:start], text[start + 1 : end], text[end + 1 :]
        if commas:
            bounds = [start, *commas, end]
            options = [text[a + 1 : b] for a, b in itertools.pairwise(bounds)]
            return [r for option in options for r in _brace_expand(head + option + tail)][:64]
        seq = re.fullmatch(r"(-?\w+)\.\.(-?\w+)", body)
        if seq:
            items = _sequence(seq.group(1), seq.group(2))
            if items is not None:
                return [r for item in items for r in _brace_expand(head + item + tail)][:64]
        start = text.find(_B_OPEN, start + 1)
    return [text.replace(_B_OPEN, "{").replace(_B_COMMA, ",").replace(_B_CLOSE, "}")]


def _sequence(a: str, b: str) -> list[str] | None:
    if re.fullmatch(r"-?\d+", a) and re.fullmatch(r"-?\d+", b):
        lo, hi = int(a), int(b)
        step = 1 if hi >= lo else -1
        return [str(n) for n in range(lo, hi + step, step)][:16]
    if len(a) == len(b) == 1 and a.isalpha() and b.isalpha():
        step = 1 if b >= a else -1
        return [chr(c) for c in range(ord(a), ord(b) + step, step)][:16]
    return None


# --- the walk --------------------------------------------------------------------------------


@dataclass(slots=True)
class _State:
    """What earlier commands of the same sequence decided: constant variables, the directory."""

    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = ""
    # Variables set from a substitution (`x=$(curl …)`): the commands that produced them, so that
    # `eval "$x"` is known to run what curl fetched.
    origins: dict[str, tuple[SimpleCommand, ...]] = field(default_factory=dict)

    def copy(self) -> _State:
        return _State(dict(self.env), self.cwd, dict(self.origins))


@dataclass(slots=True)
class _Ctx:
    state: _State
    depth: int = 0
    upstream: tuple[SimpleCommand, ...] = ()
    redirects: tuple[Redirect, ...] = ()
    background: bool = False
    infinite_loop: bool = False
    function: str | None = None


def _text(node: Node) -> str:
    raw = node.text
    return raw.decode("utf-8", "replace") if raw is not None else ""


_STATEMENT_LISTS = frozenset({"program", "compound_statement", "subshell", "do_group", "else_clause",
                              "elif_clause", "case_item", "list", "if_statement", "ERROR"})
_WORD_NODES = frozenset({"word", "string", "raw_string", "concatenation", "expansion", "simple_expansion",
                         "command_substitution", "process_substitution", "number", "ansi_c_string",
                         "translated_string", "brace_expression", "arithmetic_expansion", "extglob_pattern"})
_HEREDOC_PARTS = frozenset({"heredoc_start", "heredoc_end", "heredoc_body", "file_descriptor"})
_INFINITE_CONDITIONS = frozenset({"true", ":", "/bin/true", "/usr/bin/true", "[ 1 ]", "[[ 1 ]]", "((1))",
                                  "! false", "test 1"})
_ENDLESS_FALSE = frozenset({"false", "/bin/false", "/usr/bin/false", "! true", "! :"})


class _Walker:
    def __init__(self) -> None:
        self.unknowns = _Unknowns()
        self.commands: list[SimpleCommand] = []
        self.borrowed: list[SimpleCommand] = []  # origins of unknown variables expanded in the current word
        self.errors: list[str] = []

    # statements ---------------------------------------------------------------------------

    def statements(self, node: Node, ctx: _Ctx) -> list[SimpleCommand]:
        """Walk the statements under `node` in order; return the simple commands found."""
        found: list[SimpleCommand] = []
        children = node.children
        for i, child in enumerate(children):
            if not child.is_named:
                if child.is_missing:
                    self.errors.append(f"missing {child.type!r}")
                continue
            background = ctx.background or (i + 1 < len(children) and children[i + 1].type == "&")
            found += self.statement(child, replace(ctx, background=background))
        return found

    def statement(self, node: Node, ctx: _Ctx) -> list[SimpleCommand]:
        kind = node.type
        if node.is_error or node.is_missing:
            self.errors.append(_text(node).strip()[:200] or kind)
        if ctx.depth > MAX_DEPTH:
            self.errors.append("nested too deep")
            return []
        handler = _STATEMENT_HANDLERS.get(kind)
        if handler is not None:
            return handler(self, node, ctx)
        if kind in _STATEMENT_LISTS:
            return self.statements(node, ctx)
        if kind == "comment":
            return []
        if kind in _WORD_NODES or kind == "command_name":
            return self.words_only(node, ctx)
        return self.statements(node, ctx)  # anything else: look inside for commands

    def words_only(self, node: Node, ctx: _Ctx) -> list[SimpleCommand]:
        """Commands run by substitutions in `node` (a test, a case subject, an ERROR's pieces)."""
        before = len(self.commands)
        self.encode(node, ctx, quoted=False)
        return self.commands[before:]

    def pipeline(self, node: Node, ctx: _Ctx) -> list[SimpleCommand]:
        found: list[SimpleCommand] = []
        previous: list[SimpleCommand] = []
        upstream: tuple[SimpleCommand, ...] = ctx.upstream
        for child in node.named_children:
            # Each stage runs in its own subshell: variables set there do not leak.
            stage = self.statement(child, replace(ctx, state=ctx.state.copy(), upstream=upstream))
            for command in previous:
                command.downstream.extend(stage)
            upstream = upstream + tuple(stage)
            previous = stage
            found += stage
        return found

    def subshell(self, node: Node, ctx: _Ctx) -> list[SimpleCommand]:
        return self.statements(node, replace(ctx, state=ctx.state.copy()))

    def redirected(self, node: Node, ctx: _Ctx) -> list[SimpleCommand]:
        body: Node | None = None
        redirects: list[Redirect] = []
        trailing: list[Node] = []
        for child in node.named_children:
            if child.type in ("file_redirect", "heredoc_redirect", "herestring_redirect"):
                redirects.append(self.redirect(child, ctx))
                # tree-sitter files the rest of a heredoc's first line under the heredoc:
                # `cat <<EOF | sh` holds a pipeline `| sh`, `sh <<EOF && ls` holds `ls`.
                if child.type == "heredoc_redirect":
                    trailing += [c for c in child.named_children
                                 if c.type not in _HEREDOC_PARTS and c.type not in _WORD_NODES]
            elif body is None:
                body = child
            else:
                trailing.append(child)
        inner = replace(ctx, redirects=ctx.redirects + tuple(redirects))
        if body is not None:
            found = self.statement(body, inner)
        else:  # `> /etc/passwd` alone: the null command with its redirections
            found = [self.emit(node, [Word(":")], [], list(inner.redirects), ctx)]
        for extra in trailing:
            if extra.type == "pipeline" and extra.children and extra.children[0].type in ("|", "|&"):
                found += self.continue_pipeline(extra, found, ctx)
            else:
                found += self.statement(extra, ctx)
        return found

    def continue_pipeline(self, node: Node, first: list[SimpleCommand], ctx: _Ctx) -> list[SimpleCommand]:
        """The stages after `|` that tree-sitter split off a heredoc's command."""
        found: list[SimpleCommand] = []
        previous = first
        upstream = ctx.upstream + tuple(first)
        for child in node.named_children:
            stage = self.statement(child, replace(ctx, state=ctx.state.copy(), upstream=upstream))
            for command in previous:
                command.downstream.extend(stage)
            upstream += tuple(stage)
            previous = stage
            found += stage
        return found

    def redirect(self, node: Node, ctx: _Ctx) -> Redirect:
        fd: str | None = None
        op = ""
        target: Word | None = None
        for child in node.children:
            if child.type == "file_descriptor":
                fd = _text(child)
            elif not child.is_named:
                op = op or _text(child)
            elif child.type == "heredoc_body":
                return self.heredoc(node, child, fd, ctx)
            elif child.type in _HEREDOC_PARTS or child.type not in _WORD_NODES:
                continue
            elif target is None:
                fields = self.fields(child, ctx)
                target = fields[0] if fields else Word(_text(child), literal=False)
        if node.type == "herestring_redirect" and target is not None:
            return Redirect("<<<", fd, None, body=target.text, body_literal=target.literal, inner=target.inner)
        if node.type == "heredoc_redirect":  # a heredoc without body: nothing to read
            return Redirect("<<", fd, None, body="")
        return Redirect(op, fd, target)

    def heredoc(self, node: Node, body: Node, fd: str | None, ctx: _Ctx) -> Redirect:
        start = next((c for c in node.children if c.type == "heredoc_start"), None)
        quoted = start is not None and any(q in _text(start) for q in "'\"\\")
        text = _text(body)
        literal = True
        inner: tuple[SimpleCommand, ...] = ()
        if not quoted:  # an unquoted heredoc expands $x and runs $(…) when read
            before = len(self.commands)
            self.encode(body, ctx, quoted=True)
            inner = tuple(self.commands[before:])
            literal = not inner and "$" not in text and "`" not in text
        return Redirect("<<", fd, None, body=text, body_literal=literal, inner=inner)

    def command(self, node: Node, ctx: _Ctx) -> list[SimpleCommand]:
        assignments: list[tuple[str, Word]] = []
        words: list[Word] = []
        redirects = list(ctx.redirects)
        before = len(self.commands)
        for child in node.named_children:
            kind = child.type
            if kind == "variable_assignment":
                assignments.append(self.assignment(child, ctx))
            elif kind in ("file_redirect", "heredoc_redirect", "herestring_redirect"):
                redirects.append(self.redirect(child, ctx))
            elif kind == "command_name":
                words += self.fields(child.named_children[0] if child.named_children else child, ctx)
            elif kind == "comment":
                continue
            else:
                words += self.fields(child, ctx)
        inner = self.commands[before:]
        if not words:  # `x=1` alone sets shell variables for what follows
            for name, value in assignments:
                self.assign(name, value, ctx)
            return inner
        return [*inner, self.emit(node, words, assignments, redirects, ctx)]

    def emit(self, node: Node, words: list[Word], assignments: list[tuple[str, Word]],
             redirects: list[Redirect], ctx: _Ctx) -> SimpleCommand:
        command = SimpleCommand(
            words=words, text=_text(node), assignments=assignments, redirects=redirects,
            upstream=ctx.upstream, background=ctx.background, infinite_loop=ctx.infinite_loop,
            function=ctx.function, cwd=ctx.state.cwd, env=dict(ctx.state.env),
        )
        self.commands.append(command)
        self.track_cd(command, ctx)
        return command

    def track_cd(self, command: SimpleCommand, ctx: _Ctx) -> None:
        """`cd DIR` changes where the rest of the sequence runs (`cd / && rm -rf *`)."""
        if command.words[0].text not in ("cd", "pushd"):
            return
        args = [w for w in command.words[1:] if not w.text.startswith("-") or w.text == "-"]
        if not args:
            ctx.state.cwd = "~"
        elif args[0].literal and args[0].glob is None and args[0].text != "-":
            ctx.state.cwd = resolve_path(args[0].text, ctx.state.cwd)
        else:
            ctx.state.cwd = None

    def declaration(self, node: Node, ctx: _Ctx) -> list[SimpleCommand]:
        """export/declare/local/readonly/typeset: a command (it may print the environment)."""
        before = len(self.commands)
        words = [Word(_text(node.children[0]))]
        assignments: list[tuple[str, Word]] = []
        for child in node.named_children:
            if child.type == "variable_assignment":
                name, value = self.assignment(child, ctx)
                assignments.append((name, value))
                self.assign(name, value, ctx)
                words.append(Word(f"{name}={value.text}", value.literal))
            else:
                words += self.fields(child, ctx)
        inner = self.commands[before:]
        return [*inner, self.emit(node, words, [], list(ctx.redirects), ctx)]

    def unset(self, node: Node, ctx: _Ctx) -> list[SimpleCommand]:
        for child in node.named_children:
            ctx.state.env.pop(_text(child), None)
        return []

    def assignment_statement(self, node: Node, ctx: _Ctx) -> list[SimpleCommand]:
        before = len(self.commands)
        pairs = [node] if node.type == "variable_assignment" else node.named_children
        for child in pairs:
            self.assign(*self.assignment(child, ctx), ctx)
        return self.commands[before:]

    def assignment(self, node: Node, ctx: _Ctx) -> tuple[str, Word]:
        name_node = node.child_by_field_name("name") or next(iter(node.named_children), None)
        name = _text(name_node) if name_node is not None else ""
        value_node = node.child_by_field_name("value")
        if value_node is None:
            return name, Word("")
        if value_node.type == "array":
            self.encode(value_node, ctx, quoted=False)
            return name, Word(_text(value_node), literal=False)
        return name, self.plain(value_node, ctx)

    def assign(self, name: str, value: Word, ctx: _Ctx) -> None:
        if value.literal and "[" not in name:
            ctx.state.env[name] = value.text
            ctx.state.origins.pop(name, None)
        else:
            ctx.state.env.pop(name.split("[")[0], None)
            ctx.state.origins[name.split("[")[0]] = value.inner

    def function(self, node: Node, ctx: _Ctx) -> list[SimpleCommand]:
        name_node = node.child_by_field_name("name")
        name = _text(name_node) if name_node is not None else ""
        body = node.child_by_field_name("body") or node.named_children[-1]
        # The body is judged as if called: defining `f() { rm -rf ~; }` is as bad as running it.
        return self.statement(body, replace(ctx, state=ctx.state.copy(), function=name))

    def while_loop(self, node: Node, ctx: _Ctx) -> list[SimpleCommand]:
        keyword = _text(node.children[0])
        condition = node.child_by_field_name("condition") or node.named_children[0]
        cond_text = " ".join(_text(condition).split()).rstrip(";").strip()
        endless = cond_text in (_INFINITE_CONDITIONS if keyword == "while" else _ENDLESS_FALSE)
        found: list[SimpleCommand] = []
        for child in node.named_children:
            found += self.statement(child, replace(ctx, infinite_loop=ctx.infinite_loop or endless))
        return found

    def c_for(self, node: Node, ctx: _Ctx) -> list[SimpleCommand]:
        endless = re.match(r"for\s*\(\([^;]*;\s*;", _text(node)) is not None
        return self.statements(node, replace(ctx, infinite_loop=ctx.infinite_loop or endless))

    def for_loop(self, node: Node, ctx: _Ctx) -> list[SimpleCommand]:
        variable = node.child_by_field_name("variable")
        body = node.child_by_field_name("body")
        values: list[Word] = []
        for child in node.children_by_field_name("value"):
            values += self.fields(child, ctx)
        if variable is None or body is None:
            return self.statements(node, ctx)
        name = _text(variable)
        found: list[SimpleCommand] = []
        # A short literal list is walked once per value: `for c in rm; do $c -rf /; done`.
        if values and len(values) <= 4 and all(v.literal for v in values):
            for value in values:
                ctx.state.env[name] = value.text
                found += self.statement(body, ctx)
        else:
            ctx.state.env.pop(name, None)
            found += self.statement(body, ctx)
        return found

    # words ------------------------------------------------------------------------------------

    def fields(self, node: Node, ctx: _Ctx) -> list[Word]:
        """The words bash makes of one argument: expanded braces, split unquoted expansions."""
        before = len(self.commands)
        self.borrowed = []
        encoded = self.encode(node, ctx, quoted=False)
        inner = tuple(self.commands[before:]) + tuple(self.borrowed)
        quoted_empty = encoded == "" and node.type in ("string", "raw_string", "ansi_c_string")
        words: list[Word] = []
        for expanded in _brace_expand(encoded) if _B_OPEN in encoded else [encoded]:
            for piece in expanded.split(_SPLIT):
                if piece or (quoted_empty and not words):
                    words.append(self.make_word(piece, inner))
        return words

    def plain(self, node: Node, ctx: _Ctx) -> Word:
        """An assignment's value: no field splitting, no brace expansion, no globbing."""
        before = len(self.commands)
        self.borrowed = []
        encoded = self.encode(node, ctx, quoted=False)
        encoded = encoded.translate(_PLAIN)
        return self.make_word(encoded, tuple(self.commands[before:]) + tuple(self.borrowed), globbing=False)

    def make_word(self, encoded: str, inner: tuple[SimpleCommand, ...], globbing: bool = True) -> Word:
        literal = not any("\ue100" <= ch <= "\ue6ff" for ch in encoded)
        shown = self.unknowns.show(encoded) if not literal else encoded
        pattern: str | None = None
        if globbing and ("*" in encoded or "?" in encoded or ("[" in encoded and "]" in encoded)):
            pattern = "".join(f"[{_UNQUOTE_GLOB[ch]}]" if ch in _UNQUOTE_GLOB else ch for ch in shown).translate(_PLAIN)
        text = shown.translate(_PLAIN)
        return Word(text, literal, pattern, inner)

    def encode(self, node: Node, ctx: _Ctx, quoted: bool) -> str:
        """`node`'s value with quoting marks (see the private-use characters above)."""
        kind = node.type
        if kind in ("word", "number", "variable_name", "special_variable_name"):
            text = _text(node)
            return _quote_globs(text) if quoted else _unquoted(text)
        if kind == "string_content":  # inside "…" a backslash escapes only $ ` " \ and newline
            return _quote_globs(_DQ_ESCAPE.sub(lambda m: "" if m[1] == "\n" else m[1], _text(node)))
        if kind == "heredoc_content":
            return _quote_globs(_text(node))
        if kind == "raw_string":
            return _quote_globs(_text(node)[1:-1])
        if kind == "ansi_c_string":
            return _quote_globs(_ansi_c(_text(node)[2:-1]))
        if kind in ("string", "translated_string", "heredoc_body"):
            return "".join(self.encode(child, ctx, quoted=True) for child in node.children
                           if child.is_named or _text(child) not in ('"', '$"'))
        if kind == "concatenation":
            return "".join(self.encode(child, ctx, quoted) for child in node.children)
        if kind == "simple_expansion":
            return self.variable(_text(node)[1:], ctx, quoted, _text(node))
        if kind == "expansion":
            return self.expansion(node, ctx, quoted)
        if kind in ("command_substitution", "process_substitution"):
            return self.substitution(node, ctx, quoted)
        if kind == "brace_expression":
            inside = "".join(_text(c) for c in node.named_children[:1]) + ".." + \
                "".join(_text(c) for c in node.named_children[1:2])
            return _B_OPEN + inside + _B_CLOSE
        if not node.is_named:
            text = _text(node)
            return (_quote_globs(text) if quoted else _unquoted(text)) if text not in ('"', "$") else ""
        # arithmetic, arrays, anything else: unknown, but commands inside still run
        for child in node.named_children:
            self.encode(child, ctx, quoted=True)
        return self.unknowns.mark(_text(node))

    def variable(self, name: str, ctx: _Ctx, quoted: bool, raw: str) -> str:
        value = self.lookup(name, ctx)
        if value is None:
            self.borrowed += ctx.state.origins.get(name, ())
            return self.unknowns.mark(raw)
        return _quote_globs(value) if quoted else _split_value(value, self.ifs(ctx))

    def ifs(self, ctx: _Ctx) -> str:
        return ctx.state.env.get("IFS", " \t\n")

    def lookup(self, name: str, ctx: _Ctx) -> str | None:
        if name in ctx.state.env:
            return ctx.state.env[name]
        if name == "HOME":
            return "~"
        if name == "IFS":
            return " \t\n"
        if name == "PWD" and ctx.state.cwd is not None:
            return ctx.state.cwd or "."
        return None

    def expansion(self, node: Node, ctx: _Ctx, quoted: bool) -> str:
        raw = _text(node)
        m = _EXPANSION.match(raw)
        if m is None or m["len"]:
            for child in node.named_children:
                self.encode(child, ctx, quoted=True)
            return self.unknowns.mark(raw)
        value = self.lookup(m["name"], ctx)
        if m["op"] == "" and m["rest"] == "":
            return self.variable(m["name"], ctx, quoted, raw)
        if value is not None and m["op"] in (":-", "-", ":=", "="):
            return _quote_globs(value) if quoted else _split_value(value, self.ifs(ctx))
        for child in node.named_children:
            self.encode(child, ctx, quoted=True)
        return self.unknowns.mark(raw)

    def substitution(self, node: Node, ctx: _Ctx, quoted: bool) -> str:
        inner_ctx = _Ctx(state=ctx.state.copy(), depth=ctx.depth + 1, function=ctx.function)
        found = self.statements(node, inner_ctx)
        if node.type == "command_substitution":
            echoed = _echoed(found, ctx.state.cwd)
            if echoed is not None:  # `$(echo rm)` is just "rm", `$(pwd)` the directory
                return _quote_globs(echoed) if quoted else _split_value(echoed, self.ifs(ctx))
        return self.unknowns.mark(_text(node))


def _echoed(found: list[SimpleCommand], cwd: str | None = None) -> str | None:
    """What a substitution prints when it is one `echo`/`printf` of literal words (or `pwd`)."""
    if len(found) != 1 or found[0].upstream or found[0].redirects:
        return None
    words = found[0].words
    if len(words) == 1 and words[0].text == "pwd" and cwd is not None:
        return cwd or "."
    if not all(w.literal for w in words) or words[0].text not in ("echo", "printf"):
        return None
    args = [w.text for w in words[1:]]
    if words[0].text == "echo":
        flags = [a for a in args if a in ("-n", "-e", "-E")]
        text = " ".join(a for a in args if a not in flags)
        return (_ansi_c(text) if "-e" in flags else text).rstrip("\n")
    return _printf(args)


def _printf(args: list[str]) -> str | None:
    """printf's output for a format using only %s and %b (escapes decoded), else None."""
    if not args:
        return None
    fmt, values = args[0], args[1:]
    if re.search(r"%(?![sb%])", fmt):
        return None
    values_iter = iter(values)
    out = re.sub(r"%[sb%]", lambda m: "%" if m.group() == "%%" else next(values_iter, ""), fmt)
    return _ansi_c(out).rstrip("\n")


_STATEMENT_HANDLERS = {
    "command": _Walker.command,
    "pipeline": _Walker.pipeline,
    "subshell": _Walker.subshell,
    "redirected_statement": _Walker.redirected,
    "declaration_command": _Walker.declaration,
    "unset_command": _Walker.unset,
    "variable_assignment": _Walker.assignment_statement,
    "variable_assignments": _Walker.assignment_statement,
    "function_definition": _Walker.function,
    "while_statement": _Walker.while_loop,
    "c_style_for_statement": _Walker.c_for,
    "for_statement": _Walker.for_loop,
    "test_command": _Walker.words_only,
}


# --- entry points --------------------------------------------------------------------------


def parse_script(source: str, *, depth: int = 0, env: dict[str, str] | None = None,
                 cwd: str | None = "", upstream: tuple[SimpleCommand, ...] = ()) -> Script:
    """Every simple command in `source`, in order; `errors` says what did not parse.

    `depth`, `env`, `cwd` and `upstream` carry context into code run by another command
    (`bash -c CODE`, `eval`, a heredoc fed to a shell).
    """
    if depth > MAX_DEPTH:
        return Script([], ["nested too deep"])
    tree = _parser().parse(source.encode("utf-8", "surrogatepass"))
    walker = _Walker()
    ctx = _Ctx(state=_State(dict(env or {}), cwd), depth=depth, upstream=upstream)
    walker.statements(tree.root_node, ctx)
    if tree.root_node.has_error and not walker.errors:
        walker.errors.append("syntax error")
    if walker.errors:
        walker.commands += _fallback(source)
    return Script(walker.commands, walker.errors)


_SEPARATORS = re.compile(r"[;&|\n()`<>]+|\$\(")


def _fallback(source: str) -> list[SimpleCommand]:
    """A crude reading of an unparseable command: split on operators, then on blanks.

    It only adds what can be seen (the guard never allows an unparseable command anyway), so
    that `{rm,-rf,/}` or `rm -rf / "unterminated` are refused rather than merely asked about.
    """
    commands: list[SimpleCommand] = []
    for segment in _SEPARATORS.split(source):
        try:
            tokens = shlex.split(segment, comments=True)
        except ValueError:
            tokens = segment.split()
        words: list[Word] = []
        for token in tokens:
            marked = "".join(_BRACE_CHARS.get(ch, ch) for ch in token)
            words += [Word(text) for text in _brace_expand(marked) if text]
        if words:
            commands.append(SimpleCommand(words=words, text=segment.strip(), fallback=True))
    return commands


def echoed(command: SimpleCommand) -> str | None:
    """What `command` prints when it is an `echo`/`printf` of literal words."""
    return _echoed([replace(command, upstream=(), redirects=[])])


# --- wrappers ------------------------------------------------------------------------------------
#
# A wrapper runs another command given in its arguments. For each: the options that take a value
# (so that the value is not mistaken for the command), and how many operands come before the
# command (timeout's duration, chroot's directory, flock's lock file).


@dataclass(frozen=True, slots=True)
class _Wrapper:
    value_options: frozenset[str] = frozenset()
    operands: int = 0  # operands before the command
    assignments: bool = False  # accepts NAME=value words before the command (env, sudo)
    code_options: frozenset[str] = frozenset()  # options whose value is shell code (su -c)
    no_command_options: frozenset[str] = frozenset()  # options that mean nothing is run (command -v)


def _opts(text: str) -> frozenset[str]:
    return frozenset(text.split())


_WRAPPERS: dict[str, _Wrapper] = {
    "env": _Wrapper(_opts("-u --unset -C --chdir -P -S --split-string"), assignments=True,
                    code_options=_opts("-S --split-string")),
    "command": _Wrapper(no_command_options=_opts("-v -V")),
    "builtin": _Wrapper(),
    "exec": _Wrapper(_opts("-a")),
    "nice": _Wrapper(_opts("-n --adjustment")),
    "nohup": _Wrapper(),
    "setsid": _Wrapper(),
    "timeout": _Wrapper(_opts("-s --signal -k --kill-after"), operands=1),
    "time": _Wrapper(_opts("-f --format -o --output")),
    "sudo": _Wrapper(_opts("-u --user -g --group -C --close-from -D --chdir -h --host -p --prompt -r --role "
                           "-t --type -U --other-user -T --command-timeout"), assignments=True),
    "doas": _Wrapper(_opts("-u -C")),
    "pkexec": _Wrapper(_opts("--user")),
    "run0": _Wrapper(_opts("-u --user -D --chdir")),
    "su": _Wrapper(_opts("-s --shell -g --group -G --supp-group -w --whitelist-environment"),
                   code_options=_opts("-c --command")),
    "runuser": _Wrapper(_opts("-u --user -s --shell -g --group -G --supp-group"), code_options=_opts("-c --command")),
    "stdbuf": _Wrapper(_opts("-i -o -e --input --output --error")),
    "ionice": _Wrapper(_opts("-c --class -n --classdata -t"), no_command_options=_opts("-p --pid -P --pgid -u --uid")),
    "chroot": _Wrapper(_opts("--userspec --groups"), operands=1),
    "flock": _Wrapper(_opts("-w --timeout -E --conflict-exit-code"), operands=1, code_options=_opts("-c --command")),
    "strace": _Wrapper(_opts("-o -e -p -s -u -a -b -E -I -O -P -S -X -U")),
    "ltrace": _Wrapper(_opts("-o -e -p -s -u -a -n -l -L -A -D -F")),
    "unbuffer": _Wrapper(),
    "chrt": _Wrapper(operands=1),
    "taskset": _Wrapper(operands=1, no_command_options=_opts("-p --pid")),
    "torsocks": _Wrapper(),
    "proxychains": _Wrapper(_opts("-f")),
    "proxychains4": _Wrapper(_opts("-f")),
    "busybox": _Wrapper(),
    "toybox": _Wrapper(),
    "script": _Wrapper(_opts("-E --echo -I -O -B -T -m"), code_options=_opts("-c --command")),
    "systemd-run": _Wrapper(_opts("-p --property -u --unit -M --machine -E --setenv --description --slice -H")),
    "nsenter": _Wrapper(_opts("-t --target -S --setuid -G --setgid")),
    "unshare": _Wrapper(),
    "firejail": _Wrapper(),
    "caffeinate": _Wrapper(_opts("-t -w")),
    "watch": _Wrapper(_opts("-n --interval -d -q -g")),  # joins its arguments into `sh -c` (unless -x)
    "xargs": _Wrapper(_opts("-a --arg-file -d --delimiter -E -e --eof -I --replace -L --max-lines -n --max-args "
                            "-P --max-procs -s --max-chars --process-slot-var")),
    "doppler": _Wrapper(),
    "coproc": _Wrapper(),
}
_OPTIONAL_VALUE = re.compile(r"--?\w[\w-]*=")  # --opt=value: one word


@dataclass(slots=True)
class Unwrapped:
    """What a command line runs: the layers from the outside in, and shell code it hands on."""

    layers: list[list[Word]]
    code: list[Word] = field(default_factory=list)  # strings run as shell code (su -c, watch, env -S)


def _skip_options(args: list[Word], spec: _Wrapper, assignments: list[Word]) -> tuple[int, list[Word], bool]:
    """Index of the wrapped command in `args`, code given by option, and whether nothing runs."""
    code: list[Word] = []
    operands = spec.operands
    i = 0
    while i < len(args):
        text = args[i].text
        if text == "--":
            return i + 1, code, False
        if text.startswith("-") and len(text) > 1 and args[i].literal:
            if text in spec.no_command_options:
                return len(args), code, True
            if text in spec.code_options and i + 1 < len(args):
                code.append(args[i + 1])
                i += 2
                continue
            name = text.split("=", 1)[0]
            if name in spec.code_options and "=" in text:
                code.append(Word(text.split("=", 1)[1], args[i].literal))
            i += 2 if text in spec.value_options else 1
            continue
        if spec.assignments and re.match(r"[A-Za-z_]\w*=", text):
            assignments.append(args[i])
            i += 1
            continue
        if operands:
            operands -= 1
            i += 1
            continue
        return i, code, False
    return i, code, False


_SHELL_SPLIT = re.compile(r"\s+")


def unwrap(command: SimpleCommand, stdin_words: list[Word] | None = None) -> Unwrapped:
    """The command `command` runs through wrappers (env, sudo, timeout, xargs, find -exec, …).

    `stdin_words` are the words xargs reads (an echo upstream), else one unknown word stands in.
    """
    result = Unwrapped([command.words])
    words = command.words
    for _ in range(MAX_DEPTH):
        name = posixpath.basename(words[0].text) if words and words[0].literal else ""
        if name == "find":
            result.layers += _find_commands(words)
            break
        if name == "parallel":
            commands, code = _parallel(words)
            result.layers += commands
            result.code += code
            break
        spec = _WRAPPERS.get(name)
        if spec is None:
            break
        assignments: list[Word] = []
        start, code, nothing = _skip_options(words[1:], spec, assignments)
        result.code += code
        inner = words[1 + start :]
        if nothing or (name in ("su", "runuser", "script", "flock") and code):
            break
        if name == "xargs":
            inner = _xargs_command(words[1:], inner, stdin_words)
        if name == "watch" and not any(w.text in ("-x", "--exec") for w in words[1 : 1 + start]):
            if inner:  # watch hands its arguments to `sh -c` as one string
                result.code.append(Word(" ".join(w.text for w in inner), all(w.literal for w in inner)))
            break
        if name == "coproc" and "{" in [w.text for w in inner[:2]]:  # coproc NAME { cmd; }
            inner = inner[[w.text for w in inner].index("{") + 1 :]
        if name == "busybox" and inner and inner[0].text in ("sh", "ash", "hush"):
            inner = [Word("sh"), *inner[1:]]
        if not inner:
            break
        result.layers.append(inner)
        words = inner
    return result


def _xargs_command(options: list[Word], inner: list[Word], stdin_words: list[Word] | None) -> list[Word]:
    replace_str = None
    for i, w in enumerate(options):
        if w.text in ("-I", "--replace") and i + 1 < len(options):
            replace_str = options[i + 1].text
        elif w.text.startswith("--replace="):
            replace_str = w.text.split("=", 1)[1]
        elif w.text.startswith(("-i", "-I")):
            replace_str = w.text[2:] or "{}"
    read = stdin_words if stdin_words is not None else [Word("<stdin>", literal=False)]
    inner = inner or [Word("echo")]
    if replace_str:
        out: list[Word] = []
        for w in inner:
            if replace_str in w.text:
                out += [Word(w.text.replace(replace_str, r.text), w.literal and r.literal, w.glob) for r in read]
            else:
                out.append(w)
        return out
    return [*inner, *read]


_FIND_EXEC = frozenset({"-exec", "-execdir", "-ok", "-okdir"})
_FIND_FILTERS = frozenset({"-name", "-iname", "-path", "-ipath", "-regex", "-iregex", "-newer", "-mtime", "-mmin",
                           "-size", "-user", "-group", "-perm", "-wholename", "-lname"})


def _find_commands(words: list[Word]) -> list[list[Word]]:
    """`find ROOTS … -exec CMD {} \\;` runs CMD on paths under ROOTS; `-delete` removes them."""
    roots: list[Word] = []
    i = 1
    while i < len(words) and not words[i].text.startswith(("-", "(", "!")):
        roots.append(words[i])
        i += 1
    roots = roots or [Word(".")]
    # `{}` stands for any path under each root: ROOT/* (a glob), so that `find / -exec rm -rf {} +`
    # is judged as `rm -rf /*` and `find . …` as a workspace path.
    found = [Word(f"{r.text.rstrip('/')}/*", r.literal, f"{(r.glob or r.text).rstrip('/')}/*") for r in roots]
    layers: list[list[Word]] = []
    filtered = any(w.text in _FIND_FILTERS for w in words[i:])
    while i < len(words):
        text = words[i].text
        if text in _FIND_EXEC:
            j = i + 1
            inner: list[Word] = []
            while j < len(words) and words[j].text not in (";", "+"):
                inner += found if words[j].text == "{}" else [words[j]]
                j += 1
            if inner:
                layers.append(inner)
            i = j
        elif text == "-delete":
            layers.append([Word("rm"), Word("-f" if filtered else "-rf"), *found])
        i += 1
    return layers


def _parallel(words: list[Word]) -> tuple[list[list[Word]], list[Word]]:
    """GNU parallel: `parallel CMD ::: ARGS` runs CMD once per argument, through a shell."""
    values = _opts("-j --jobs -N -n --max-args -S --sshlogin --joblog --results -I --delay --timeout -P --tmpdir "
                   "--workdir --wd -a --arg-file --colsep -C -d --delimiter")
    i = 1
    while i < len(words) and words[i].text.startswith("-") and words[i].text not in (":::", "::::"):
        i += 2 if words[i].text in values else 1
    command: list[Word] = []
    while i < len(words) and words[i].text not in (":::", "::::", ":::+", "::::+"):
        command.append(words[i])
        i += 1
    args = [w for w in words[i:] if w.text not in (":::", "::::", ":::+", "::::+")]
    if not args:
        args = [Word("<stdin>", literal=False)]
    if not command:
        return [[a] for a in args], []
    if len(command) == 1 and " " in command[0].text:  # one string: shell code, {} replaced
        return [], [Word(command[0].text.replace("{}", a.text), command[0].literal and a.literal) for a in args]
    if any("{}" in w.text for w in command):
        return [[Word(w.text.replace("{}", a.text), w.literal and a.literal) for w in command] for a in args], []
    return [[*command, a] for a in args], []
