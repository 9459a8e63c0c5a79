"""Shell front end: scripts, Makefile recipes, package.json scripts and other embedded shell.

Embedded shell is parsed from a *padded* copy of its host file (every non-shell byte blanked,
newlines kept), so tree-sitter's rows are the host file's lines and evidence stays exact.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator

from tree_sitter import Node

from scanner.launch.base import Analysis, LaunchFound
from scanner.launch.commandline import SCRIPT_FOLDER, Word
from scanner.containment.reader import EnvInfo
from scanner.model import EnvMode, Fact, FactKind, Location
from scanner.parse.trees import SourceFile, descendants, parse

_ENGINES = {"docker", "podman", "nerdctl"}
_SKIP_CHILDREN = {"file_redirect", "heredoc_redirect", "herestring_redirect", "comment"}
# Lines of an unparseable region re-read one by one, at most (bounds hostile input).
_MAX_RECOVERED_LINES = 5000


class _Shifted:
    """A re-read piece of a file: node rows count from `rows`, locations are the file's."""

    def __init__(self, src: SourceFile, rows: int):
        self.src = src
        self.rows = rows
        self.path = src.path

    def node_loc(self, node: Node, label: str = "") -> Location:
        (row, col), (erow, ecol) = node.start_point, node.end_point
        src, r = self.src, self.rows
        return src.loc(row + r + 1, src._col(row + r, col), erow + r + 1, src._col(erow + r, ecol), label)


class ShellText:
    """Word extraction over one parsed shell buffer, with literal variable folding."""

    def __init__(self, src: SourceFile, data: bytes, shared_vars: dict[str, str | None] | None = None):
        self.src = src
        self.data = data
        self.tree = parse("bash", data)
        self.vars: dict[str, str | None] = {}
        self.arrays: dict[str, list[Node]] = {}
        self._script_paths: dict[str, str] | None = None
        if shared_vars is None:
            self._collect_vars()
        else:
            self.vars = shared_vars  # a re-read line of a larger buffer: that buffer's constants

    def text(self, node: Node) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8", errors="replace")

    def _collect_vars(self) -> None:
        for n in descendants(self.tree.root_node):
            if n.type == "variable_assignment":
                name = n.child_by_field_name("name")
                value = n.child_by_field_name("value")
                if name is None:
                    continue
                key = self.text(name)
                if value is not None and value.type == "array":
                    # Arrays are folded in source order, appends included (conditional ones too:
                    # an over-approximation that can only add flags, never hide one).
                    self.arrays.setdefault(key, []).append(value)
                    continue
                literal = self._literal(value) if value is not None else ""
                # Assigned twice, or to something computed: not a constant. One exception: a
                # choice between container engines (ENGINE=podman / ENGINE=docker) reads the same.
                if key in self.vars:
                    prior = self.vars[key]
                    same_kind = prior in _ENGINES and literal in _ENGINES
                    self.vars[key] = prior if same_kind else None
                else:
                    self.vars[key] = literal

    def _literal(self, node: Node) -> str | None:
        if node.type == "word":
            return _unescape(self.text(node))
        if node.type == "raw_string":
            return self.text(node)[1:-1]
        if node.type == "string" and all(c.type == "string_content" for c in node.named_children):
            return self.text(node)[1:-1]
        # The script's own folder (`"$(cd "$(dirname "$0")" && pwd)"`): kept as written, so a path
        # built on it is read from the script's folder (see commandline._from_script_folder).
        text = self.text(node)
        inner = text[1:-1] if node.type == "string" and len(text) >= 2 else text
        if SCRIPT_FOLDER.match(inner):
            return inner
        return None

    def array_words(self, node: Node) -> list[Word] | None:
        """`"${name[@]}"` of a folded array, as the array's own words (with their own lines)."""
        target = node
        if target.type == "string" and len(target.named_children) == 1:
            target = target.named_children[0]
        if target.type != "expansion":
            return None
        sub = next((c for c in target.named_children if c.type == "subscript"), None)
        if sub is None:
            return None
        name = sub.child_by_field_name("name")
        index = sub.child_by_field_name("index")
        key = self.text(name) if name is not None else ""
        if index is None or self.text(index) not in ("@", "*") or key not in self.arrays:
            return None
        arrays = sorted(self.arrays[key], key=lambda n: n.start_byte)
        return [self.word(child) for arr in arrays for child in arr.named_children if child.type != "comment"]

    def word(self, node: Node) -> Word:
        loc = self.src.node_loc(node)
        text, dynamic = self._word_text(node)
        return Word(text, loc, dynamic)

    def _word_text(self, node: Node) -> tuple[str, bool]:
        t = node.type
        if t in ("word", "number"):
            return _unescape(self.text(node)), False
        if t == "raw_string":
            return self.text(node)[1:-1], False
        if t == "ansi_c_string":
            return self.text(node)[2:-1], False
        if t in ("simple_expansion", "expansion"):
            raw = self.text(node)
            name = raw.strip("${}")
            value = self.vars.get(name)
            if value is not None and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                return value, False
            return raw, True
        if t in ("string", "concatenation"):
            if t == "string" and not node.named_children:
                return self.text(node)[1:-1], False
            out, dynamic = [], False
            if t == "string":
                body_start, body_end = node.start_byte + 1, node.end_byte - 1
            else:
                body_start, body_end = node.start_byte, node.end_byte
            pos = body_start
            for child in node.named_children:
                if child.start_byte > pos:
                    out.append(self.data[pos : child.start_byte].decode("utf-8", "replace"))
                if child.type == "string_content":
                    out.append(self.text(child))
                else:
                    piece, dyn = self._word_text(child)
                    out.append(piece)
                    dynamic = dynamic or dyn
                pos = child.end_byte
            if body_end > pos:
                out.append(self.data[pos:body_end].decode("utf-8", "replace"))
            text = "".join(out)
            if t == "concatenation":
                text = text.replace('"', "").replace("'", "")
            return text, dynamic
        return self.text(node), True

    def script_paths(self) -> dict[str, str]:
        """Variables that name a path relative to the running script's own folder, from how
        scripts find themselves: `DIR="$(cd "$(dirname "$0")" && pwd)"` is ".",
        `ROOT="$DIR/.."` is "..", `RUNNER="$DIR/run.sh"` is "run.sh". Only meaningful in a
        script file (where `$0` is that file); a name given two different paths is dropped."""
        if self._script_paths is None:
            assigned: list[tuple[int, str, str]] = []
            for n in descendants(self.tree.root_node):
                if n.type == "variable_assignment":
                    name, value = n.child_by_field_name("name"), n.child_by_field_name("value")
                    if name is not None and value is not None and value.type != "array":
                        assigned.append((n.start_byte, self.text(name), self.text(value)))
            known: dict[str, str] = {}
            dropped: set[str] = set()
            for _start, name, value in sorted(assigned):
                path = None if name in dropped else script_path_expr(value, known)
                if path is None:
                    continue  # a default or an override from elsewhere: the script's own answer stands
                if name in known and known[name] != path:
                    known.pop(name)
                    dropped.add(name)
                    continue
                known[name] = path
            self._script_paths = known
        return self._script_paths

    def script_relative(self, spelled: str) -> str | None:
        """A path spelled from the script's own location (`$DIR/run.sh`, `$(dirname "$0")/run.sh`,
        `"${ROOT}/bin/x"`) as a repository path; None for anything else or outside the repository."""
        if "$" not in spelled and "`" not in spelled:
            return None
        path = script_path_expr(spelled, self.script_paths())
        if path is None or path == _SELF:
            return None
        rel = posixpath.normpath(posixpath.join(posixpath.dirname(self.src.path), path))
        return None if rel == ".." or rel.startswith("../") else rel

    def expand_known(self, text: str) -> str:
        """`text` with its `$NAME`s replaced where the script says what they are: literal
        constants by their value, script-relative paths by `REPO_ROOT` + the repository path."""
        paths = self.script_paths()
        here = posixpath.dirname(self.src.path)

        def sub(m: re.Match[str]) -> str:
            name = m.group(1) or m.group(2)
            if name in paths and paths[name] != _SELF:
                rel = posixpath.normpath(posixpath.join(here, paths[name]))
                if rel != ".." and not rel.startswith("../"):
                    return REPO_ROOT + rel
            value = self.vars.get(name)
            return value if value is not None and "$" not in value else m.group(0)

        return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", sub, text)

    def commands(self) -> Iterator[tuple[Node, list[Word]]]:
        for node, words, _text in self.commands_with_text():
            yield node, words

    def commands_with_text(self) -> Iterator[tuple[Node, list[Word], ShellText]]:
        """Every command with its words, and the buffer its node belongs to: lines that sit in a
        region tree-sitter could not parse are re-read one logical line at a time."""
        seen_rows: set[int] = set()
        for node, words in self._commands():
            seen_rows.add(node.start_point[0])
            yield node, words, self
        if self.tree.root_node.has_error:
            yield from self._recovered(seen_rows)

    def _recovered(self, seen_rows: set[int]) -> Iterator[tuple[Node, list[Word], ShellText]]:
        lines = self.data.split(b"\n")
        rows: list[int] = []
        stack = [self.tree.root_node]
        while stack:
            n = stack.pop()
            if n.type == "ERROR":
                rows.extend(range(n.start_point[0], min(n.end_point[0], len(lines) - 1) + 1))
                continue
            if n.has_error:
                stack.extend(n.children)
        row_set = sorted(set(rows))
        done: set[int] = set()
        for row in row_set[:_MAX_RECOVERED_LINES]:
            if row in done or row in seen_rows or not lines[row].strip():
                continue
            end = row
            while end + 1 < len(lines) and lines[end].rstrip().endswith(b"\\") and end - row < 50:
                end += 1
            done.update(range(row, end + 1))
            piece = b"\n".join(lines[row : end + 1])
            sub = ShellText(_Shifted(self.src, row), piece, self.vars)  # type: ignore[arg-type]
            for node, words in sub._commands():
                if node.start_point[0] + row not in seen_rows:
                    yield node, words, sub

    def confirmations(self, node: Node) -> list[Fact]:
        """`yes | agent`, or a loop that prints forever piped into it: every prompt is answered."""
        cur, child = node.parent, node
        while cur is not None and cur.type in ("redirected_statement",):
            cur, child = cur.parent, cur
        if cur is None or cur.type != "pipeline":
            return []
        out: list[Fact] = []
        for before in cur.named_children:
            if before.start_byte >= child.start_byte:
                break
            what = self._feeder(before)
            if what:
                out.append(Fact(FactKind.BYPASS_FLAG, what, self.src.node_loc(node)))
        return out

    def _feeder(self, node: Node) -> str:
        if node.type == "command":
            name = node.child_by_field_name("name")
            if name is not None and self.text(name) == "yes":
                return "`yes |` answers every approval prompt"
            return ""
        if node.type in ("subshell", "compound_statement", "while_statement"):
            loops = [node] if node.type == "while_statement" else [c for c in node.named_children if c.type == "while_statement"]
            for loop in loops:
                cond = loop.child_by_field_name("condition")
                body = loop.child_by_field_name("body")
                forever = cond is not None and self.text(cond).strip().rstrip(";").strip() in ("true", ":", "[ 1 ]", "((1))")
                prints = body is not None and any(
                    c.type == "command" and c.child_by_field_name("name") is not None
                    and self.text(c.child_by_field_name("name")) in ("echo", "printf")
                    for c in body.named_children)
                if forever and prints:
                    return "an endless stream of confirmations piped in answers every approval prompt"
        return ""

    def _commands(self) -> Iterator[tuple[Node, list[Word]]]:
        stack = [self.tree.root_node]
        while stack:
            n = stack.pop()
            stack.extend(reversed(n.children))
            if n.type != "command":
                continue
            words: list[Word] = []
            for child in n.named_children:
                if child.type in _SKIP_CHILDREN:
                    continue
                if child.type == "variable_assignment":
                    words.append(Word(self.text(child), self.src.node_loc(child), False))
                elif child.type == "command_name":
                    inner = child.named_children[0] if child.named_children else child
                    words.append(self.word(inner))
                else:
                    expanded = self.array_words(child)
                    if expanded is not None:
                        words.extend(expanded)
                    else:
                        words.append(self.word(child))
            if words:
                yield n, words


def shell_launches(src: SourceFile, data: bytes, surface: str, launcher: str, env_detail: str,
                   env_location: Location | None = None) -> Iterator[LaunchFound]:
    text = ShellText(src, data)
    for node, words, owner in text.commands_with_text():
        loc = owner.src.node_loc(node)
        env = EnvInfo(EnvMode.INHERITED, env_location or loc, env_detail)
        yield LaunchFound(surface=surface, launcher=launcher, location=loc, words=tuple(words), env=env,
                          facts=tuple(owner.confirmations(node)))


def analyze_shell_script(analysis: Analysis) -> Iterator[LaunchFound]:
    src = analysis.source
    yield from shell_launches(src, src.data, "shell", "shell command",
                              "a shell command inherits the caller's environment")


def analyze_makefile(analysis: Analysis) -> Iterator[LaunchFound]:
    src = analysis.source
    yield from shell_launches(src, makefile_shell(src.data), "makefile", "Makefile recipe",
                              "a make recipe inherits the caller's environment")


def analyze_package_json(analysis: Analysis) -> Iterator[LaunchFound]:
    src = analysis.source
    try:
        doc = json.loads(src.text)
    except ValueError:
        analysis.notes.append("invalid JSON")
        return
    scripts = doc.get("scripts") if isinstance(doc, dict) else None
    if not isinstance(scripts, dict):
        return
    for name, body in scripts.items():
        if not isinstance(body, str):
            continue
        line = _json_key_line(src, "scripts", name)
        padded = b"\n" * (line - 1) + body.encode("utf-8", "replace")
        yield from shell_launches(src, padded, "package-json", f"npm script `{name}`",
                                  "an npm script inherits the caller's environment")


def embedded_shell(src: SourceFile, script: str, first_line: int, indent: int = 0) -> bytes:
    """Pad `script` so that its first line sits on `first_line` (1-based) of `src`."""
    pad = " " * indent
    body = "\n".join(pad + line if line else line for line in script.split("\n"))
    return b"\n" * (first_line - 1) + body.encode("utf-8", "replace")


def makefile_shell(data: bytes) -> bytes:
    out: list[bytes] = []
    in_recipe = False
    continued = False
    for raw in data.split(b"\n"):
        if raw.startswith(b"\t") or (continued and in_recipe):
            body = raw[1:] if raw.startswith(b"\t") else raw
            stripped = body.lstrip(b"@-+")
            body = b" " * (len(body) - len(stripped) + (1 if raw.startswith(b"\t") else 0)) + stripped
            # make's own $(VAR) and $$ spellings become shell-readable stand-ins of equal width
            body = body.replace(b"$$", b"\\$").replace(b"$(", b"${").replace(b")", b")")
            body = re.sub(rb"\$\{([A-Za-z_][A-Za-z0-9_]*)\)", rb"${\1}", body)
            out.append(body)
            in_recipe = True
            continued = raw.rstrip().endswith(b"\\")
        else:
            in_recipe = bool(raw.strip()) and (in_recipe and raw.startswith(b"#"))
            in_recipe = False if raw.strip() and not raw.startswith(b"#") else in_recipe
            continued = False
            out.append(b"")
    return b"\n".join(out)


# A path already resolved against the repository root (see `ShellText.expand_known`); entry-point
# linking reads it like `$GITHUB_WORKSPACE/`.
REPO_ROOT = "${BLASTWALL_REPO_ROOT}/"
_SELF = "\0self"  # the running script itself, in `script_path_expr`'s answers
# `$0`, `${BASH_SOURCE[0]}` and their spellings: the running script.
_SELF_SPELLED = re.compile(r"^\$(?:0|\{0\}|BASH_SOURCE|\{BASH_SOURCE(?:\[0\])?(?::-\$0)?\})$")
# Output and option noise inside `$(cd ... && pwd)`: `--`, `-P`, `&>/dev/null`, `2>&1`.
_PATH_NOISE = re.compile(r"\s(?:--|-[PLe])(?=\s)|\s*\d?&?>+\s*/dev/null|\s*\d?>&\d")
_CD_PWD = re.compile(r"^(?:\$\(|`)\s*(?:builtin\s+)?cd\s+(.+?)\s*(?:&&|;)\s*pwd(?:\s+-[PL])?\s*(?:\)|`)$", re.S)
_DIRNAME = re.compile(r"^(?:\$\(|`)\s*dirname\s+(.+?)\s*(?:\)|`)$", re.S)
_REALPATH = re.compile(r"^(?:\$\(|`)\s*(?:realpath|g?readlink\s+-[fem]+)\s+(.+?)\s*(?:\)|`)$", re.S)
_STRIP_LAST = re.compile(r"^\$\{(?:0|BASH_SOURCE(?:\[0\])?)%/\*\}$")
_VAR_PATH = re.compile(r"^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))(/[^$`\s]*)?$")


def script_path_expr(spelled: str, known: dict[str, str]) -> str | None:
    """The path a shell expression names, relative to the running script's folder (`_SELF` for
    the script itself), when it is built from the script's own location; None otherwise.
    Understands `$0`, `${BASH_SOURCE[0]}`, `dirname`, `cd … && pwd`, `realpath`/`readlink -f`,
    `${0%/*}` and variables in `known`, joined with literal path tails."""
    text = spelled.strip()
    if "'" in text or len(text) > 300:
        return None
    text = _PATH_NOISE.sub("", text.replace('"', "")).strip()
    if _SELF_SPELLED.match(text):
        return _SELF
    if _STRIP_LAST.match(text):
        return "."
    for pattern, parent in ((_CD_PWD, False), (_DIRNAME, True), (_REALPATH, False)):
        m = pattern.match(text)
        if m:
            inner = script_path_expr(m.group(1), known)
            if inner is None:
                return None
            if parent:
                return "." if inner == _SELF else posixpath.normpath(posixpath.join(inner, ".."))
            return inner
    m = _VAR_PATH.match(text)
    if m:
        base = known.get(m.group(1) or m.group(2))
        tail = (m.group(3) or "").strip("/")
        if base is None or (base == _SELF and tail):
            return None
        return posixpath.normpath(posixpath.join(base, tail)) if tail else base
    # `$(dirname "$0")/../run.sh`: an expression, then a literal tail.
    m = re.match(r"^((?:\$\(|`).*(?:\)|`))(/[^$`\s]*)$", text, re.S)
    if m:
        base = script_path_expr(m.group(1), known)
        if base is None or base == _SELF:
            return None
        return posixpath.normpath(posixpath.join(base, m.group(2).strip("/") or "."))
    return None


def _json_key_line(src: SourceFile, section: str, key: str) -> int:
    needle = json.dumps(key)
    in_section = False
    for number, line in enumerate(src.lines, start=1):
        if json.dumps(section) in line:
            in_section = True
        if in_section and needle + ":" in line.replace('" :', '":'):
            return number
    return 1


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)
