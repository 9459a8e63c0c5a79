"""Rewrite launch sites so the agent starts through the generated sandbox runner.

Only shapes whose rewrite is mechanical and keeps the program's meaning are touched, and every
rewrite edits syntax-tree nodes (libcst for Python, tree-sitter for JavaScript/TypeScript):

- Python `subprocess.run/call/check_call/check_output/Popen` with an argv list, tuple or list
  variable (not `shell=True`, not `executable=`, no `*args`/`**kwargs`): the runner goes in front of
  the argv, the environment becomes an explicit minimal mapping plus the agent's key by name, and
  a timeout is added when there is none. `os` is reached through the name the file already binds
  (`import os as _os` gives `_os.environ`); otherwise `import os` is added at top level, after the
  module docstring, the `from __future__` imports and the leading import block.
- JavaScript/TypeScript `child_process` `spawn/spawnSync/execFile/execFileSync`: the runner
  becomes the program and the original program the first argument; every other argument is kept
  (the callback, the options: `env` set inside an options object literal, or the options spread
  into a new one); a timeout is added when there is none.
- A shell command line (scripts, Makefile recipes, workflow `run:` steps) and `package.json`
  scripts whose command starts with the agent (or a package runner of it): the runner is put in
  front.

Every rewritten file is parsed again before it is written; a file that is a symlink, is reached
through one or resolves outside the scanned folder is never edited. Everything else is reported
back as manual, with the reason.
"""

from __future__ import annotations

import ast
import difflib
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner.model import LaunchSite, ScanResult
from scanner.remediation.write import safe_write, unsafe_reason

_PY_LAUNCHERS = {"subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output", "subprocess.Popen"}
_JS_SLOTS = {
    "child_process.spawn": ("args", "options"),
    "child_process.spawnSync": ("args", "options"),
    "child_process.execFile": ("args", "options", "callback"),
    "child_process.execFileSync": ("args", "options"),
}
_JS_LAUNCHERS = set(_JS_SLOTS)
_SHELL_SURFACES = {"shell", "makefile", "github-workflow"}
MINIMAL_PATH = "/usr/local/bin:/usr/bin:/bin"
PY_TIMEOUT = "1800"
JS_TIMEOUT = "1_800_000"


@dataclass(frozen=True)
class Manual:
    path: str
    line: int
    reason: str


@dataclass
class ApplyPlan:
    edits: dict[str, tuple[str, str]] = field(default_factory=dict)  # path -> (before, after)
    rewritten: list[LaunchSite] = field(default_factory=list)
    manual: list[Manual] = field(default_factory=list)

    def diff(self) -> str:
        out = []
        for path, (before, after) in sorted(self.edits.items()):
            out.extend(difflib.unified_diff(before.splitlines(True), after.splitlines(True), f"a/{path}", f"b/{path}"))
        return "".join(out)


def plan_apply(root: Path, result: ScanResult, runner: str, key_names: dict[str, tuple[str, ...]]) -> ApplyPlan:
    """Work out every rewrite for the sites that need one; nothing is written here."""
    plan = ApplyPlan()
    needs = {f.site_id for f in result.findings if not f.suppressed and f.severity.rank >= 3}
    by_file: dict[str, list[LaunchSite]] = {}
    for site in result.launch_sites:
        if site.site_id in needs:
            by_file.setdefault(site.location.path, []).append(site)
    for path, sites in sorted(by_file.items()):
        if root.is_dir():
            file, unsafe = root / path, unsafe_reason(root, path)
        else:
            file, unsafe = root, ("the file is a symlink; blastwall does not edit through symlinks"
                                  if root.is_symlink() else "")
        if unsafe:
            plan.manual.extend(Manual(path, s.location.line, unsafe) for s in sites)
            continue
        try:
            text = file.read_bytes().decode("utf-8")  # bytes as they are: CRLF files stay CRLF
        except (OSError, UnicodeDecodeError) as exc:
            plan.manual.extend(Manual(path, s.location.line, f"cannot read the file: {exc}") for s in sites)
            continue
        new, done, manual = _rewrite_file(path, text, sites, runner, key_names, result)
        plan.rewritten.extend(done)
        plan.manual.extend(Manual(path, s.location.line, reason) for s, reason in manual)
        if new != text:
            plan.edits[path] = (text, new)
    plan.manual.sort(key=lambda m: (m.path, m.line))
    return plan


def write_plan(root: Path, plan: ApplyPlan) -> list[str]:
    """Write the planned edits, never through a symlink (see `safe_write`); the file's mode is kept."""
    written = []
    for path, (_before, after) in sorted(plan.edits.items()):
        if root.is_dir():
            safe_write(root, path, after, overwrite=True)
        else:
            safe_write(root.parent, root.name, after, overwrite=True)
        written.append(path)
    return written


def _rewrite_file(path: str, text: str, sites: list[LaunchSite], runner: str, key_names: dict[str, tuple[str, ...]],
                  result: ScanResult) -> tuple[str, list[LaunchSite], list[tuple[LaunchSite, str]]]:
    """All the rewrites of one file: the new text, the sites rewritten, and (site, reason) for the rest."""
    done: list[LaunchSite] = []
    manual: list[tuple[LaunchSite, str]] = []
    new = text
    python = [s for s in sites if s.surface == "python" and s.launcher in _PY_LAUNCHERS]
    if python:
        # One pass over one syntax tree, so an import added at the top moves no other site.
        new, outcome = _rewrite_python(new, python, runner, key_names)
        for site in python:
            (manual.append((site, outcome[site.site_id])) if outcome[site.site_id] else done.append(site))
    # Bottom-up, so earlier offsets stay valid.
    rest = [s for s in sites if s not in python]
    for site in sorted(rest, key=lambda s: (s.location.line, s.location.column), reverse=True):
        if site.surface == "compose":
            mine = [f for f in result.findings if f.site_id == site.site_id and not f.suppressed]
            rewritten, reason = _rewrite_compose(new, mine)
        elif site.surface == "kubernetes":
            rewritten, reason = _rewrite_kubernetes(new)
        else:
            rewritten, reason = _rewrite(new, site, runner, key_names.get(site.agent, ()))
        if rewritten is None:
            manual.append((site, reason))
        else:
            new = rewritten
            done.append(site)
    if new != text and not still_parses(path, {s.surface for s in done}, text, new):
        manual.extend((s, "the rewritten file would not parse; change it by hand") for s in done)
        return text, [], manual
    return new, done, manual


def still_parses(path: str, surfaces: set[str], before: str, after: str) -> bool:
    """False when `before` parses as its kind of file and `after` does not."""
    if "python" in surfaces or path.endswith((".py", ".pyi")):
        return _python_parses(before, after)
    if "javascript" in surfaces:
        return _js_parses(_js_dialect(path), after)
    if "shell" in surfaces or path.endswith((".sh", ".bash")):
        from scanner.parsing import parse

        clean = lambda t: not parse("bash", t.encode("utf-8")).root_node.has_error  # noqa: E731
        return clean(after) or not clean(before)
    if path.endswith((".yml", ".yaml")) or surfaces & {"compose", "kubernetes", "github-workflow"}:
        import yaml

        def loads(t: str) -> bool:
            try:
                list(yaml.safe_load_all(t))
            except yaml.YAMLError:
                return False
            return True

        return loads(after) or not loads(before)
    if path.endswith(".json"):
        def json_ok(t: str) -> bool:
            try:
                json.loads(t)
            except ValueError:
                return False
            return True

        return json_ok(after) or not json_ok(before)
    return True


def _offset(text: str, line: int, column: int) -> int:
    lines = text.split("\n")
    return sum(len(l) + 1 for l in lines[: line - 1]) + column - 1


def _rewrite(text: str, site: LaunchSite, runner: str, keys: tuple[str, ...]) -> tuple[str | None, str]:
    if site.surface == "python":
        if site.launcher not in _PY_LAUNCHERS:
            return None, f"{site.launcher} is not a shape blastwall rewrites; route it through {runner} by hand"
        new, outcome = _rewrite_python(text, [site], runner, {site.agent: keys})
        reason = outcome[site.site_id]
        return (None, reason) if reason else (new, "")
    if site.surface == "javascript":
        if site.launcher not in _JS_LAUNCHERS:
            return None, f"{site.launcher} is not a shape blastwall rewrites; route it through {runner} by hand"
        return _rewrite_js(text, site, runner, keys)
    if site.surface in _SHELL_SURFACES:
        return _rewrite_shell(text, site, runner)
    if site.surface == "package-json":
        return _rewrite_package_json(text, site, runner)
    if site.location.path.endswith((".claude/settings.json", ".claude/settings.local.json")):
        return _rewrite_claude_settings(text)
    if site.surface == "semgrep":
        return None, f"launches found by the semgrep pack are not rewritten; route them through {runner} by hand"
    return None, f"{site.surface} launch sites are configuration; apply the generated config for it by hand"


def _rewrite_shell(text: str, site: LaunchSite, runner: str) -> tuple[str | None, str]:
    start = _offset(text, site.location.line, site.location.column)
    head = text[start:].split(None, 1)[0] if text[start:].strip() else ""
    if runner in text[start : start + len(runner) + 4]:
        return None, "already goes through the runner"
    words = site.command.split()
    if not words or words[0] != head.strip("\"'"):
        return None, "the command line starts with a wrapper or variable; put the runner in front of the agent by hand"
    if any(w in ("docker", "podman", "bwrap", "sudo", "firejail", "nsjail") for w in words[:1]):
        return None, "the agent already runs inside a wrapper; fix that wrapper's flags instead"
    if start >= len(text) or text[start].isspace():
        return None, "the flagged spot is not the start of the agent's command line; put the runner in front of the agent by hand"
    return text[:start] + runner + " " + text[start:], ""


def _rewrite_package_json(text: str, site: LaunchSite, runner: str) -> tuple[str | None, str]:
    try:
        doc = json.loads(text)
    except ValueError:
        return None, "package.json does not parse"
    scripts = doc.get("scripts") if isinstance(doc, dict) else None
    name = site.launcher.removeprefix("npm script `").removesuffix("`")
    if not isinstance(scripts, dict) or not isinstance(scripts.get(name), str):
        return None, "script not found"
    body = scripts[name]
    first = site.command.split()[0] if site.command else ""
    if not body.lstrip().startswith(first):
        return None, "the script runs other commands before the agent; put the runner in front of the agent by hand"
    old = json.dumps(body)
    new = json.dumps(f"{runner} {body.lstrip()}")
    if text.count(old) != 1:
        return None, "the script text is not unique in package.json"
    return text.replace(old, new), ""


# --- Python: located with ast, rewritten with libcst ---------------------------------------------
#
# The file is parsed once with this Python's own parser (fast even on large files); the launch
# call is found by its position, its source range is parsed with libcst and rewritten node by node,
# and the new call text replaces exactly that range. A file this Python cannot parse (newer syntax)
# goes through libcst alone (`_rewrite_python_cst`), which is slower on large files.

_AST_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp, ast.SetComp,
               ast.DictComp, ast.GeneratorExp)


def _rewrite_python(text: str, sites: list[LaunchSite], runner: str,
                    key_names: dict[str, tuple[str, ...]]) -> tuple[str, dict[str, str]]:
    """Rewrite `sites` (Python subprocess launches of one file).

    Returns the new text and, per site id, "" when it was rewritten or the reason it was not.
    """
    import libcst as cst

    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        if isinstance(exc, (RecursionError, MemoryError)) or "too many" in str(exc) or _too_deep(text):
            return text, {s.site_id: f"the file nests too deeply to rewrite safely; route the launch through {runner} "
                                     "by hand" for s in sites}
        return _rewrite_python_cst(text, sites, runner, key_names)
    lines = text.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)

    def offset(lineno: int, byte_col: int) -> int:
        line = lines[lineno - 1]
        return starts[lineno - 1] + len(line.encode("utf-8")[:byte_col].decode("utf-8", "replace"))

    imports: list[tuple[str, str]] | None = None
    outcome: dict[str, str] = {}
    edits: list[tuple[int, int, str, str]] = []  # start, end, replacement, site id
    add_import = False
    for site in sites:
        call = _find_ast_call(tree, lines, site)
        if call is None:
            outcome[site.site_id] = "could not find the call again"
            continue
        start = offset(call.lineno, call.col_offset)
        end = offset(call.end_lineno or call.lineno, call.end_col_offset or 0)
        try:
            if _too_deep(text[start:end]):
                raise ValueError("nested too deeply")
            node = cst.parse_expression(text[start:end])
        except Exception:  # noqa: BLE001 - libcst.ParserSyntaxError and kin
            outcome[site.site_id] = f"the call does not parse on its own; route it through {runner} by hand"
            continue
        if not isinstance(node, cst.Call):
            outcome[site.site_id] = "could not find the call again"
            continue
        keys = key_names.get(site.agent, ())
        environ, needs_import = "", False
        if keys:
            if imports is None:
                imports = _ast_os_imports(tree)
            environ, needs_import, reason = _ast_environ_ref(tree, call, imports)
            if not environ:
                outcome[site.site_id] = reason
                continue
        build, reason = _py_call_builder(node, site, runner, keys, environ)
        if build is None:
            outcome[site.site_id] = reason
            continue
        new_call = cst.Module(body=[]).code_for_node(build(node))
        edits.append((start, end, new_call, site.site_id))
        add_import = add_import or needs_import
        outcome[site.site_id] = ""
    if not edits:
        return text, outcome
    edits.sort()
    kept: list[tuple[int, int, str, str]] = []
    for edit in edits:  # one launch inside another's arguments: the outer one is rewritten
        if kept and edit[0] < kept[-1][1]:
            inner = edit if edit[1] <= kept[-1][1] else kept[-1]
            outcome[inner[3]] = "this launch sits inside another launch's arguments; rewrite it by hand"
            kept = [e for e in kept if e is not inner]
            if inner is edit:
                continue
        kept.append(edit)
    changes = [(s, e, r) for s, e, r, _ in kept]
    if add_import:
        at = _ast_import_offset(tree, lines, starts, min(s for s, _, _ in changes))
        newline = "\r\n" if "\r\n" in text else "\n"
        prefix = newline if at == len(text) and text and not text.endswith("\n") else ""
        changes.append((at, at, f"{prefix}import os{newline}"))
    new = text
    for start, end, replacement in sorted(changes, key=lambda c: (c[0], c[1]), reverse=True):
        new = new[:start] + replacement + new[end:]
    try:
        ast.parse(new)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        for site_id, reason in outcome.items():
            if not reason:
                outcome[site_id] = "the rewrite would not parse back; route the launch through the runner by hand"
        return text, outcome
    return new, outcome


def _find_ast_call(tree: ast.Module, lines: list[str], site: LaunchSite) -> ast.Call | None:
    """The call that starts where the scanner found the launch (1-based column in code points)."""
    line = site.location.line
    if not 1 <= line <= len(lines):
        return None
    byte_col = len(lines[line - 1][: site.location.column - 1].encode("utf-8"))
    found = []
    stack: list[ast.AST] = [tree]
    while stack:  # only into nodes whose lines hold the call's first line
        node = stack.pop()
        first, last = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        if first is not None and last is not None and not first <= line <= last:
            continue
        if isinstance(node, ast.Call) and (node.lineno, node.col_offset) == (line, byte_col):
            found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    if not found:
        return None
    return min(found, key=lambda c: (c.end_lineno or 0, c.end_col_offset or 0))  # `f(a)(b)`: the inner


def _ast_import_offset(tree: ast.Module, lines: list[str], starts: list[int], before: int) -> int:
    """Where `import os` goes: after the docstring, `from __future__` imports and leading imports."""
    body = tree.body
    i = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        i = 1
    while i < len(body) and isinstance(body[i], ast.ImportFrom) and body[i].module == "__future__":
        i += 1
    while i < len(body) and isinstance(body[i], (ast.Import, ast.ImportFrom)):
        i += 1
    if i == 0:
        if not body:
            return starts[-1] + len(lines[-1])
        first = body[0]
        lineno = min([first.lineno, *(d.lineno for d in getattr(first, "decorator_list", []))])
        at = starts[lineno - 1]
    else:
        end_line = body[i - 1].end_lineno or body[i - 1].lineno
        at = starts[end_line] if end_line < len(starts) else starts[-1] + len(lines[-1])
    # Never after a rewritten call (`import subprocess; subprocess.run(...)` on one line): the
    # start of that line instead, which the parse check afterwards vets.
    if at > before:
        at = max(s for s in starts if s <= before)
    return at


def _ast_os_imports(tree: ast.Module) -> list[tuple[str, str]]:
    """(name, what it binds) for every import of `os` or `os.environ` in the file, `os` names first."""
    found: list[tuple[str, str]] = []
    statements: list[ast.AST] = list(tree.body)
    nodes = []
    while statements:  # statements only: imports are never inside expressions
        node = statements.pop()
        nodes.append(node)
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            value = getattr(node, name, None)
            if isinstance(value, list):
                statements.extend(v for v in value if isinstance(v, ast.AST))
    for node in sorted(nodes, key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname is None and alias.name.split(".")[0] == "os":
                    found.append(("os", "os"))
                elif alias.asname is not None and alias.name == "os":
                    found.append((alias.asname, "os"))
        elif isinstance(node, ast.ImportFrom) and node.module == "os" and not node.level:
            for alias in node.names:
                if alias.name == "environ":
                    found.append((alias.asname or "environ", "os.environ"))
    found.sort(key=lambda c: (c[1] != "os", c[0] != "os"))
    return list(dict.fromkeys(found))


def _ast_binds(node: ast.AST, name: str) -> str:
    """What the import statement `node` binds `name` to: "os", "os.environ", "?" (something else) or ""."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            bound = alias.asname or alias.name.split(".")[0]
            if bound == name:
                return "os" if (alias.name if alias.asname else alias.name.split(".")[0]) == "os" else "?"
    elif isinstance(node, ast.ImportFrom):
        for alias in node.names:
            if (alias.asname or alias.name) == name:
                return "os.environ" if node.module == "os" and not node.level and alias.name == "environ" else "?"
    return ""


def _ast_environ_ref(tree: ast.Module, call: ast.Call, imports: list[tuple[str, str]]) -> tuple[str, bool, str]:
    """How the call can reach `os.environ`: (expression, whether `import os` must be added, reason)."""
    scopes = _ast_scopes(tree, call)
    here = (call.lineno, call.col_offset)
    for name, want in imports:
        found = _ast_lookup(scopes, name)
        if found and all(isinstance(b, (ast.Import, ast.ImportFrom)) and _ast_binds(b, name) == want
                         and (b.lineno, b.col_offset) < here for b in found):
            return (f"{name}.environ" if want == "os" else name), False, ""
    found = _ast_lookup(scopes, "os")
    if found is not None and all(isinstance(b, (ast.Import, ast.ImportFrom)) and _ast_binds(b, "os") == "os"
                                 for b in found):
        return "os.environ", True, ""
    return "", False, ("the name `os` is bound to something else where the agent is started; "
                       "pass the agent's key in env= by hand")


def _ast_scopes(tree: ast.Module, target: ast.AST) -> list[ast.AST]:
    """The scopes whose names `target` sees, outermost (the module) first."""
    def contains(node: ast.AST) -> bool:
        if node is target:
            return True
        if getattr(node, "end_lineno", None) is None:
            return any(contains(child) for child in ast.iter_child_nodes(node))
        return (node.lineno, node.col_offset) <= (target.lineno, target.col_offset) and \
            (node.end_lineno, node.end_col_offset) >= (target.end_lineno, target.end_col_offset)  # type: ignore[attr-defined]

    scopes: list[ast.AST] = [tree]
    node: ast.AST = tree
    while node is not target:
        child = next((c for c in ast.iter_child_nodes(node) if contains(c)), None)
        if child is None:
            break
        if isinstance(node, _AST_SCOPES):
            inside = child in getattr(node, "body", []) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                               ast.ClassDef)) else \
                child is getattr(node, "body", None) if isinstance(node, ast.Lambda) else True
            if inside:
                scopes.append(node)
        node = child
    return scopes


def _ast_lookup(scopes: list[ast.AST], name: str) -> list[ast.AST] | None:
    """The statements binding `name` as seen from the innermost scope; None when it cannot be told."""
    for index in range(len(scopes) - 1, -1, -1):
        scope = scopes[index]
        if isinstance(scope, ast.ClassDef) and index != len(scopes) - 1:
            continue  # a class body's names are not visible in the functions inside it
        found = _ast_bindings(scope, name)
        if found is None or found:
            return found
    return []


def _ast_bindings(scope: ast.AST, name: str) -> list[ast.AST] | None:
    """What binds `name` directly in `scope` (not in scopes nested in it); None for global/nonlocal."""
    found: list[ast.AST] = []
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        a = scope.args
        for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, *([a.vararg] if a.vararg else []),
                    *([a.kwarg] if a.kwarg else [])]:
            if arg.arg == name:
                found.append(arg)
        roots: list[ast.AST] = list(scope.body) if isinstance(scope.body, list) else [scope.body]
    elif isinstance(scope, (ast.Module, ast.ClassDef)):
        roots = list(scope.body)
    else:  # a comprehension
        roots = list(getattr(scope, "generators", []))
    stack = roots
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Global, ast.Nonlocal)) and name in node.names:
            return None
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if _ast_binds(node, name):
                found.append(node)
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name == name:
                found.append(node)
            stack.extend(node.decorator_list)  # evaluated here; the body is its own scope
            continue
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, (ast.Store, ast.Del)):
            found.append(node)
        elif isinstance(node, ast.ExceptHandler) and node.name == name:
            found.append(node)
        elif getattr(node, "name", None) == name and type(node).__name__ in ("MatchAs", "MatchStar"):
            found.append(node)
        elif getattr(node, "rest", None) == name and type(node).__name__ == "MatchMapping":
            found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


# --- Python: libcst (the call rewrite itself; whole files this Python cannot parse) ---------


def _too_deep(text: str, limit: int = 300) -> bool:
    """Brackets nested deeper than `limit` (counted roughly, strings included): libcst's native parser
    overflows its stack and kills the process somewhere past a thousand, so it never sees such a file."""
    depth = deepest = 0
    for char in text:
        if char in "([{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return True
        elif char in ")]}" and depth:
            depth -= 1
    return False


def _python_parses(before: str, after: str) -> bool:
    """`after` must parse with this Python's own parser when `before` does, else with libcst."""
    import libcst as cst

    try:
        ast.parse(before)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        if _too_deep(after):
            return False
        try:
            cst.parse_module(after)  # newer syntax than this Python knows: libcst's word stands
        except Exception:  # noqa: BLE001 - libcst.ParserSyntaxError, RecursionError on deep nesting
            return False
        return True
    try:
        ast.parse(after)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _rewrite_python_cst(text: str, sites: list[LaunchSite], runner: str,
                        key_names: dict[str, tuple[str, ...]]) -> tuple[str, dict[str, str]]:
    """`_rewrite_python` with libcst alone, for files this Python cannot parse: one pass over the tree.

    Returns the new text and, per site id, "" when it was rewritten or the reason it was not.
    """
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider, ScopeProvider

    if _too_deep(text):
        return text, {s.site_id: f"the file nests too deeply to rewrite safely; route the launch through {runner} by hand"
                      for s in sites}
    try:
        wrapper = MetadataWrapper(cst.parse_module(text))
        positions = wrapper.resolve(PositionProvider)
    except Exception as exc:  # noqa: BLE001 - a syntax error, or nesting too deep for the parser
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return text, {s.site_id: f"the file does not parse ({first[:120]}); route the launch through {runner} by hand"
                      for s in sites}
    calls = [node for node in positions if isinstance(node, cst.Call)]
    scopes: Any = None
    outcome: dict[str, str] = {}
    builders: dict[int, Callable[[cst.Call], cst.Call]] = {}
    add_import = False
    for site in sites:
        call = _find_cst_call(calls, positions, site)
        if call is None:
            outcome[site.site_id] = "could not find the call again"
            continue
        if id(call) in builders:
            outcome[site.site_id] = "another launch on the same call is rewritten already"
            continue
        keys = key_names.get(site.agent, ())
        environ = ""
        needs_import = False
        if keys:
            if scopes is None:
                try:
                    scopes = wrapper.resolve(ScopeProvider)
                except Exception:  # noqa: BLE001
                    scopes = {}
            environ, needs_import, reason = _os_environ_ref(scopes, positions, call)
            if not environ:
                outcome[site.site_id] = reason
                continue
        builder, reason = _py_call_builder(call, site, runner, keys, environ)
        if builder is None:
            outcome[site.site_id] = reason
            continue
        builders[id(call)] = builder
        add_import = add_import or needs_import
        outcome[site.site_id] = ""
    if not builders:
        return text, outcome

    class Swap(cst.CSTTransformer):
        def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
            build = builders.get(id(original_node))
            return build(updated_node) if build is not None else updated_node

    module = wrapper.module.visit(Swap())
    if add_import:
        module = _with_os_import(module)
    new = module.code
    if not _python_parses(text, new):
        for site_id, reason in outcome.items():
            if not reason:
                outcome[site_id] = "the rewrite would not parse back; route the launch through the runner by hand"
        return text, outcome
    return new, outcome


def _find_cst_call(calls: list[Any], positions: Any, site: LaunchSite) -> Any:
    """The call that starts where the scanner found the launch (1-based column in code points)."""
    target = (site.location.line, site.location.column - 1)
    found = []
    for call in calls:
        for node in (call, call.func):
            start = positions[node].start
            if (start.line, start.column) == target:
                found.append(call)
                break
    if not found:
        return None
    # The innermost: `f(a)(b)` starts where `f(a)` does.
    return min(found, key=lambda c: (positions[c].end.line, positions[c].end.column))


def _dotted(node: Any) -> str:
    import libcst as cst

    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def _import_binds(node: Any, name: str) -> str:
    """What `node` (an Import/ImportFrom) binds `name` to: "os", "os.environ" or ""."""
    import libcst as cst

    if isinstance(node, cst.Import):
        for alias in node.names:
            full = _dotted(alias.name)
            if alias.asname is not None:
                bound, target = _dotted(alias.asname.name), full
            else:
                bound = target = full.split(".")[0]
            if bound == name:
                return target if target in ("os",) else "?"
    elif isinstance(node, cst.ImportFrom):
        if node.relative or _dotted(node.module) != "os" or isinstance(node.names, cst.ImportStar):
            return ""
        for alias in node.names:
            bound = _dotted(alias.asname.name) if alias.asname is not None else _dotted(alias.name)
            if bound == name:
                return "os.environ" if _dotted(alias.name) == "environ" else "?"
    return ""


def _os_environ_ref(scopes: Any, positions: Any, call: Any) -> tuple[str, bool, str]:
    """How the call can reach `os.environ`: (expression, whether `import os` must be added, reason)."""
    import libcst as cst

    scope = scopes.get(call) if hasattr(scopes, "get") else None
    if scope is None:
        return "", False, "cannot tell which names are bound where the agent is started; pass the environment by hand"
    here = positions[call].start
    here_key = (here.line, here.column)

    def imported_before(assignment: Any, name: str, want: str) -> bool:
        node = getattr(assignment, "node", None)
        if not isinstance(node, (cst.Import, cst.ImportFrom)) or _import_binds(node, name) != want:
            return False
        start = positions[node].start
        return (start.line, start.column) < here_key

    candidates: list[tuple[str, str]] = []
    for node in positions:
        if isinstance(node, cst.Import):
            for alias in node.names:
                if _dotted(alias.name) == "os" and alias.asname is not None:
                    candidates.append((_dotted(alias.asname.name), "os"))
                elif _dotted(alias.name).split(".")[0] == "os" and alias.asname is None:
                    candidates.append(("os", "os"))
        elif isinstance(node, cst.ImportFrom) and not node.relative and _dotted(node.module) == "os" \
                and not isinstance(node.names, cst.ImportStar):
            for alias in node.names:
                if _dotted(alias.name) == "environ":
                    candidates.append((_dotted(alias.asname.name) if alias.asname else "environ", "os.environ"))
    candidates.sort(key=lambda c: (c[1] != "os", c[0] != "os"))
    for name, want in dict.fromkeys(candidates):
        assignments = scope[name]
        if assignments and all(imported_before(a, name, want) for a in assignments):
            return (f"{name}.environ" if want == "os" else name), False, ""
    assignments = scope["os"]
    if not assignments or all(_import_binds(getattr(a, "node", None), "os") == "os" for a in assignments):
        return "os.environ", True, ""
    return "", False, ("the name `os` is bound to something else where the agent is started; "
                       "pass the agent's key in env= by hand")


def _is_false(node: Any) -> bool:
    import libcst as cst

    return (isinstance(node, cst.Name) and node.value in ("False", "None")) or \
        (isinstance(node, cst.Integer) and node.value == "0")


def _string_value(node: Any) -> str | None:
    import libcst as cst

    if isinstance(node, cst.SimpleString):
        try:
            value = node.evaluated_value
        except Exception:  # noqa: BLE001
            return None
        return value if isinstance(value, str) else None
    return None


def _py_call_builder(call: Any, site: LaunchSite, runner: str, keys: tuple[str, ...],
                     environ: str) -> tuple[Callable[[Any], Any] | None, str]:
    """Check the call's shape; return a function that rewrites it (applied to the updated node)."""
    import libcst as cst

    args = list(call.args)
    if any(a.star for a in args):
        return None, (f"the call passes *args or **kwargs, which may set env, shell or timeout; "
                      f"route it through {runner} by hand")
    keywords = {a.keyword.value: a for a in args if a.keyword is not None}
    positional = [a for a in args if a.keyword is None]
    shell = keywords.get("shell")
    if shell is not None and not _is_false(shell.value):
        if isinstance(shell.value, cst.Name) and shell.value.value == "True":
            return None, "shell=True: split the command into an argv list first"
        return None, "shell= may be true: split the command into an argv list and drop shell= first"
    if "executable" in keywords or len(positional) > 2:
        return None, (f"executable= picks the program, so a runner put in front of the argv would not run; "
                      f"route it through {runner} by hand")
    argv = positional[0] if positional else keywords.get("args")
    if argv is None:
        return None, "the call passes no argv"
    value = argv.value
    if isinstance(value, (cst.List, cst.Tuple)):
        if any(isinstance(e, cst.StarredElement) for e in value.elements[:1]):
            pass
        elif value.elements and _string_value(value.elements[0].value) == runner:
            return None, "already goes through the runner"
    elif isinstance(value, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
        return None, "the command is one string; split it into an argv list first"
    elif not isinstance(value, (cst.Name, cst.Attribute)):
        return None, "the argv is not a list or a list variable"
    argv_index = args.index(argv)
    env_items = [f'"PATH": "{MINIMAL_PATH}"'] + [f'{json.dumps(k)}: {environ}[{json.dumps(k)}]' for k in keys]
    env_value = cst.parse_expression("{" + ", ".join(env_items) + "}")
    timeout = keywords.get("timeout")
    timeout_missing = timeout is None or (isinstance(timeout.value, cst.Name) and timeout.value.value == "None")
    add_timeout = site.launcher != "subprocess.Popen" and timeout_missing
    runner_node = cst.SimpleString(json.dumps(runner))

    def keyword(name: str, value: Any) -> Any:
        return cst.Arg(value=value, keyword=cst.Name(name),
                       equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                             whitespace_after=cst.SimpleWhitespace("")))

    def build(updated: Any) -> Any:
        new_args = []
        for i, arg in enumerate(updated.args):
            name = arg.keyword.value if arg.keyword is not None else None
            if i == argv_index:
                arg = arg.with_changes(value=_prefix_argv(arg.value, runner_node))
            elif name == "env":
                arg = arg.with_changes(value=env_value)
            elif name == "timeout" and add_timeout:
                arg = arg.with_changes(value=cst.Integer(PY_TIMEOUT))
            new_args.append(arg)
        extra = []
        if "env" not in keywords:
            extra.append(keyword("env", env_value))
        if add_timeout and timeout is None:
            extra.append(keyword("timeout", cst.Integer(PY_TIMEOUT)))
        return updated.with_changes(args=_append_args(updated, new_args, extra))

    return build, ""


def _plain_ws(ws: Any) -> Any:
    """Whitespace to reuse between new items: the same line break and indent, without comments."""
    import libcst as cst

    if isinstance(ws, cst.ParenthesizedWhitespace):
        return cst.ParenthesizedWhitespace(first_line=cst.TrailingWhitespace(), empty_lines=[], indent=ws.indent,
                                           last_line=ws.last_line)
    return cst.SimpleWhitespace(" ")


def _append_args(call: Any, args: list[Any], extra: list[Any]) -> list[Any]:
    """`args` + `extra`, laid out like the call's own arguments (one a line stays one a line)."""
    import libcst as cst

    if not extra:
        return args
    if not args:
        return extra
    last = args[-1]
    if len(args) >= 2 and isinstance(args[-2].comma, cst.Comma):
        sep = cst.Comma(whitespace_after=_plain_ws(args[-2].comma.whitespace_after))
    else:
        sep = cst.Comma(whitespace_after=_plain_ws(call.whitespace_before_args))
    out = args[:-1]
    if isinstance(last.comma, cst.Comma):  # a trailing comma: keep it, and what follows it, at the end
        out.append(last.with_changes(comma=sep))
        out.extend(e.with_changes(comma=sep) for e in extra[:-1])
        out.append(extra[-1].with_changes(comma=last.comma))
    else:
        out.append(last.with_changes(comma=sep, whitespace_after_arg=cst.SimpleWhitespace("")))
        out.extend(e.with_changes(comma=sep) for e in extra[:-1])
        out.append(extra[-1].with_changes(whitespace_after_arg=last.whitespace_after_arg))
    return out


def _prefix_argv(value: Any, runner_node: Any) -> Any:
    import libcst as cst

    if isinstance(value, (cst.List, cst.Tuple)):
        elements = list(value.elements)
        if not elements:
            return value.with_changes(elements=[cst.Element(runner_node, comma=cst.Comma())] if isinstance(value, cst.Tuple)
                                      else [cst.Element(runner_node)])
        first = elements[0].comma
        if len(elements) > 1 and isinstance(first, cst.Comma):
            comma = cst.Comma(whitespace_after=_plain_ws(first.whitespace_after))
        else:
            comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        return value.with_changes(elements=[cst.Element(runner_node, comma=comma), *elements])
    return cst.List([cst.Element(runner_node, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                     cst.StarredElement(value)])


def _with_os_import(module: Any) -> Any:
    """`import os` at top level: after the docstring, `from __future__` imports and the leading imports."""
    import libcst as cst

    body = list(module.body)

    def simple(stmt: Any) -> list[Any]:
        return list(stmt.body) if isinstance(stmt, cst.SimpleStatementLine) else []

    def is_docstring(stmt: Any) -> bool:
        small = simple(stmt)
        return len(small) == 1 and isinstance(small[0], cst.Expr) and \
            isinstance(small[0].value, (cst.SimpleString, cst.ConcatenatedString))

    def is_import(stmt: Any, future: bool) -> bool:
        small = simple(stmt)
        if not small or not all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in small):
            return False
        is_future = all(isinstance(s, cst.ImportFrom) and _dotted(s.module) == "__future__" for s in small)
        return is_future if future else True

    i = 1 if body and is_docstring(body[0]) else 0
    while i < len(body) and is_import(body[i], future=True):
        i += 1
    j = i
    while j < len(body) and is_import(body[j], future=False):
        j += 1
    statement = cst.parse_statement("import os\n", config=module.config_for_parsing)
    if j == i and i > 0:
        statement = statement.with_changes(leading_lines=[cst.EmptyLine()])
    body.insert(j, statement)
    return module.with_changes(body=body)


# --- JavaScript / TypeScript: tree-sitter ----------------------------------------------------

_JS_FUNCTIONS = {"arrow_function", "function_expression", "function", "generator_function"}
_JS_WRAPPERS = {"parenthesized_expression", "as_expression", "satisfies_expression", "non_null_expression"}
_JS_SIMPLE = {"identifier", "member_expression", "call_expression", "subscript_expression", "parenthesized_expression",
              "array", "object", "this"}


def _js_dialect(path: str) -> str:
    if path.endswith(".tsx"):
        return "tsx"
    if path.endswith((".ts", ".mts", ".cts")):
        return "typescript"
    return "javascript"


def _js_parses(dialect: str, text: str) -> bool:
    from scanner.parsing import parse

    return not parse(dialect, text.encode("utf-8")).root_node.has_error


def _js_unwrap(node: Any) -> Any:
    while node.type in _JS_WRAPPERS or node.type == "type_assertion":
        named = [c for c in node.named_children if c.type != "comment"]
        if not named:
            break
        node = named[-1] if node.type == "type_assertion" else named[0]
    return node


def _ts_type_kind(annotation: str) -> str:
    t = annotation.strip().lstrip(":").strip()
    if t.endswith("[]") or t.startswith(("Array<", "ReadonlyArray<", "readonly ")):
        return "array"
    if "=>" in t:
        return "function"
    if t.startswith("{") or t.endswith("Options") or "Options<" in t:
        return "object"
    return "unknown"


def _js_literal_kind(node: Any) -> str:
    node = _js_unwrap(node)
    if node.type == "array":
        return "array"
    if node.type == "object":
        return "object"
    if node.type in _JS_FUNCTIONS:
        return "function"
    if node.type in ("null", "undefined"):
        return "nullish"
    if node.type in ("string", "template_string", "number", "true", "false"):
        return "scalar"
    return "unknown"


def _js_declared_kind(root: Any, data: bytes, name: str) -> str:
    """What a variable holds, from its declarations in the file: array, object, function or unknown."""
    text = lambda n: data[n.start_byte : n.end_byte].decode("utf-8", "replace")  # noqa: E731
    kinds: set[str] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.type == "variable_declarator":
            ident = node.child_by_field_name("name")
            if ident is None or ident.type != "identifier" or text(ident) != name:
                continue
            annotation = node.child_by_field_name("type")
            value = node.child_by_field_name("value")
            kind = _ts_type_kind(text(annotation)) if annotation is not None else "unknown"
            if kind == "unknown" and value is not None:
                kind = _js_literal_kind(value)
            kinds.add(kind)
        elif node.type in ("function_declaration", "generator_function_declaration"):
            ident = node.child_by_field_name("name")
            if ident is not None and text(ident) == name:
                kinds.add("function")
        elif node.type in ("required_parameter", "optional_parameter"):
            pattern = node.child_by_field_name("pattern")
            if pattern is not None and pattern.type == "identifier" and text(pattern) == name:
                annotation = node.child_by_field_name("type")
                kinds.add(_ts_type_kind(text(annotation)) if annotation is not None else "unknown")
        elif node.type == "formal_parameters":
            if any(c.type == "identifier" and text(c) == name for c in node.named_children):
                kinds.add("unknown")
    return kinds.pop() if len(kinds) == 1 else "unknown"


def _js_kind(root: Any, data: bytes, node: Any) -> str:
    inner = _js_unwrap(node)
    if inner.type == "identifier":
        if data[inner.start_byte : inner.end_byte] == b"undefined":
            return "nullish"
        return _js_declared_kind(root, data, data[inner.start_byte : inner.end_byte].decode("utf-8", "replace"))
    return _js_literal_kind(inner)


_JS_FITS = {"array": {"args"}, "object": {"options"}, "function": {"callback"}, "nullish": {"args", "options"},
            "scalar": set(), "unknown": {"args", "options", "callback"}}


def _js_prop_key(data: bytes, prop: Any) -> str:
    text = lambda n: data[n.start_byte : n.end_byte].decode("utf-8", "replace")  # noqa: E731
    if prop.type == "spread_element":
        return "..."
    if prop.type == "shorthand_property_identifier":
        return text(prop)
    if prop.type in ("pair", "method_definition"):
        key = prop.child_by_field_name("key") or prop.child_by_field_name("name")
        if key is None:
            return "?"
        if key.type == "string":
            return text(key)[1:-1]
        if key.type in ("property_identifier", "number"):
            return text(key)
    return "?"


def _find_ts_call(tree: Any, text: str, site: LaunchSite) -> Any:
    lines = text.split("\n")
    if not 1 <= site.location.line <= len(lines):
        return None
    start = sum(len(l.encode("utf-8")) + 1 for l in lines[: site.location.line - 1])
    start += len(lines[site.location.line - 1][: site.location.column - 1].encode("utf-8"))
    node = tree.root_node.descendant_for_byte_range(start, start)
    while node is not None and node.start_byte == start:
        if node.type == "call_expression":
            return node
        node = node.parent
    return None


def _rewrite_js(text: str, site: LaunchSite, runner: str, keys: tuple[str, ...]) -> tuple[str | None, str]:
    """child_process launch -> runner(program, [original program, ...args], {...options, env, timeout}, callback)."""
    from scanner.parsing import parse

    data = text.encode("utf-8")
    dialect = _js_dialect(site.location.path)
    tree = parse(dialect, data)
    if tree.root_node.has_error:
        return None, f"the file does not parse cleanly; route the launch through {runner} by hand"
    call = _find_ts_call(tree, text, site)
    if call is None:
        return None, "could not find the call again"
    arguments = call.child_by_field_name("arguments")
    if arguments is None or arguments.type != "arguments":
        return None, "the call has no argument list"
    src = lambda n: data[n.start_byte : n.end_byte].decode("utf-8")  # noqa: E731
    items = [c for c in arguments.named_children if c.type != "comment"]
    if not items:
        return None, "no program argument"
    if any(c.type == "spread_element" for c in items):
        return None, f"the call spreads its arguments; route it through {runner} by hand"
    program, extra = items[0], items[1:]
    inner = _js_unwrap(program)
    if inner.type == "string" and src(inner)[1:-1] == runner:
        return None, "already goes through the runner"
    slots = _JS_SLOTS[site.launcher]
    kinds = [_js_kind(tree.root_node, data, n) for n in extra]
    fits = [combo for combo in itertools.combinations(range(len(slots)), len(extra))
            if all(slots[s] in _JS_FITS[kinds[i]] for i, s in enumerate(combo))]
    shape = f"{site.launcher.split('.')[-1]}(file, args, options{', callback' if 'callback' in slots else ''})"
    if not fits:
        return None, f"the arguments do not match {shape}; route the launch through {runner} by hand"
    if len(fits) > 1 and len({tuple(s for i, s in enumerate(combo) if kinds[i] != "nullish") for combo in fits}) == 1:
        fits = fits[:1]  # only where a null/undefined sits is open, and either reading means "none"
    if len(fits) > 1:
        unsure = next((src(n) for want in ("unknown", "nullish") for n, k in zip(extra, kinds) if k == want),
                      "an argument")
        return None, (f"cannot tell whether `{unsure[:60]}` is the argument list, the options or the callback; "
                      f"route the launch through {runner} by hand")
    role = {slots[s]: extra[i] for i, s in enumerate(fits[0])}
    args_node, options_node = role.get("args"), role.get("options")
    if args_node is not None and _js_kind(tree.root_node, data, args_node) == "nullish":
        args_null = True
    else:
        args_null = False
    if options_node is not None and _js_kind(tree.root_node, data, options_node) == "nullish":
        options_node, options_null = None, role["options"]
    else:
        options_null = None

    runner_text = json.dumps(runner)
    program_text = src(program)
    env_items = [f'PATH: "{MINIMAL_PATH}"'] + [
        f"{k}: process.env.{k}" if re.fullmatch(r"[A-Za-z_$][\w$]*", k) else f"{json.dumps(k)}: process.env[{json.dumps(k)}]"
        for k in keys]
    env_text = "{ " + ", ".join(env_items) + " }"
    fresh_options = "{ env: " + env_text + ", timeout: " + JS_TIMEOUT + " }"
    wrap = lambda n: src(n) if n.type in _JS_SIMPLE else f"({src(n)})"  # noqa: E731
    edits: list[tuple[int, int, str]] = []

    # The program and its arguments.
    if args_node is None:
        tail = "" if options_node is not None or options_null is not None else ", " + fresh_options
        edits.append((program.start_byte, program.end_byte, f"{runner_text}, [{program_text}]{tail}"))
    else:
        edits.append((program.start_byte, program.end_byte, runner_text))
        array = _js_unwrap(args_node)
        if args_null:
            edits.append((args_node.start_byte, args_node.end_byte, f"[{program_text}]"))
        elif array.type == "array" and array is args_node:
            elements = [c for c in array.named_children if c.type != "comment"]
            if elements:
                edits.append((elements[0].start_byte, elements[0].start_byte, f"{program_text}, "))
            else:
                edits.append((array.start_byte, array.end_byte, f"[{program_text}]"))
        else:
            edits.append((args_node.start_byte, args_node.end_byte, f"[{program_text}, ...{wrap(args_node)}]"))
        if options_node is None and options_null is None:
            edits.append((args_node.end_byte, args_node.end_byte, ", " + fresh_options))

    # The options.
    if options_null is not None:
        edits.append((options_null.start_byte, options_null.end_byte, fresh_options))
    elif options_node is not None:
        obj = _js_unwrap(options_node)
        if obj.type == "object" and obj is options_node:
            more, reason = _merge_js_options(data, obj, env_text)
            if more is None:
                return None, reason
            edits.extend(more)
        else:
            edits.append((options_node.start_byte, options_node.end_byte,
                          "{ timeout: " + JS_TIMEOUT + ", ..." + wrap(options_node) + ", env: " + env_text + " }"))

    out = data
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        out = out[:start] + replacement.encode("utf-8") + out[end:]
    new = out.decode("utf-8")
    if not _js_parses(dialect, new):
        return None, f"the rewrite would not parse back; route the launch through {runner} by hand"
    return new, ""


def _merge_js_options(data: bytes, obj: Any, env_text: str) -> tuple[list[tuple[int, int, str]] | None, str]:
    """Edits that set `env` (and a timeout when there is none) inside an options object literal."""
    src = lambda n: data[n.start_byte : n.end_byte].decode("utf-8")  # noqa: E731
    props = [c for c in obj.named_children if c.type != "comment"]
    keyed = [(_js_prop_key(data, p), p) for p in props]
    for key, prop in keyed:
        if key == "shell":
            value = prop.child_by_field_name("value") if prop.type == "pair" else None
            if value is None or src(value) not in ("false", "undefined", "null"):
                return None, "the options set `shell`; split the command into an argv array first"
    edits: list[tuple[int, int, str]] = []
    added: list[str] = []
    envs = [i for i, (key, _) in enumerate(keyed) if key == "env"]
    if envs:
        index = envs[-1]
        prop = props[index]
        if any(key == "..." for key, _ in keyed[index + 1 :]):
            return None, "an object spread after `env` in the options may replace it; set env by hand"
        value = prop.child_by_field_name("value") if prop.type == "pair" else None
        if value is not None:
            edits.append((value.start_byte, value.end_byte, env_text))
        elif prop.type == "shorthand_property_identifier":
            edits.append((prop.start_byte, prop.end_byte, f"env: {env_text}"))
        else:
            return None, "the options define `env` in a way blastwall does not rewrite; set env by hand"
    else:
        added.append(f"env: {env_text}")
    timeouts = [p for key, p in keyed if key == "timeout"]
    if not timeouts:
        added.append(f"timeout: {JS_TIMEOUT}")
    else:
        value = timeouts[-1].child_by_field_name("value") if timeouts[-1].type == "pair" else None
        if value is not None and src(value) in ("undefined", "null", "0"):
            edits.append((value.start_byte, value.end_byte, JS_TIMEOUT))
    if added:
        edits.append(_js_append_props(data, obj, props, added))
    return edits, ""


def _js_append_props(data: bytes, obj: Any, props: list[Any], added: list[str]) -> tuple[int, int, str]:
    """An insertion of `added` properties at the end of an object literal, in its own layout."""
    if not props:
        return obj.start_byte, obj.end_byte, "{ " + ", ".join(added) + " }"
    last = props[-1]
    comma = next((c for c in obj.children if c.type == "," and c.start_byte >= last.end_byte), None)
    multiline = b"\n" in data[obj.start_byte : obj.end_byte]
    if multiline:
        line_start = data.rfind(b"\n", 0, last.start_byte) + 1
        prefix = data[line_start : last.start_byte]
        indent = prefix.decode("utf-8", "replace") if not prefix.strip() else "  "
        sep = ",\n" + indent
        if comma is not None:
            return comma.end_byte, comma.end_byte, "\n" + indent + sep.join(added) + ","
        return last.end_byte, last.end_byte, sep + sep.join(added)
    if comma is not None:
        return comma.end_byte, comma.end_byte, " " + ", ".join(added) + ","
    return last.end_byte, last.end_byte, ", " + ", ".join(added)


_BYPASS_MODES = {"bypassPermissions", "dontAsk", "auto", "acceptEdits"}


def _rewrite_claude_settings(text: str) -> tuple[str | None, str]:
    """Approvals back on, Bash no longer blanket-allowed, the sandbox on and required."""
    try:
        doc = json.loads(text)
    except ValueError:
        return None, "settings file does not parse as plain JSON"
    if not isinstance(doc, dict):
        return None, "settings file is not a JSON object"
    perms = doc.setdefault("permissions", {})
    if not isinstance(perms, dict):
        return None, "`permissions` is not an object"
    if perms.get("defaultMode") in _BYPASS_MODES:
        perms["defaultMode"] = "default"
    if isinstance(perms.get("allow"), list):
        perms["allow"] = [r for r in perms["allow"] if r not in ("Bash", "Bash(*)", "Bash(**)")]
    perms["disableBypassPermissionsMode"] = "disable"
    if doc.get("enableAllProjectMcpServers") is True:
        doc["enableAllProjectMcpServers"] = False
    sandbox = doc.setdefault("sandbox", {})
    if not isinstance(sandbox, dict):
        return None, "`sandbox` is not an object"
    sandbox.update({"enabled": True, "allowUnsandboxedCommands": False, "failIfUnavailable": True})
    new = json.dumps(doc, indent=2) + "\n"
    if new == text:
        return None, "already hardened"
    return new, ""


def fix_snippets(root: Path, result: ScanResult, runner: str = "./sandbox/agent-bwrap.sh") -> dict[str, tuple[str, str]]:
    """site_id -> (before, after) lines of the site's own rewrite, for the report's FIX section."""
    from scanner.catalog import load_catalog

    catalog = load_catalog()
    keys = {}
    for site in result.launch_sites:
        try:
            keys[site.agent] = catalog.agent(site.agent).api_keys[:1]
        except KeyError:
            keys[site.agent] = ()
    out: dict[str, tuple[str, str]] = {}
    needs = {f.site_id for f in result.findings if not f.suppressed and f.severity.rank >= 3}
    for site in result.launch_sites:
        if site.site_id not in needs:
            continue
        file = root / site.location.path if root.is_dir() else root
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        new, _reason = _rewrite(text, site, runner, keys.get(site.agent, ()))
        if new is None:
            continue
        old_lines, new_lines = text.split("\n"), new.split("\n")
        # Diff only the changed middle: SequenceMatcher is quadratic on long runs of equal lines.
        lo, shortest = 0, min(len(old_lines), len(new_lines))
        while lo < shortest and old_lines[lo] == new_lines[lo]:
            lo += 1
        hi = 0
        while hi < shortest - lo and old_lines[-1 - hi] == new_lines[-1 - hi]:
            hi += 1
        matcher = difflib.SequenceMatcher(a=old_lines[lo : len(old_lines) - hi], b=new_lines[lo : len(new_lines) - hi],
                                          autojunk=False)
        blocks = [op for op in matcher.get_opcodes() if op[0] != "equal"]
        if not blocks:
            continue
        a0, a1 = lo + min(b[1] for b in blocks), lo + max(b[2] for b in blocks)
        b0, b1 = lo + min(b[3] for b in blocks), lo + max(b[4] for b in blocks)
        before = "\n".join(old_lines[a0:a1]).strip("\n")
        after = "\n".join(new_lines[b0:b1]).strip("\n")
        if len(before) < 4000 and len(after) < 4000:
            out[site.site_id] = (_dedent(before), _dedent(after))
    return out


def _dedent(block: str) -> str:
    import textwrap

    return textwrap.dedent(block)


# Compose keys whose flagged line is removed outright: what they hand the agent is the hazard.
_COMPOSE_DROP = {"agent-docker-socket", "agent-credential-files-exposed", "agent-operator-credentials-passed",
                 "agent-host-network", "agent-writable-host-path", "agent-privileged-sandbox"}
_SIMPLE_ITEM = re.compile(r"^\s*-\s+[^\s{\[#][^#]*$")
_SIMPLE_KEY = re.compile(r"^\s*[\w.-]+:\s+[^\s{\[|>#][^#]*$")


def _rewrite_compose(text: str, findings) -> tuple[str | None, str]:  # type: ignore[no-untyped-def]
    """Line edits for a compose service: drop escapes and operator credentials, mount the target :ro."""
    lines = text.split("\n")
    drop: set[int] = set()
    for f in findings:
        i = f.location.line - 1
        if not 0 <= i < len(lines):
            continue
        line = lines[i]
        if f.rule_id in _COMPOSE_DROP:
            if not (_SIMPLE_ITEM.match(line) or _SIMPLE_KEY.match(line)):
                return None, f"line {i + 1} is not a one-line entry; change it by hand"
            drop.add(i)
        elif f.rule_id == "agent-writable-target":
            item = re.match(r"^(\s*-\s+)([\"']?)([^\"'#]+?)\2\s*$", line)
            if item is None or item.group(3).count(":") != 1:
                return None, f"line {i + 1}: mount the target read-only by hand"
            lines[i] = f"{item.group(1)}{item.group(2)}{item.group(3)}:ro{item.group(2)}"
    kept = [line for i, line in enumerate(lines) if i not in drop]
    # A key left with no entries under it goes too (`volumes:` with nothing below).
    out: list[str] = []
    for i, line in enumerate(kept):
        stripped = line.rstrip()
        if stripped.endswith(":") and not stripped.lstrip().startswith("-"):
            indent = len(line) - len(line.lstrip())
            nxt = next((l for l in kept[i + 1 :] if l.strip()), "")
            if len(nxt) - len(nxt.lstrip()) <= indent and not nxt.lstrip().startswith("-"):
                continue
        out.append(line)
    new = "\n".join(out)
    if new == text:
        return None, "nothing on the flagged lines can be changed safely"
    return new, ""


_WORKLOADS = {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}
_ESCAPE_CAPS = {"ALL", "SYS_ADMIN", "SYS_PTRACE", "SYS_MODULE", "DAC_READ_SEARCH", "DAC_OVERRIDE", "SYS_RAWIO", "BPF"}


def _pod_spec(doc):  # type: ignore[no-untyped-def]
    kind = doc.get("kind")
    spec = doc.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return (spec.get("template") or {}).get("spec")


def _rewrite_kubernetes(text: str) -> tuple[str | None, str]:
    """The pod spec's escape hatches closed: host namespaces, privileged containers, added escape
    capabilities, hostPath volumes, bulk secrets (envFrom) and the service-account token."""
    import io

    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yaml = YAML()  # round-trip: comments, quotes and key order survive
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    try:
        docs = list(yaml.load_all(text))
    except YAMLError:
        return None, "the manifest does not parse"
    changed = False
    for doc in docs:
        if not hasattr(doc, "get") or doc.get("kind") not in _WORKLOADS:
            continue
        pod = _pod_spec(doc)
        if not hasattr(pod, "get"):
            continue
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.get(key) is True:
                pod[key] = False
                changed = True
        if pod.get("automountServiceAccountToken") is not False:
            pod["automountServiceAccountToken"] = False
            changed = True
        host_volumes = {v.get("name") for v in pod.get("volumes") or [] if hasattr(v, "get") and "hostPath" in v}
        if host_volumes:
            pod["volumes"] = [v for v in pod["volumes"] if not (hasattr(v, "get") and v.get("name") in host_volumes)]
            if not pod["volumes"]:
                del pod["volumes"]
            changed = True
        for container in [*(pod.get("containers") or []), *(pod.get("initContainers") or [])]:
            if not hasattr(container, "get"):
                continue
            mounts = container.get("volumeMounts")
            if mounts and host_volumes:
                kept = [m for m in mounts if not (hasattr(m, "get") and m.get("name") in host_volumes)]
                if kept:
                    container["volumeMounts"] = kept
                else:
                    del container["volumeMounts"]
            env_from = container.get("envFrom")
            if env_from:
                kept = [e for e in env_from if not (hasattr(e, "get") and "secretRef" in e)]
                if len(kept) != len(env_from):
                    changed = True
                    if kept:
                        container["envFrom"] = kept
                    else:
                        del container["envFrom"]
            sc = container.get("securityContext")
            if hasattr(sc, "get"):
                for key in ("privileged", "allowPrivilegeEscalation"):
                    if sc.get(key) is True:
                        sc[key] = False
                        changed = True
                caps = sc.get("capabilities")
                if hasattr(caps, "get") and caps.get("add"):
                    kept = [c for c in caps["add"] if str(c).upper().removeprefix("CAP_") not in _ESCAPE_CAPS]
                    if len(kept) != len(caps["add"]):
                        changed = True
                        if kept:
                            caps["add"] = kept
                        else:
                            del caps["add"]
    if not changed:
        return None, "nothing in the pod spec can be tightened safely; see the generated k8s/ files"
    out = io.StringIO()
    yaml.dump_all(docs, out)
    return out.getvalue(), ""
