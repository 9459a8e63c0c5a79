"""Rewrite launch sites so the agent starts through the generated sandbox runner, or switches to
its own safe option where a runner cannot be put in front.

Only shapes whose rewrite is mechanical and keeps the program's meaning are touched, and every
rewrite edits syntax-tree nodes or value ranges (libcst for Python, tree-sitter for JavaScript/
TypeScript, a positioned JSON(C) tree, TOML and YAML by line or round-trip):

- Code launches (`plan_apply` with `anchored`, the default): Python `subprocess.*` with an argv
  list, a list variable or a same-file helper that returns one, `shell=True` strings and
  `os.system` statements (as `sh -c` through the runner); JavaScript/TypeScript `child_process`
  `spawn/spawnSync/execFile/execFileSync`, and `exec/execSync` command strings (also through a
  name bound to `promisify(exec)`, which becomes `promisify(execFile)` at the call). The runner is
  started by its path from the repository root with the root as working folder (computed from
  the file's own location: `__file__`, `__dirname`, `import.meta.url`), the original working
  folder is handed over in BLASTWALL_TARGET, the environment becomes explicit (PATH, the agent's
  key by name, and every harmless entry the launch set, named in BLASTWALL_PASS_ENV), and a
  timeout is added when there is none. See `LaunchCtx`.
- Shell command lines (scripts, Makefile recipes, workflow `run:` steps, `package.json` scripts)
  that start with the agent get the runner in front, by its path spelled from the repository
  root (`"$(git rev-parse --show-toplevel)/sandbox/agent-bwrap.sh"`, `"$GITHUB_WORKSPACE/..."`)
  where the shell may run in another folder, `./sandbox/agent-bwrap.sh` where the tool starts it
  at the root or the script has moved there itself; the folder it runs in stays the one the
  runner mounts.
  `docker|podman run` commands, on one line or continued over several, lose their escapes and
  gain the sandbox flags (see `configs.plan_container_run`), keeping their layout.
- Configuration (`configs`): Claude/Gemini/Qwen/OpenCode/Codex/Aider settings wherever found,
  MCP stdio servers (wrapped in the runner, their env named for it; one its provider hosts
  becomes the hosted entry instead, see `hosted`), workflow jobs (read-only
  token, operator secrets out, checkout without a persisted token, a timeout, agent action
  inputs without bypass flags or shell tools), compose services, Kubernetes workloads.
- SDK and framework options (`frameworks`): the framework's own safe setting.

`_rewrite(text, site, runner, keys)` is the plain form (runner as given, minimal env, no
anchoring) kept for callers and tests of the argv rewrites. Every rewritten file is parsed again
before it is written; a file that is a symlink, is reached through one or resolves outside the
scanned folder is never edited. Everything else is reported back as manual, with the reason and
a group shared by equal reasons.
"""

from __future__ import annotations

import ast
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from scanner.model import LaunchSite, ScanResult
from scanner.parse.trees import descendants
from scanner.remediation.frameworks import string_value
from scanner.remediation.plan import ApplyPlan, Manual, Note
from scanner.remediation.syntax import JS_FUNCTIONS as _JS_FUNCTIONS
from scanner.remediation.syntax import JS_SIMPLE as _JS_SIMPLE
from scanner.remediation.syntax import js_append_props as _js_append_props
from scanner.remediation.syntax import js_dialect as _js_dialect
from scanner.remediation.syntax import js_parses as _js_parses
from scanner.remediation.syntax import js_prop as _js_prop
from scanner.remediation.syntax import js_prop_key as _js_prop_key
from scanner.remediation.syntax import js_unwrap as _js_unwrap
from scanner.remediation.syntax import too_deep as _too_deep
from scanner.discover.bounded import read_bounded
from scanner.project.files import MAX_LINKED_BYTES
from scanner.project.module_paths import python_module_path
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


@dataclass
class _Task:
    kind: str
    sites: list[LaunchSite]
    lines: dict[int, set[str]] = field(default_factory=dict)  # finding line -> rule ids, in this file


def _blocking(result: ScanResult) -> dict[str, list[Any]]:
    """site id -> its active findings, for the sites with a high or critical one."""
    by_site: dict[str, list[Any]] = {}
    for f in result.findings:
        if not f.suppressed:
            by_site.setdefault(f.site_id, []).append(f)
    return {sid: fs for sid, fs in by_site.items() if any(f.severity.rank >= 3 for f in fs)}


def _js_is_esm(root: Path, path: str, text: str) -> bool:
    if path.endswith((".mjs", ".mts")):
        return True
    if path.endswith((".cjs", ".cts")):
        return False
    if "import.meta" in text:
        return True
    if re.search(r"\brequire\s*\(|\b__dirname\b|\bmodule\.exports\b", text):
        return False
    folder = Path(path).parent
    if path.endswith((".ts", ".tsx")):
        module = _tsconfig_module(root, folder)
        if module:
            return not module.startswith("commonjs") and module not in ("node16", "nodenext") or \
                (module in ("node16", "nodenext") and _package_type(root, folder) == "module")
        return _package_type(root, folder) == "module"
    if re.search(r"^\s*(?:import\s[^(]|export\s)", text, re.M):
        return True  # ES module syntax in a .js file: Node runs it as one
    return _package_type(root, folder) == "module"


def _site_kind(site: LaunchSite, anchored: bool) -> str:
    surface, launcher = site.surface, site.launcher
    if site.command.split(" ", 1)[0] in _multiplexers() or any(
            site.command.split(" ", 1)[0].endswith(f"/{m}") for m in _multiplexers()):
        return "multiplexer"
    if surface == "python":
        if launcher in _PY_LAUNCHERS or (anchored and launcher == "os.system"):
            return "python-call"
        return "python-framework" if anchored else "other"
    if surface == "javascript":
        if launcher in _JS_LAUNCHERS:
            return "js-call"
        if anchored and launcher in _JS_SHELL_LAUNCHERS:
            return "js-shell"
        return "ts-framework" if anchored and ("query" in launcher or "Stdio" in launcher or "MCP" in launcher) \
            else "other"
    if surface == "github-workflow" and anchored and launcher.startswith("action "):
        return "workflow"
    if surface in _SHELL_SURFACES:
        if anchored and site.containment.boundary_tool in ("docker run", "podman run"):
            return "container-run"
        return "shell"
    if surface == "package-json":
        return "shell"
    if surface == "compose":
        return "compose"
    if surface == "kubernetes":
        return "kubernetes"
    if anchored and surface == "agent-config":
        return "settings"
    if anchored and surface == "mcp-config":
        return "mcp"
    return "other"


@lru_cache(maxsize=1)
def _multiplexers() -> frozenset[str]:
    """tmux, screen: a runner in front of the client would not hold the command it hands a pane."""
    from scanner.catalog import load_catalog

    return frozenset(load_catalog().containment.section("multiplexers"))


def plan_apply(root: Path, result: ScanResult, runner: str, key_names: dict[str, tuple[str, ...]], *,
               anchored: bool = True, runner_env: frozenset[str] = frozenset(), preview: bool = False) -> ApplyPlan:
    """Work out every rewrite for the sites that need one; nothing is written here.

    `runner` is the generated agent-bwrap.sh by its path from the repository root. With
    `anchored` (the default), rewritten launches reach it from wherever their program runs (see
    `LaunchCtx`), configuration sites are rewritten to their safe values, and `runner_env` names
    the variables the runner already hands on; without it only argv launches are rewritten, with
    the runner path as given. A `preview` plan (the report's) has the same edits, and may give a
    shorter reason for a site it cannot rewrite."""
    plan = ApplyPlan()
    runner_text = runner if runner.startswith(("./", "/", "../")) else "./" + runner
    blocking = _blocking(result)
    tasks: dict[str, list[_Task]] = {}

    def task(path: str, kind: str, site: LaunchSite, findings: list[Any]) -> None:
        items = tasks.setdefault(path, [])
        found = next((t for t in items if t.kind == kind and kind in ("workflow", "python-framework", "settings")), None)
        if found is None:
            found = _Task(kind, [])
            items.append(found)
        if site not in found.sites:
            found.sites.append(site)
        for f in findings:
            loc = getattr(f, "location", None)
            if loc is not None and loc.path == path:
                found.lines.setdefault(loc.line, set()).add(getattr(f, "rule_id", ""))

    for site in result.launch_sites:
        if site.site_id not in blocking:
            continue
        findings = blocking[site.site_id]
        kind = _site_kind(site, anchored)
        if kind == "compose":
            paths = sorted({f.location.path for f in findings if hasattr(f, "location")
                            and f.location.path.endswith((".yml", ".yaml"))}) or [site.location.path]
            for path in paths:
                task(path, kind, site, findings)
            continue
        task(site.location.path, kind, site, findings)
        if anchored and site.surface == "github-workflow" and kind != "workflow":
            task(site.location.path, "workflow", site, findings)
        if anchored and kind == "python-framework":
            for other in sorted({f.location.path for f in findings if hasattr(f, "location")
                                 and f.location.path != site.location.path and f.location.path.endswith(".py")}):
                task(other, kind, site, findings)
    for path, items in sorted(tasks.items()):
        sites = [s for t in items for s in t.sites]
        if root.is_dir():
            file, unsafe = root / path, unsafe_reason(root, path)
        else:
            file, unsafe = root, ("the file is a symlink; blastwall does not edit through symlinks"
                                  if root.is_symlink() else "")
        if unsafe:
            plan.manual.extend(Manual(path, s.location.line, unsafe, "files reached through a symlink are not edited")
                               for s in dict.fromkeys(sites))
            continue
        try:
            text = file.read_bytes().decode("utf-8")  # bytes as they are: CRLF files stay CRLF
        except (OSError, UnicodeDecodeError) as exc:
            plan.manual.extend(Manual(path, s.location.line, f"cannot read the file: {exc}", "unreadable files")
                               for s in dict.fromkeys(sites))
            continue
        depth = path.count("/") if root.is_dir() else 0
        ctx = LaunchCtx(depth=depth, runner_env=runner_env,
                        esm=_js_is_esm(root, path, text) if path.endswith(_JS_EXTENSIONS) else False) \
            if anchored else None
        new, done, manual, notes, explained = _rewrite_file(path, text, items, runner_text, key_names, result, ctx,
                                                            preview, root if root.is_dir() else None)
        plan.rewritten.extend(s for s in done if s not in plan.rewritten)
        plan.explained.update(explained)
        plan.manual.extend(manual)
        plan.notes.extend(Note(path, 0, n) for n in dict.fromkeys(notes))
        if new != text:
            plan.edits[path] = (text, new)
    plan.manual = list(dict.fromkeys(plan.manual))
    plan.manual.sort(key=lambda m: (m.path, m.line))
    return plan


_JS_EXTENSIONS = (".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".tsx", ".jsx")


def _nearest(root: Path, folder: Path, name: str) -> Any:
    """The parsed JSON(C) `name` in `folder` or the closest folder above it inside `root`, or None."""
    from scanner.remediation import jsonedit

    if not root.is_dir():
        return None
    while True:
        candidate = root / folder / name
        if candidate.is_file() and not unsafe_reason(root, (folder / name).as_posix()):
            try:
                return jsonedit.loads_lenient(candidate.read_text(encoding="utf-8"))
            except (OSError, ValueError, UnicodeDecodeError):
                return None
        if folder == folder.parent:
            return None
        folder = folder.parent


def _package_type(root: Path, folder: Path) -> str:
    doc = _nearest(root, folder, "package.json")
    return str(doc.get("type", "")) if isinstance(doc, dict) else ""


def _tsconfig_module(root: Path, folder: Path) -> str:
    doc = _nearest(root, folder, "tsconfig.json")
    options = doc.get("compilerOptions") if isinstance(doc, dict) else None
    return str(options.get("module", "")).lower() if isinstance(options, dict) else ""


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


def _shell_prefix(path: str, text: str, site: LaunchSite, runner: str, ctx: LaunchCtx | None) -> str:
    """How a shell-like launch reaches the runner from wherever it runs: by its path from the
    repository root, spelled from the root (`$(git rev-parse --show-toplevel)`, `$GITHUB_WORKSPACE`),
    so the folder the command runs in stays its own and is the one the runner mounts; `./` only
    where the tool itself starts the command at the root (a root Makefile or package.json, a
    workflow step without a working-directory)."""
    if ctx is None:
        return runner
    rel = runner[2:] if runner.startswith("./") else runner
    if site.surface == "package-json":
        if ctx.depth == 0:
            return "./" + rel  # npm, yarn and pnpm run scripts in the package's own folder
        return f'"$(git rev-parse --show-toplevel)/{rel}"'
    if site.surface == "github-workflow":
        if not _workflow_workdir(text, site.location.line):
            return "./" + rel  # a run step starts in $GITHUB_WORKSPACE, the repository root
        line = text.split("\n")[site.location.line - 1] if 0 < site.location.line <= text.count("\n") + 1 else ""
        if re.match(r"^\s*(?:-\s+)?run\s*:\s*[^|>\s]", line):
            return f"$GITHUB_WORKSPACE/{rel}"  # a one-line YAML scalar: no quote may start it
        return f'"$GITHUB_WORKSPACE/{rel}"'
    if site.surface == "makefile":
        if ctx.depth == 0:
            return "./" + rel  # recipes run in the folder of the root Makefile
        return f'"$$(git rev-parse --show-toplevel)/{rel}"'
    if _script_at_root(text, site.location.line, ctx.depth):
        return "./" + rel  # the script has moved to the repository root itself
    return f'"$(git rev-parse --show-toplevel)/{rel}"'  # a script may be started from any folder


_ROOT_DIRS = ('"$(git rev-parse --show-toplevel)"', "$(git rev-parse --show-toplevel)", '"$GITHUB_WORKSPACE"',
              '"${GITHUB_WORKSPACE}"', "$GITHUB_WORKSPACE", "${GITHUB_WORKSPACE}")
_SCRIPT_DIR = re.compile(r'^"?\$\(dirname (?:-- )?"?(?:\$0|\$\{BASH_SOURCE\[0\]\}|\$BASH_SOURCE)"?\)(?P<up>(?:/\.\.)*)/?"?$')


def _script_at_root(text: str, line: int, depth: int) -> bool:
    """True when a shell script has changed to the repository root before `line`, at its top
    level and for good: `cd "$(git rev-parse --show-toplevel)"`, `cd "$GITHUB_WORKSPACE"`, `cd
    "$(dirname "$0")/.."` from as deep as the script is, or `cd "$DIR"` for a variable set to one
    of those; with no other change of folder between it and the launch."""
    lines = text.split("\n")[: max(line - 1, 0)]
    roots: set[str] = set()
    at_root = False
    for raw in lines:
        stripped = raw.strip()
        if re.match(r"^(cd|pushd|popd)\b", stripped) and raw[:1].isspace():
            return False  # a change of folder inside a block: where the launch runs is not plain
        assign = re.match(r"^(?:readonly\s+|export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.+)$", raw.rstrip())
        if assign and _is_root_dir(assign.group(2), depth, roots):
            roots.add(assign.group(1))
            continue
        if assign and assign.group(1) in roots:
            roots.discard(assign.group(1))
        cd = re.match(r"^(cd|pushd|popd)\b\s*(.*?)\s*(?:\|\|\s*exit\b.*|&&.*)?$", raw.rstrip())
        if cd:
            at_root = cd.group(1) != "popd" and _is_root_dir(cd.group(2), depth, roots)
    return at_root


def _is_root_dir(word: str, depth: int, roots: set[str]) -> bool:
    word = word.strip()
    if word in _ROOT_DIRS:
        return True
    var = re.fullmatch(r'"?\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?"?', word)
    if var and var.group(1) in roots:
        return True
    m = _SCRIPT_DIR.match(word)
    return bool(m) and m.group("up").count("..") == depth


def _workflow_workdir(text: str, line: int) -> bool:
    """True when the run step at `line` (or its job or workflow defaults) sets a working-directory."""
    lines = text.split("\n")
    if any(re.match(r"^\s*working-directory\s*:", l) for l in lines):
        i = line - 1
        # the step: from its "- " line down to the next item at the same indent
        start = i
        while start > 0 and not re.match(r"^\s*-\s", lines[start]):
            start -= 1
        indent = len(lines[start]) - len(lines[start].lstrip())
        end = start + 1
        while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent):
            end += 1
        if any(re.match(r"^\s*working-directory\s*:", l) for l in lines[start:end]):
            return True
        return any(re.match(r"^\s*defaults\s*:", l) for l in lines)
    return False


def _rewrite_file(path: str, text: str, tasks: list[_Task], runner: str, key_names: dict[str, tuple[str, ...]],
                  result: ScanResult, ctx: LaunchCtx | None = None, preview: bool = False,
                  root: Path | None = None,
                  ) -> tuple[str, list[LaunchSite], list[Manual], list[str], dict[str, str]]:
    """All the rewrites of one file: the new text, the sites rewritten, the manual ones, notes, and
    what each rewrite that is not the rule's own fix does (site id -> explanation)."""
    from scanner.remediation import configs, frameworks, hosted

    done: list[LaunchSite] = []
    manual: list[Manual] = []
    notes: list[str] = []
    explained: dict[str, str] = {}
    new = text

    def fail(site: LaunchSite, reason: str, group: str = "") -> None:
        manual.append(Manual(path, site.location.line, reason, group))

    def keys_of(sites: list[LaunchSite]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(k for s in sites for k in key_names.get(s.agent, ())))

    by_kind: dict[str, list[_Task]] = {}
    for item in tasks:
        by_kind.setdefault(item.kind, []).append(item)

    # Line-preserving option edits first, so the call rewrites below still find their calls.
    for item in by_kind.get("python-framework", []):
        launcher = item.sites[0].launcher
        try:
            new, more = frameworks.rewrite_python_framework(new, launcher, item.lines, keys_of(item.sites),
                                                            preview=preview)
            notes.extend(more)
            done.extend(item.sites)
        except configs.Manual as exc:
            snippet = frameworks.manual_snippet(launcher)
            group = f"{launcher}: switch to the framework's isolated executor by hand" if snippet else ""
            for site in item.sites:
                fail(site, str(exc), group)
    python = [s for item in by_kind.get("python-call", []) for s in item.sites]
    if python:
        # One pass over one syntax tree, so an import added at the top moves no other site.
        imported = (lambda tree: _imported_list_functions(root, path, tree)) if root is not None else None
        new, outcome = _rewrite_python(new, python, runner, key_names, ctx, imported)
        for site in python:
            (fail(site, outcome[site.site_id], _group(outcome[site.site_id])) if outcome[site.site_id]
             else done.append(site))
    # Bottom-up, so earlier offsets stay valid.
    rest = [(item, s) for kind in ("js-call", "js-shell", "ts-framework", "shell", "container-run")
            for item in by_kind.get(kind, []) for s in item.sites]
    for item, site in sorted(rest, key=lambda p: (p[1].location.line, p[1].location.column), reverse=True):
        keys = key_names.get(site.agent, ())
        if item.kind == "ts-framework":
            try:
                rewritten, more = frameworks.rewrite_ts_framework(path, new, site.launcher, site.location.line,
                                                                  item.lines, keys, site.location.column)
                reason = ""
                notes.extend(more)
            except configs.Manual as exc:
                rewritten, reason = None, str(exc)
        elif item.kind == "container-run":
            rewritten, reason = _rewrite_container_line(new, site, keys, notes, _container_network(site.agent, keys))
        elif item.kind == "shell" and site.surface in _SHELL_SURFACES:
            rewritten, reason = _rewrite_shell(new, site, _shell_prefix(path, new, site, runner, ctx))
        elif item.kind == "shell":
            rewritten, reason = _rewrite_package_json(new, site, _shell_prefix(path, new, site, runner, ctx))
        elif item.kind == "js-call" and site.launcher in _JS_LAUNCHERS:
            rewritten, reason = _rewrite_js(new, site, runner, keys, ctx)
        elif item.kind == "js-shell" and ctx is not None:
            rewritten, reason = _rewrite_js_shell(new, site, runner, keys, ctx)
        else:
            rewritten, reason = _rewrite(new, site, runner, keys)
        if rewritten is None:
            fail(site, reason, _group(reason))
        else:
            new = rewritten
            done.append(site)
    for item in by_kind.get("compose", []):
        for site in item.sites:
            if ctx is None:
                mine = [f for f in result.findings if f.site_id == site.site_id and not f.suppressed]
                rewritten, reason = _rewrite_compose(new, mine)
                if rewritten is None:
                    fail(site, reason, _group(reason))
                else:
                    new = rewritten
                    done.append(site)
                continue
            try:
                line = site.location.line if site.location.path == path else min(item.lines or {0: set()})
                new, more = configs.rewrite_compose_service(new, line, item.lines)
                notes.extend(more)
                done.append(site)
            except configs.Manual as exc:
                fail(site, str(exc), _group(str(exc)))
    for item in by_kind.get("kubernetes", []):
        rewritten, reason = _rewrite_kubernetes(new)
        for site in item.sites:
            if rewritten is None:
                fail(site, reason, _group(reason))
            else:
                done.append(site)
        if rewritten is not None:
            new = rewritten
    for item in by_kind.get("settings", []):
        for agent in dict.fromkeys(s.agent for s in item.sites):
            sites = [s for s in item.sites if s.agent == agent]
            try:
                rewritten = configs.rewrite_agent_settings(path, new, agent)
                if rewritten == new:
                    raise configs.Manual("nothing in the settings can be tightened safely")
                new = rewritten
                done.extend(sites)
                notes.append(f"{sites[0].agent_name}: approvals back on, its own sandbox on where it has one")
            except configs.Manual as exc:
                for site in sites:
                    fail(site, str(exc), _group(str(exc)))
    # Bottom-up over every server of the file: a hosted entry may change how many lines the file has.
    mcp_sites = [s for item in by_kind.get("mcp", []) for s in item.sites]
    for site in sorted(mcp_sites, key=lambda s: s.location.line, reverse=True):
        # The provider's hosted server first: nothing local to wrap, and the token (if any) goes
        # only to the provider. Anything it cannot carry over keeps the runner wrap.
        swap = hosted.rewrite_toml(path, new, site.location.line) if path.endswith(".toml") else \
            hosted.rewrite_json(path, new, site.location.line)
        if swap is not None:
            new = swap.text
            done.append(site)
            explained[site.site_id] = swap.explanation()
            notes.append(f"{swap.server.name} is reached at {swap.server.url} ({swap.client.name}'s remote "
                         "entry): no local process, the token goes only to the provider")
            if swap.manual_step():
                manual.append(Manual(path, site.location.line, f"{site.agent_name}: {swap.manual_step()}",
                                     "hosted MCP servers whose token was written in the file: set the variable "
                                     "they now read, and revoke the written token", after_rewrite=True))
            continue
        try:
            if path.endswith(".toml"):
                new = configs.rewrite_mcp_toml(path, new, site.location.line, runner[2:] if runner.startswith("./")
                                               else runner)
            else:
                new = configs.rewrite_mcp_json(path, new, site.location.line,
                                               runner[2:] if runner.startswith("./") else runner)
            done.append(site)
            notes.append("MCP servers start through agent-bwrap.sh; their env is handed on by name")
        except configs.Manual as exc:
            fail(site, str(exc), _group(str(exc)))
            continue
        for reason, group in _mcp_leftovers(site, result):
            fail(site, reason, group)
    for item in by_kind.get("workflow", []):
        try:
            fixed = configs.rewrite_workflow(new, item.lines, model_keys=keys_of(item.sites))
            if fixed.text != new:
                new = fixed.text
                notes.extend(fixed.notes)
                done.extend(s for s in item.sites if s.launcher.startswith("action "))
            elif any(s.launcher.startswith("action ") for s in item.sites):
                raise configs.Manual("nothing in the job can be tightened safely")
        except configs.Manual as exc:
            for site in item.sites:
                fail(site, str(exc), _group(str(exc)))
    for item in by_kind.get("multiplexer", []):
        for site in item.sites:
            # The pane's command runs in the multiplexer's server, not under the client's wrappers:
            # the runner belongs inside the command the pane starts.
            fail(site, f"the agent runs in a terminal multiplexer's pane; start it there through {runner}",
                 "agents started in a tmux or screen pane: put the runner inside the pane's command")
    for item in by_kind.get("other", []):
        for site in item.sites:
            if ctx is not None:
                swapped, _ = _swap_own_sandbox(new, site, item.lines)
                if swapped is not None:
                    new = swapped
                    done.append(site)
                    notes.append(f"{site.agent_name} runs in its own sandbox where the runner cannot be put in front")
                    continue
            new_text, reason = _rewrite(new, site, runner, key_names.get(site.agent, ()))
            if new_text is None:
                fail(site, reason, _group(reason))
            else:
                new = new_text
                done.append(site)
    if new != text and not still_parses(path, {s.surface for s in done}, text, new):
        manual.extend(Manual(path, s.location.line, "the rewritten file would not parse; change it by hand",
                             "the rewrite would not parse back") for s in done)
        return text, [], manual, [], {}
    failed = {(m.path, m.line) for m in manual if not m.after_rewrite}
    return new, [s for s in dict.fromkeys(done) if (path, s.location.line) not in failed], manual, notes, explained


def hosted_sites(root: Path, result: ScanResult) -> frozenset[str]:
    """The MCP sites `--apply` reaches at their provider's hosted server rather than wrapping them
    (see `scanner.remediation.hosted`): they need no runner."""
    from scanner.remediation import hosted

    blocking = _blocking(result)
    out: set[str] = set()
    for site in result.launch_sites:
        path = site.location.path
        if site.surface != "mcp-config" or site.site_id not in blocking or not root.is_dir() \
                or unsafe_reason(root, path):
            continue
        try:
            text = (root / path).read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        rewrite = hosted.rewrite_toml if path.endswith(".toml") else hosted.rewrite_json
        if rewrite(path, text, site.location.line) is not None:
            out.add(site.site_id)
    return frozenset(out)


def _group(reason: str) -> str:
    """The part of a manual reason that equal cases share (no line numbers, names or paths)."""
    reason = re.sub(r"line \d+", "line N", reason)
    reason = re.sub(r"`[^`]*`", "`…`", reason)
    return reason.split(";", 1)[0] if len(reason) > 90 else reason


def _mcp_leftovers(site: LaunchSite, result: ScanResult) -> list[tuple[str, str]]:
    """What stays open on a wrapped MCP server: the credentials it is handed, a daemon socket."""
    out = []
    for f in result.findings:
        if f.site_id != site.site_id or f.suppressed or f.severity.rank < 3:
            continue
        if f.rule_id == "agent-operator-credentials-passed":
            out.append((f"the server is handed an operator credential ({f.location.quote.strip()[:60]}): give it a "
                        "scoped, short-lived token from a broker",
                        "MCP servers handed an operator credential: give each a scoped, short-lived token"))
        elif f.rule_id == "agent-docker-socket":
            out.append(("the server's job is driving the Docker daemon: point it at a rootless or remote daemon you "
                        "can afford to hand over", "MCP servers that drive the Docker daemon"))
    return out


#: bypass spellings of agents with their own sandbox, and the same-arity switch that turns it on:
#: (agent, bypass token) -> (replacement in an argv literal, replacement in a command string)
_OWN_SANDBOX_SWAPS = {
    "codex": [("danger-full-access", "workspace-write", "workspace-write"),
              ("--dangerously-bypass-approvals-and-sandbox", "--sandbox=workspace-write", "--sandbox workspace-write"),
              ("--yolo", "--sandbox=workspace-write", "--sandbox workspace-write")],
    "gemini-cli": [("--yolo", "--sandbox", "--sandbox"), ("--approval-mode=yolo", "--sandbox", "--sandbox"),
                   ("--approval-mode yolo", None, "--sandbox")],
    "qwen-code": [("--yolo", "--sandbox", "--sandbox"), ("--approval-mode=yolo", "--sandbox", "--sandbox"),
                  ("--approval-mode yolo", None, "--sandbox")],
    "cursor-agent": [("--sandbox disabled", None, "--sandbox enabled"), ("--force", None, "--sandbox enabled"),
                     ("--yolo", None, "--sandbox enabled")],
}


def _swap_own_sandbox(text: str, site: LaunchSite, lines: Iterable[int]) -> tuple[str | None, str]:
    """An agent with a sandbox of its own, launched where no runner can be put in front (a command
    string some launcher runs, a Go or Java argv found by the semgrep pack): its bypass switch
    swapped for the switch that turns its sandbox on, token for token on the flagged lines."""
    swaps = _OWN_SANDBOX_SWAPS.get(site.agent)
    if not swaps:
        return None, ""
    out = text.split("\n")
    changed = False
    for line_no in sorted(set(lines) | {site.location.line}):
        i = line_no - 1
        if not 0 <= i < len(out):
            continue
        line = out[i]
        # Only what follows the agent's own name: `npx -y pkg` keeps its own flags.
        names = [site.agent.split("-")[0], *(w for w in site.command.split()[:3] if "/" in w or "@" in w)]
        at = min((line.find(n) for n in names if n and line.find(n) >= 0), default=-1)
        if at < 0:
            continue
        head, tail = line[:at], line[at:]
        for token, in_argv, in_string in swaps:
            quoted = re.compile(r'(["\'])' + re.escape(token) + r"\1")
            if in_argv is not None and len(quoted.findall(tail)) == 1:
                tail = quoted.sub(lambda m: m.group(1) + in_argv + m.group(1), tail)
                continue
            inside = re.compile(r"(?<=[\s\"'`])" + re.escape(token) + r"(?=[\s\"'`])")
            if len(inside.findall(tail)) == 1:
                tail = inside.sub(in_string, tail)
        line = head + tail
        if line != out[i]:
            out[i] = line
            changed = True
    if not changed:
        return None, ""
    return "\n".join(out), ""


def _rewrite_container_line(text: str, site: LaunchSite, keys: tuple[str, ...],
                            notes: list[str], network: str = "") -> tuple[str | None, str]:
    """A `docker|podman run ...` command (scripts, Makefiles, workflow steps), on one line or
    continued over several with a trailing backslash, re-spelled with its escapes removed and the
    sandbox flags added (see `configs.plan_container_run`). The command keeps its layout: a word
    dropped leaves its line (a line left empty goes), a word changed stays where it was, the
    added flags go on one line after `run` (on the `run` line itself for a one-line command), and
    a timeout goes in front unless one is there."""
    from scanner.remediation import configs

    lines = text.split("\n")
    i = site.location.line - 1
    if not 0 <= i < len(lines):
        return None, "could not find the command again"

    def continued(k: int) -> bool:
        return lines[k].rstrip("\r").endswith("\\") and not lines[k].rstrip("\r").endswith("\\\\")

    first = i
    while first > 0 and continued(first - 1):
        first -= 1
    last = i
    while last < len(lines) - 1 and continued(last):
        last += 1
    run_lines = [k for k in range(first, last + 1) if re.search(r"\b(docker|podman)\s+run\b", lines[k])]
    if len(run_lines) != 1:
        return None, ("the container run is not on the flagged line; apply the run-agent.sh flags by hand" if not run_lines
                      else "several container runs share these lines; apply the run-agent.sh flags by hand")
    start = run_lines[0]
    m = re.search(r"\b(docker|podman)\s+run\b", lines[start])
    head_text = "\n".join(lines[first:start] + [lines[start][: m.start()]])
    # Each line's words (without its continuation backslash and line break), kept per line.
    per_line: list[tuple[int, str, str, list[str], str]] = []  # line, indent/prefix, words text, words, suffix
    for k in range(start, last + 1):
        raw = lines[k]
        cr = "\r" if raw.endswith("\r") else ""
        body = raw[: len(raw) - len(cr)]
        cont = ""
        if k < last:
            body = body.rstrip()
            body, cont = body[:-1].rstrip(), " \\"
        prefix = body[: m.start()] if k == start else body[: len(body) - len(body.lstrip())]
        body = body[len(prefix):]
        comment = ""
        if k == last:
            cut = _unquoted_comment(body)
            if cut >= 0:
                body, comment = body[:cut].rstrip(), body[len(body[:cut].rstrip()):]
        try:
            words = configs.shell_words(body)
        except configs.Manual:
            return None, "a quoted value spans lines in the docker run command; apply the run-agent.sh flags by hand"
        for word in words:
            outside = _unquoted(word)
            if any(c in outside for c in ";|&<>`") or outside.count("$(") != outside.count(")"):
                return None, "the docker run line holds other commands; apply the run-agent.sh flags by hand"
        per_line.append((k, prefix, body, words, comment + cont + cr))
    words = [w for _k, _p, _b, ws, _s in per_line for w in ws]
    try:
        plan = configs.plan_container_run(words, keys, network)
    except configs.Manual as exc:
        return None, str(exc)
    notes.extend(plan.notes)
    timeout = "" if re.search(r"(^|[\s;(])g?timeout\s", head_text) else "timeout --kill-after=10 1800 "
    added = [w for group in plan.add for w in group]
    index = 0
    out: list[str] = []
    for n, (k, prefix, _body, line_words, suffix) in enumerate(per_line):
        new_words = []
        for word in line_words:
            new = plan.replace.get(index, word)
            index += 1
            if new is not None:
                new_words.append(new)
        if n == 0:
            new_words = [*new_words[:2], *(added if len(per_line) == 1 else []), *new_words[2:]]
            out.append(prefix + timeout + configs.shell_join(new_words) + suffix)
            if len(per_line) > 1 and added:
                nxt = per_line[1][1]
                indent = nxt if not nxt.strip() else (prefix[: len(prefix) - len(prefix.lstrip())] + "  ")
                cr = "\r" if suffix.endswith("\r") else ""
                out.extend(indent + configs.shell_join(group) + " \\" + cr for group in _flag_lines(plan.add))
            continue
        if not new_words and n < len(per_line) - 1:
            continue  # every word of this line was dropped
        if not new_words:  # the last line emptied: the line before ends the command
            if out and out[-1].rstrip("\r").endswith(" \\"):
                cr = "\r" if out[-1].endswith("\r") else ""
                out[-1] = out[-1].rstrip("\r")[:-2] + suffix.replace(" \\", "") + cr
            continue
        out.append(prefix + configs.shell_join(new_words) + suffix)
    lines[start:last + 1] = out
    return "\n".join(lines), ""


def _flag_lines(groups: list[list[str]], width: int = 84) -> list[list[str]]:
    """Flag groups laid out on continued lines: whole groups, joined while a line stays short."""
    out: list[list[str]] = []
    for group in groups:
        if out and len(" ".join([*out[-1], *group])) <= width:
            out[-1] = [*out[-1], *group]
        else:
            out.append(list(group))
    return out


def _container_network(agent: str, keys: tuple[str, ...]) -> str:
    """The network a rewritten `docker run` of `agent` gets: the allow-list proxy when the agent
    talks to a model endpoint, none when the catalog knows it needs no network, unchanged for a
    program the catalog does not know."""
    from scanner.remediation.facts import load_facts

    facts = load_facts().agent(agent)
    if facts is None:
        return ""
    return "proxy" if keys or facts.endpoints or facts.api_keys or facts.provider_agnostic else "none"


def _shell_chars(text: str) -> Iterator[tuple[int, str]]:
    """The characters of a shell word or line outside quotes, with their index (quote marks and
    backslash-escaped characters left out)."""
    quote, i = "", 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 1
            elif c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c == "\\":
            i += 1
        else:
            yield i, c
        i += 1


def _unquoted(word: str) -> str:
    """The characters of a shell word that are outside quotes (escaped characters left out)."""
    return "".join(c for _i, c in _shell_chars(word))


def _unquoted_comment(body: str) -> int:
    """Where a `# comment` starts on a shell line (outside quotes, after a blank), or -1."""
    return next((i for i, c in _shell_chars(body) if c == "#" and (i == 0 or body[i - 1].isspace())), -1)


def still_parses(path: str, surfaces: set[str], before: str, after: str) -> bool:
    """False when `before` parses as its kind of file and `after` does not."""
    if "python" in surfaces or path.endswith((".py", ".pyi")):
        return _python_parses(before, after)
    if "javascript" in surfaces:
        return _js_parses(_js_dialect(path), after)
    if "shell" in surfaces or path.endswith((".sh", ".bash")):
        from scanner.parse.trees import parse

        clean = lambda t: not parse("bash", t.encode("utf-8")).root_node.has_error  # noqa: E731
        return clean(after) or not clean(before)
    if path.endswith((".yml", ".yaml")) or surfaces & {"compose", "kubernetes", "github-workflow"}:
        import yaml

        from scanner.parse.yamlsrc import load_all_data

        def loads(t: str) -> bool:
            try:
                load_all_data(t)
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


@dataclass(frozen=True)
class LaunchCtx:
    """An anchored rewrite: the runner is reached from the repository root wherever the program
    runs, and the folder the program was in stays the one the agent works in.

    Python and JavaScript launches start the runner by its path from the root with the root as
    their working folder (`cwd`), and hand the original working folder over in BLASTWALL_TARGET;
    harmless environment entries the launch set are kept (and named in BLASTWALL_PASS_ENV so the
    runner hands them on), operator credentials and the inherited environment are not."""

    depth: int  # folders between the rewritten file and the repository root
    runner_env: frozenset[str] = frozenset()  # names agent-bwrap.sh hands on by itself
    esm: bool = False  # JavaScript: an ES module (import.meta.url) rather than CommonJS (__dirname)


_RUNNER_SET = {"PATH", "HOME", "LANG"}


def env_entry_kept(name: str, keys: tuple[str, ...]) -> tuple[bool, str]:
    """Whether an environment entry the launch set may reach the agent, and why not."""
    if name in keys:
        return True, ""
    if name in _RUNNER_SET or name.startswith("BLASTWALL_"):
        return False, f"{name} is set by the runner"
    if name.startswith("LD_") or name in ("NODE_OPTIONS", "PYTHONSTARTUP", "BASH_ENV", "ENV"):
        return False, f"{name} would run code in the sandbox's programs"
    from scanner.remediation.configs import is_operator_credential

    if is_operator_credential(name):
        return False, f"{name} looks like an operator credential"
    return True, ""


def _pass_env_value(kept: list[str], ctx: LaunchCtx) -> str:
    extra = [name for name in dict.fromkeys(kept) if name not in ctx.runner_env and name not in _RUNNER_SET]
    return ",".join(extra)


# --- Python: located with ast, rewritten with libcst ---------------------------------------------
#
# The file is parsed once with this Python's own parser (fast even on large files); the launch
# call is found by its position, its source range is parsed with libcst and rewritten node by node,
# and the new call text replaces exactly that range. A file this Python cannot parse (newer syntax)
# goes through libcst alone (`_rewrite_python_cst`), which is slower on large files.

_AST_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp, ast.SetComp,
               ast.DictComp, ast.GeneratorExp)


def _rewrite_python(text: str, sites: list[LaunchSite], runner: str,
                    key_names: dict[str, tuple[str, ...]], ctx: LaunchCtx | None = None,
                    imported: Callable[[ast.Module], frozenset[str]] | None = None) -> tuple[str, dict[str, str]]:
    """Rewrite `sites` (Python subprocess launches of one file); with `ctx`, anchored (see LaunchCtx).
    `imported`: the functions the file imports from repository modules that return a list there.

    Returns the new text and, per site id, "" when it was rewritten or the reason it was not.
    """
    import libcst as cst

    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        if isinstance(exc, (RecursionError, MemoryError)) or "too many" in str(exc) or _too_deep(text):
            return text, {s.site_id: f"the file nests too deeply to rewrite safely; route the launch through {runner} "
                                     "by hand" for s in sites}
        return _rewrite_python_cst(text, sites, runner, key_names, ctx)
    lines = text.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)

    def offset(lineno: int, byte_col: int) -> int:
        line = lines[lineno - 1]
        return starts[lineno - 1] + len(line.encode("utf-8")[:byte_col].decode("utf-8", "replace"))

    imports: list[tuple[str, str]] | None = None
    helpers: frozenset[str] | None = None
    outcome: dict[str, str] = {}
    edits: list[tuple[int, int, str, str]] = []  # start, end, replacement, site id
    add_import = False
    add_modules: set[str] = set()
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
        environ, needs_import, osname = "", False, ""
        if keys or ctx is not None:
            if imports is None:
                imports = _ast_os_imports(tree)
        if keys:
            environ, needs_import, reason = _ast_environ_ref(tree, call, imports)
            if not environ:
                outcome[site.site_id] = reason
                continue
        if ctx is not None:
            osname, os_import, reason = _ast_os_module_ref(tree, call, imports or [])
            if not osname:
                outcome[site.site_id] = reason
                continue
            needs_import = needs_import or os_import
            if not keys:
                environ = f"{osname}.environ"
            if site.launcher == "os.system":
                if not _ast_is_statement(tree, call):
                    outcome[site.site_id] = ("the exit status of os.system is used; replace it with subprocess.run "
                                             f"through {runner} by hand")
                    continue
                sub, sub_import, reason = _ast_module_ref(tree, call, "subprocess")
                if not sub:
                    outcome[site.site_id] = reason
                    continue
                if sub_import:
                    add_modules.add("subprocess")
                node = _os_system_as_call(node, sub)
                if node is None:
                    outcome[site.site_id] = "os.system is not called with one command"
                    continue
            if helpers is None:
                helpers = _ast_list_functions(tree) | (imported(tree) if imported is not None else frozenset())
        hint = _ast_env_var_entries(tree, call) if ctx is not None else None
        build, reason = _py_call_builder(node, site, runner, keys, environ, ctx=ctx, osname=osname,
                                         helpers=helpers or frozenset(), env_hint=hint)
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
    modules = (["os"] if add_import else []) + sorted(add_modules)
    if modules:
        at = _ast_import_offset(tree, lines, starts, min(s for s, _, _ in changes))
        newline = "\r\n" if "\r\n" in text else "\n"
        prefix = newline if at == len(text) and text and not text.endswith("\n") else ""
        changes.append((at, at, prefix + "".join(f"import {m}{newline}" for m in modules)))
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


def _imports_of(bindings: list, name: str, want: str, before: tuple[int, int] | None = None) -> bool:
    """Every binding of `name` is an import of `want` (made before `before`, when given)."""
    return all(isinstance(b, (ast.Import, ast.ImportFrom)) and _ast_binds(b, name) == want
               and (before is None or (b.lineno, b.col_offset) < before) for b in bindings)


def _ast_environ_ref(tree: ast.Module, call: ast.Call, imports: list[tuple[str, str]]) -> tuple[str, bool, str]:
    """How the call can reach `os.environ`: (expression, whether `import os` must be added, reason)."""
    scopes = _ast_scopes(tree, call)
    here = (call.lineno, call.col_offset)
    for name, want in imports:
        found = _ast_lookup(scopes, name)
        if found and _imports_of(found, name, want, here):
            return (f"{name}.environ" if want == "os" else name), False, ""
    found = _ast_lookup(scopes, "os")
    if found is not None and _imports_of(found, "os", "os"):
        return "os.environ", True, ""
    return "", False, ("the name `os` is bound to something else where the agent is started; "
                       "pass the agent's key in env= by hand")


def _ast_os_module_ref(tree: ast.Module, call: ast.Call, imports: list[tuple[str, str]]) -> tuple[str, bool, str]:
    """A name bound to the `os` module where the call is: (name, whether `import os` must be added, reason)."""
    scopes = _ast_scopes(tree, call)
    here = (call.lineno, call.col_offset)
    for name in (name for name, want in imports if want == "os"):
        found = _ast_lookup(scopes, name)
        if found and _imports_of(found, name, "os", here):
            return name, False, ""
    found = _ast_lookup(scopes, "os")
    if found is not None and _imports_of(found, "os", "os"):
        return "os", True, ""
    return "", False, ("the name `os` is bound to something else where the agent is started; "
                       "route the launch through the runner by hand")


def _ast_module_ref(tree: ast.Module, call: ast.Call, module: str) -> tuple[str, bool, str]:
    """A name bound to `module` where the call is (plain `import module` only)."""
    found = _ast_lookup(_ast_scopes(tree, call), module)
    if found and all(isinstance(b, ast.Import) and _ast_binds(b, module) == "?" and
                     any(a.name == module and a.asname is None for a in b.names) for b in found):
        return module, False, ""
    if found is not None and not found:
        return module, True, ""
    return "", False, f"the name `{module}` is bound to something else here; rewrite the launch by hand"


def _ast_env_var_entries(tree: ast.Module, call: ast.Call) -> list[tuple[str, str]] | None:
    """When the call passes `env=NAME`: the entries set on NAME in the same function, as
    (key, code reading it at the call). None when NAME is built in a way that cannot be followed."""
    env = next((k.value for k in call.keywords if k.arg == "env"), None)
    if not isinstance(env, ast.Name):
        return None
    var = env.id
    scopes = _ast_scopes(tree, call)
    scope = next((s for s in reversed(scopes) if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Module))),
                 tree)
    keys: list[str] = []
    direct = True
    seen_base = False
    body = scope.body if isinstance(scope.body, list) else []
    top = set(map(id, body))
    for node in ast.walk(scope):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)) and node is not scope:
            continue
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == var:
                    seen_base = True
                    if isinstance(node.value, ast.Dict):
                        for key in node.value.keys:
                            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                                keys.append(key.value)
                            elif key is not None:
                                return None
                    elif not _ast_environish(node.value):
                        return None
                elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) \
                        and target.value.id == var:
                    if not (isinstance(target.slice, ast.Constant) and isinstance(target.slice.value, str)):
                        return None
                    keys.append(target.slice.value)
                    if id(node) not in top or node.lineno > call.lineno:
                        direct = False
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == var \
                and node.func.attr in ("update", "setdefault", "pop", "clear"):
            if node.func.attr == "update" and node.args and isinstance(node.args[0], ast.Dict) and \
                    all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in node.args[0].keys):
                keys.extend(k.value for k in node.args[0].keys)  # type: ignore[union-attr]
                direct = False
            elif node.func.attr == "update" and not node.args and node.keywords:
                keys.extend(k.arg for k in node.keywords if k.arg)
                direct = False
            elif node.func.attr == "setdefault" and node.args and isinstance(node.args[0], ast.Constant):
                keys.append(str(node.args[0].value))
                direct = False
            elif node.func.attr in ("pop", "clear"):
                direct = False
            else:
                return None
    if not seen_base:
        return None
    keys = list(dict.fromkeys(keys))
    if direct:
        return [(k, f"{var}[{json.dumps(k)}]") for k in keys]
    return [(k, f"{var}.get({json.dumps(k)})") for k in keys] if False else \
        [("**", f"{{k: {var}[k] for k in ({', '.join(json.dumps(k) for k in keys)},) if k in {var}}}")] if keys else []


def _ast_environish(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute) and node.attr == "environ":
        return True
    if isinstance(node, ast.Name) and node.id == "environ":
        return True
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "copy" and _ast_environish(func.value):
            return True
        if isinstance(func, ast.Name) and func.id == "dict" and len(node.args) == 1 and _ast_environish(node.args[0]):
            return True
    return False


def _ast_is_statement(tree: ast.Module, call: ast.Call) -> bool:
    """The call is a statement of its own (its value is not used)."""
    return any(isinstance(node, ast.Expr) and node.value is call for node in ast.walk(tree))


def _ast_list_functions(tree: ast.Module) -> frozenset[str]:
    """Top-level functions of the file, and methods of its top-level classes (as `self.name`),
    that return a list (annotated `-> list[...]`, or every return a list or tuple display): their
    call can be spread into a new argv."""
    out = set()
    methods = [(f"self.{m.name}", m) for c in tree.body if isinstance(c, ast.ClassDef) for m in c.body
               if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
    functions = [(n.name, n) for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    for name, node in [*functions, *methods]:
        ann = node.returns
        if ann is not None:
            base = ann.value if isinstance(ann, ast.Subscript) else ann
            if isinstance(base, ast.Name) and base.id in ("list", "List", "tuple", "Tuple", "Sequence"):
                out.add(name)
                continue
            if isinstance(base, ast.Attribute) and base.attr in ("List", "Tuple", "Sequence"):
                out.add(name)
                continue
        returns = [n for n in ast.walk(node) if isinstance(n, ast.Return)]

        def listy(expr: ast.AST | None) -> bool:
            if isinstance(expr, (ast.List, ast.Tuple, ast.ListComp)):
                return True
            if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
                return listy(expr.left) or listy(expr.right)
            return False

        if returns and all(listy(r.value) for r in returns):
            out.add(name)
    return frozenset(out)


class _RepositoryFiles:
    """The regular files of a repository, for resolving an import to its module's path."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __contains__(self, rel: object) -> bool:
        path = self.root / str(rel)
        return isinstance(rel, str) and not unsafe_reason(self.root, rel) and path.is_file()


def _imported_list_functions(root: Path, path: str, tree: ast.Module) -> frozenset[str]:
    """Functions the file imports by name from a repository module (`from .commands import
    claude_argv`) that return a list there: their call can be spread into a new argv, as a
    same-file helper's can."""
    files = _RepositoryFiles(root)
    out: set[str] = set()
    for node in tree.body:
        if not isinstance(node, ast.ImportFrom):
            continue
        rel = python_module_path(files, path, "." * node.level + (node.module or ""))
        data, cut = read_bounded(root / rel, MAX_LINKED_BYTES) if rel is not None else (b"", "none")
        if cut:
            continue
        try:
            listed = _ast_list_functions(ast.parse(data))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        out.update(a.asname or a.name for a in node.names if a.name in listed)
    return frozenset(out)


def _os_system_as_call(node: Any, subprocess_name: str) -> Any:
    """`os.system(cmd)` as `subprocess.call(["sh", "-c", cmd])`: the shell os.system runs, as an argv."""
    import libcst as cst

    args = list(node.args)
    if len(args) != 1 or args[0].keyword is not None or args[0].star:
        return None
    argv = cst.List([cst.Element(cst.SimpleString('"sh"')), cst.Element(cst.SimpleString('"-c"')),
                     cst.Element(args[0].value)])
    return cst.Call(func=cst.Attribute(value=cst.Name(subprocess_name), attr=cst.Name("call")),
                    args=[cst.Arg(value=argv)])


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
                        key_names: dict[str, tuple[str, ...]], ctx: LaunchCtx | None = None) -> tuple[str, dict[str, str]]:
    """`_rewrite_python` with libcst alone, for files this Python cannot parse: one pass over the tree.

    Returns the new text and, per site id, "" when it was rewritten or the reason it was not.
    """
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider, ScopeProvider

    if _too_deep(text):
        return text, {s.site_id: f"the file nests too deeply to rewrite safely; route the launch through {runner} by hand"
                      for s in sites}
    try:
        wrapper = MetadataWrapper(cst.parse_module(text), unsafe_skip_copy=True)  # just parsed: nothing else holds it
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
        if keys or ctx is not None:
            if scopes is None:
                try:
                    scopes = wrapper.resolve(ScopeProvider)
                except Exception:  # noqa: BLE001
                    scopes = {}
            environ, needs_import, reason = _os_environ_ref(scopes, positions, call)
            if not environ:
                outcome[site.site_id] = reason
                continue
        osname = ""
        if ctx is not None:
            if site.launcher == "os.system" or "." not in environ:
                outcome[site.site_id] = ("this Python cannot parse the file; route the launch through the runner "
                                         "by hand")
                continue
            osname = environ.rsplit(".", 1)[0]
            if not keys:
                environ = f"{osname}.environ"
        builder, reason = _py_call_builder(call, site, runner, keys, environ, ctx=ctx, osname=osname)
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


def _py_call_builder(call: Any, site: LaunchSite, runner: str, keys: tuple[str, ...],
                     environ: str, *, ctx: LaunchCtx | None = None, osname: str = "",
                     helpers: frozenset[str] = frozenset(),
                     env_hint: list[tuple[str, str]] | None = None) -> tuple[Callable[[Any], Any] | None, str]:
    """Check the call's shape; return a function that rewrites it (applied to the updated node)."""
    import libcst as cst

    args = list(call.args)
    if any(a.star for a in args):
        return None, (f"the call passes *args or **kwargs, which may set env, shell or timeout; "
                      f"route it through {runner} by hand")
    keywords = {a.keyword.value: a for a in args if a.keyword is not None}
    positional = [a for a in args if a.keyword is None]
    shell = keywords.get("shell")
    via_shell = False
    if shell is not None and not _is_false(shell.value):
        if ctx is None or not (isinstance(shell.value, cst.Name) and shell.value.value == "True"):
            if isinstance(shell.value, cst.Name) and shell.value.value == "True":
                return None, "shell=True: split the command into an argv list first"
            return None, "shell= may be true: split the command into an argv list and drop shell= first"
        via_shell = True
    if "executable" in keywords or len(positional) > 2:
        return None, (f"executable= picks the program, so a runner put in front of the argv would not run; "
                      f"route it through {runner} by hand")
    argv = positional[0] if positional else keywords.get("args")
    if argv is None:
        return None, "the call passes no argv"
    value = argv.value
    if via_shell:
        if isinstance(value, (cst.List, cst.Tuple)):
            return None, "shell=True with an argv list: split the command into one argv list first"
    elif isinstance(value, (cst.List, cst.Tuple)):
        if any(isinstance(e, cst.StarredElement) for e in value.elements[:1]):
            pass
        elif value.elements and string_value(value.elements[0].value) == runner:
            return None, "already goes through the runner"
    elif isinstance(value, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
        return None, "the command is one string; split it into an argv list first"
    elif isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value in helpers:
        pass  # a same-file helper that returns a list: spread into the new argv
    elif isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and isinstance(value.func.value, cst.Name) \
            and value.func.value.value in ("self", "cls") and f"self.{value.func.attr.value}" in helpers:
        pass  # a method of the class that returns a list: the same
    elif not isinstance(value, (cst.Name, cst.Attribute)):
        return None, "the argv is not a list or a list variable"
    argv_index = args.index(argv)
    env_value, cwd_value = None, None
    if ctx is None:
        env_items = [f'"PATH": "{MINIMAL_PATH}"'] + [f'{json.dumps(k)}: {environ}[{json.dumps(k)}]' for k in keys]
        env_value = cst.parse_expression("{" + ", ".join(env_items) + "}")
    else:
        cwd = keywords.get("cwd")
        target = f"{osname}.path.abspath({_code(cwd.value)})" if cwd is not None else f"{osname}.getcwd()"
        env_value = _py_env(keywords.get("env"), keys, environ, target, ctx, env_hint)
        cwd_value = cst.parse_expression(_py_root(osname, ctx.depth))
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
                if via_shell:
                    shell_argv = cst.List([cst.Element(runner_node), cst.Element(cst.SimpleString('"sh"')),
                                           cst.Element(cst.SimpleString('"-c"')), cst.Element(arg.value)])
                    arg = arg.with_changes(value=shell_argv)
                else:
                    arg = arg.with_changes(value=_prefix_argv(arg.value, runner_node))
            elif name == "shell" and via_shell:
                continue
            elif name == "env":
                arg = arg.with_changes(value=env_value)
            elif name == "cwd" and cwd_value is not None:
                arg = arg.with_changes(value=cwd_value)
            elif name == "timeout" and add_timeout:
                arg = arg.with_changes(value=cst.Integer(PY_TIMEOUT))
            new_args.append(arg)
        extra = []
        if cwd_value is not None and "cwd" not in keywords:
            extra.append(keyword("cwd", cwd_value))
        if "env" not in keywords:
            extra.append(keyword("env", env_value))
        if add_timeout and timeout is None:
            extra.append(keyword("timeout", cst.Integer(PY_TIMEOUT)))
        return updated.with_changes(args=_append_args(updated, new_args, extra))

    return build, ""


def _code(node: Any) -> str:
    import libcst as cst

    return cst.Module(body=[]).code_for_node(node)


def _py_root(osname: str, depth: int) -> str:
    """The repository root, from the file's own location."""
    here = f"{osname}.path.dirname({osname}.path.realpath(__file__))"
    if depth == 0:
        return here
    return f"{osname}.path.join({here}, {json.dumps('/'.join(['..'] * depth))})"


def _environish(node: Any, osname: str) -> bool:
    """`os.environ`, `os.environ.copy()`, `dict(os.environ)`, `environ`: the operator's whole environment."""
    import libcst as cst

    if isinstance(node, cst.Attribute) and node.attr.value == "environ":
        return True
    if isinstance(node, cst.Name) and node.value == "environ":
        return True
    if isinstance(node, cst.Call):
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "copy" and _environish(func.value, osname):
            return True
        if isinstance(func, cst.Name) and func.value == "dict" and len(node.args) == 1 and node.args[0].keyword is None \
                and _environish(node.args[0].value, osname):
            return True
    return False


def _env_entries(node: Any, osname: str) -> tuple[list[tuple[str, str]], list[str]] | None:
    """(name, value code) entries a Python env expression sets on top of the inherited environment,
    and notes about what was dropped; None when its entries cannot be seen."""
    import libcst as cst

    notes: list[str] = []
    if node is None or _environish(node, osname):
        return [], ([] if node is None else ["the inherited environment"])
    if isinstance(node, cst.Dict):
        out = []
        for element in node.elements:
            if isinstance(element, cst.StarredDictElement):
                if _environish(element.value, osname):
                    notes.append("the inherited environment")
                    continue
                return None
            key = string_value(element.key)
            if key is None:
                return None
            out.append((key, _code(element.value)))
        return out, notes
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "dict":
        out = []
        for arg in node.args:
            if arg.keyword is None and not arg.star and _environish(arg.value, osname):
                notes.append("the inherited environment")
            elif arg.keyword is not None:
                out.append((arg.keyword.value, _code(arg.value)))
            elif arg.star == "**" and _environish(arg.value, osname):
                notes.append("the inherited environment")
            elif arg.keyword is None and not arg.star and isinstance(arg.value, cst.Dict):
                inner = _env_entries(arg.value, osname)
                if inner is None:
                    return None
                out.extend(inner[0])
            else:
                return None
        return out, notes
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        left, right = _env_entries(node.left, osname), _env_entries(node.right, osname)
        if left is None or right is None:
            return None
        return left[0] + right[0], left[1] + right[1]
    return None


def _py_env(env: Any, keys: tuple[str, ...], environ: str, target: str, ctx: LaunchCtx,
            hint: list[tuple[str, str]] | None = None) -> Any:
    """The explicit environment of an anchored launch: PATH, the original working folder, every
    harmless entry the launch set (kept as written), the model key by name."""
    import libcst as cst

    osname = environ.rsplit(".", 1)[0] if "." in environ else "os"
    items = [f'"PATH": "{MINIMAL_PATH}"', f'"BLASTWALL_TARGET": {target}']
    seen = _env_entries(env.value if env is not None else None, osname)
    entries = seen[0] if seen else (hint or [])
    kept: list[str] = []
    set_keys: set[str] = set()
    guarded = [code for name, code in entries if name == "**"]
    if guarded:
        names = re.findall(r'"([A-Za-z_][A-Za-z0-9_]*)"', guarded[0])
        allowed = [n for n in names if env_entry_kept(n, keys)[0]]
        if allowed:
            var = guarded[0].split("[", 1)[0].split(": ", 1)[1]
            items.append(f"**{{k: {var}[k] for k in ({', '.join(json.dumps(n) for n in allowed)},) if k in {var}}}")
            kept.extend(allowed)
        entries = [e for e in entries if e[0] != "**"]
    for name, code in entries:
        ok, _why = env_entry_kept(name, keys)
        if ok:
            items.append(f"{json.dumps(name)}: {code}")
            kept.append(name)
            set_keys.add(name)
    for key in keys:
        if key not in set_keys:
            items.append(f"{json.dumps(key)}: {environ}[{json.dumps(key)}]")
    extra = _pass_env_value([k for k in kept if k not in keys], ctx)
    if extra:
        items.append(f'"BLASTWALL_PASS_ENV": {json.dumps(extra)}')
    return cst.parse_expression("{" + ", ".join(items) + "}")


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
    for node in descendants(root):
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


def _js_launch(text: str, site: LaunchSite, runner: str) -> tuple[bytes, str, Any, Any] | str:
    """The file parsed and the site's call found again: (data, dialect, tree, call), or why not."""
    from scanner.parse.trees import parse

    data = text.encode("utf-8")
    dialect = _js_dialect(site.location.path)
    tree = parse(dialect, data)
    if tree.root_node.has_error:
        return f"the file does not parse cleanly; route the launch through {runner} by hand"
    call = _find_ts_call(tree, text, site)
    if call is None:
        return "could not find the call again"
    return data, dialect, tree, call


def _rewrite_js(text: str, site: LaunchSite, runner: str, keys: tuple[str, ...],
                ctx: LaunchCtx | None = None) -> tuple[str | None, str]:
    """child_process launch -> runner(program, [original program, ...args], {...options, env, timeout}, callback);
    with `ctx`, anchored: the options also set `cwd` to the repository root (see LaunchCtx)."""
    found = _js_launch(text, site, runner)
    if isinstance(found, str):
        return None, found
    data, dialect, tree, call = found
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
    root_text = ""
    if ctx is not None:
        root_text = _js_root(ctx)
        obj = _js_unwrap(options_node) if options_node is not None else None
        if obj is not None and obj.type == "object" and obj is options_node:
            cwd_prop = _js_prop(data, obj, "cwd")
            cwd_value = cwd_prop.child_by_field_name("value") if cwd_prop is not None and cwd_prop.type == "pair" \
                else cwd_prop
            target = _js_target(src(cwd_value)) if cwd_value is not None else "process.cwd()"
            env_prop = _js_prop(data, obj, "env")
            env_node = env_prop.child_by_field_name("value") if env_prop is not None and env_prop.type == "pair" \
                else env_prop
            entries = _js_env_entries(data, env_node) if env_node is not None else []
        elif options_node is not None:
            target = _js_target(f"{wrap(options_node)}.cwd ?? \".\"")
            entries = []
        else:
            target, entries = "process.cwd()", []
        env_text = _js_env_text(keys, target, entries or [], ctx)
        fresh_options = "{ cwd: " + root_text + ", env: " + env_text + ", timeout: " + JS_TIMEOUT + " }"
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
            more, reason = _merge_js_options(data, obj, env_text, root_text)
            if more is None:
                return None, reason
            edits.extend(more)
        else:
            cwd_part = f", cwd: {root_text}" if root_text else ""
            edits.append((options_node.start_byte, options_node.end_byte,
                          "{ timeout: " + JS_TIMEOUT + ", ..." + wrap(options_node) + cwd_part + ", env: " + env_text + " }"))

    return _js_edited(data, edits, dialect, runner)


_JS_SHELL_LAUNCHERS = {"child_process.exec": "execFile", "child_process.execSync": "execFileSync"}


def _rewrite_js_shell(text: str, site: LaunchSite, runner: str, keys: tuple[str, ...],
                      ctx: LaunchCtx) -> tuple[str | None, str]:
    """`exec`/`execSync` of a shell command string, anchored: a command written as a string or
    template literal gets the runner in front of it inside the literal (the shell still parses it
    the same way); any other command becomes `execFile(Sync)(runner, ["sh", "-c", command])`,
    which is what exec does with /bin/sh. Either way the options gain cwd, env and a timeout."""
    found = _js_launch(text, site, runner)
    if isinstance(found, str):
        return None, found
    data, dialect, tree, call = found
    src = lambda n: data[n.start_byte:n.end_byte].decode("utf-8")  # noqa: E731
    arguments = call.child_by_field_name("arguments")
    items = [c for c in (arguments.named_children if arguments else []) if c.type != "comment"]
    if not items or any(c.type == "spread_element" for c in items):
        return None, f"the call's arguments are not (command, options, callback); route it through {runner} by hand"
    command, extra = items[0], items[1:]
    options = next((c for c in extra if _js_unwrap(c).type == "object"), None)
    if any(c is not options and _js_kind(tree.root_node, data, c) not in ("function", "nullish") for c in extra):
        return None, f"cannot tell which argument holds the options; route the launch through {runner} by hand"
    edits: list[tuple[int, int, str]] = []
    cmd = _js_unwrap(command)
    callee = call.child_by_field_name("function")
    promisified = _js_promisified_exec(data, tree.root_node, callee) if callee is not None else None
    if promisified is not None:
        # `run = promisify(exec)`: the same call through promisify(execFile), which resolves to
        # the same { stdout, stderr }, with the runner as the program and the command for sh -c.
        promisify_text, exec_node = promisified
        if exec_node.type == "identifier":
            binding = _js_bind_named(data, tree.root_node, src(exec_node), "execFile")
            if binding is None:
                return None, f"cannot add execFile to the child_process import; route the launch through {runner} by hand"
            edits.extend(binding)
            exec_file = "execFile"
        else:
            obj = exec_node.child_by_field_name("object")
            exec_file = f"{src(obj)}.execFile"
        edits.append((callee.start_byte, callee.end_byte, f"{promisify_text}({exec_file})"))
        edits.append((command.start_byte, command.end_byte, f'{json.dumps(runner)}, ["sh", "-c", {src(command)}]'))
    elif cmd.type in ("string", "template_string") and cmd is command:
        body = src(cmd)[1:]
        if body.lstrip().startswith((runner, runner.lstrip("./"))):
            return None, "already goes through the runner"
        lead = len(body) - len(body.lstrip())
        at = cmd.start_byte + 1 + len(body[:lead].encode("utf-8"))
        edits.append((at, at, runner + " "))
    else:
        name = _JS_SHELL_LAUNCHERS.get(site.launcher)
        if callee is None or name is None:
            return None, f"{site.launcher} is not a shape blastwall rewrites; route it through {runner} by hand"
        if callee.type == "member_expression":
            prop = callee.child_by_field_name("property")
            edits.append((prop.start_byte, prop.end_byte, name))
        elif callee.type == "identifier" and src(callee) in ("exec", "execSync"):
            binding = _js_bind_named(data, tree.root_node, src(callee), name)
            if binding is None:
                return None, f"cannot add {name} to the child_process import; route the launch through {runner} by hand"
            edits.extend(binding)
            edits.append((callee.start_byte, callee.end_byte, name))
        else:
            return None, f"the launcher is reached through `{src(callee)[:40]}`; route the launch through {runner} by hand"
        edits.append((command.start_byte, command.end_byte, f'{json.dumps(runner)}, ["sh", "-c", {src(command)}]'))
    root_text = _js_root(ctx)
    if options is not None and _js_unwrap(options) is options:
        cwd_prop = _js_prop(data, options, "cwd")
        cwd_value = cwd_prop.child_by_field_name("value") if cwd_prop is not None and cwd_prop.type == "pair" else cwd_prop
        env_prop = _js_prop(data, options, "env")
        env_node = env_prop.child_by_field_name("value") if env_prop is not None and env_prop.type == "pair" else env_prop
        target = _js_target(src(cwd_value)) if cwd_value is not None else "process.cwd()"
        entries = (_js_env_entries(data, env_node) or []) if env_node is not None else []
        more, reason = _merge_js_options(data, options, _js_env_text(keys, target, entries, ctx), root_text)
        if more is None:
            return None, reason
        edits.extend(more)
    elif options is not None:
        return None, f"the options are not an object literal; route the launch through {runner} by hand"
    else:
        fresh = "{ cwd: " + root_text + ", env: " + _js_env_text(keys, "process.cwd()", [], ctx) + \
            ", timeout: " + JS_TIMEOUT + " }"
        edits.append((command.end_byte, command.end_byte, ", " + fresh))
    return _js_edited(data, edits, dialect, runner)


def _js_edited(data: bytes, edits: list[tuple[int, int, str]], dialect: str, runner: str) -> tuple[str | None, str]:
    """The file with its byte-range edits made (last first, so offsets hold), if it parses back."""
    out = data
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        out = out[:start] + replacement.encode("utf-8") + out[end:]
    new = out.decode("utf-8")
    if not _js_parses(dialect, new):
        return None, f"the rewrite would not parse back; route the launch through {runner} by hand"
    return new, ""


def _js_promisified_exec(data: bytes, root: Any, callee: Any) -> tuple[str, Any] | None:
    """For a call through a name bound once to `promisify(exec)` (or `util.promisify(cp.exec)`):
    the promisify function's spelling and the `exec` node; None for anything else."""
    if callee.type != "identifier":
        return None
    name = data[callee.start_byte:callee.end_byte]
    found = []
    for node in descendants(root):
        if node.type == "variable_declarator":
            ident = node.child_by_field_name("name")
            if ident is not None and data[ident.start_byte:ident.end_byte] == name:
                found.append(node.child_by_field_name("value"))
        elif node.type in ("assignment_expression", "augmented_assignment_expression"):
            left = node.child_by_field_name("left")
            if left is not None and data[left.start_byte:left.end_byte] == name:
                return None  # reassigned somewhere: which function it holds is not plain
    if len(found) != 1 or found[0] is None or found[0].type != "call_expression":
        return None
    value = found[0]
    function = value.child_by_field_name("function")
    arguments = value.child_by_field_name("arguments")
    args = [c for c in (arguments.named_children if arguments else []) if c.type != "comment"]
    text = lambda n: data[n.start_byte:n.end_byte].decode("utf-8")  # noqa: E731
    if function is None or not re.fullmatch(r"(?:[A-Za-z_$][\w$]*\.)?promisify", text(function)) or len(args) != 1:
        return None
    target = args[0]
    if target.type == "identifier" and text(target) == "exec":
        return text(function), target
    if target.type == "member_expression" and text(target.child_by_field_name("property")) == "exec" \
            and target.child_by_field_name("object").type == "identifier":
        return text(function), target
    return None


def _js_bind_named(data: bytes, root: Any, have: str, want: str) -> list[tuple[int, int, str]] | None:
    """Edits that make `want` bound next to `have` in the child_process import or require
    destructuring ([] when it is bound already, None when there is no such statement)."""
    src = lambda n: data[n.start_byte:n.end_byte].decode("utf-8")  # noqa: E731
    stack = [root]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        text = src(node)
        if node.type in ("named_imports", "object_pattern") and re.search(rf"\b{have}\b", text):
            parent = node.parent
            holder = src(parent.parent) if parent is not None and parent.parent is not None else ""
            if "child_process" not in holder and "child_process" not in src(parent or node):
                continue
            if re.search(rf"\b{want}\b", text):
                return []
            names = [c for c in node.named_children if c.type != "comment"]
            last = names[-1]
            return [(last.end_byte, last.end_byte, f", {want}")]
    return None


def _merge_js_options(data: bytes, obj: Any, env_text: str,
                      cwd_text: str = "") -> tuple[list[tuple[int, int, str]] | None, str]:
    """Edits that set `env` (and a timeout when there is none, and `cwd` when given) inside an
    options object literal."""
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
    if cwd_text:
        cwds = [i for i, (key, _) in enumerate(keyed) if key == "cwd"]
        if cwds:
            prop = props[cwds[-1]]
            if any(key == "..." for key, _ in keyed[cwds[-1] + 1:]):
                return None, "an object spread after `cwd` in the options may replace it; set cwd by hand"
            value = prop.child_by_field_name("value") if prop.type == "pair" else None
            if value is not None:
                edits.append((value.start_byte, value.end_byte, cwd_text))
            else:
                edits.append((prop.start_byte, prop.end_byte, f"cwd: {cwd_text}"))
        else:
            added.insert(0, f"cwd: {cwd_text}")
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


def _js_root(ctx: LaunchCtx) -> str:
    """The repository root from the module's own location (CommonJS or ES module)."""
    up = "/".join([".."] * ctx.depth)
    if ctx.esm:
        return f'new URL({json.dumps(up or ".")}, import.meta.url)'
    return "__dirname" if not up else f'__dirname + {json.dumps("/" + up)}'


def _js_target(cwd_code: str) -> str:
    """The absolute folder a launch ran in, from its `cwd` option (works in either module system)."""
    return f'((dir) => dir.startsWith("/") ? dir : process.cwd() + "/" + dir)(String({cwd_code}))'


def _js_env_entries(data: bytes, node: Any) -> list[tuple[str, str]] | None:
    """(name, code) of the entries an env object literal sets; None when they cannot be seen."""
    node = _js_unwrap(node)
    src = lambda n: data[n.start_byte : n.end_byte].decode("utf-8")  # noqa: E731
    if node.type != "object":
        return None
    out = []
    for prop in node.named_children:
        if prop.type == "comment":
            continue
        key = _js_prop_key(data, prop)
        if key == "...":
            continue  # `...process.env` and other spreads: not kept
        if key == "?":
            return None
        if prop.type == "shorthand_property_identifier":
            out.append((key, key))
        elif prop.type == "pair":
            value = prop.child_by_field_name("value")
            if value is None:
                return None
            out.append((key, src(value)))
    return out


def _js_env_text(keys: tuple[str, ...], target: str, entries: list[tuple[str, str]], ctx: LaunchCtx) -> str:
    items = [f'PATH: "{MINIMAL_PATH}"', f"BLASTWALL_TARGET: {target}"]
    kept, set_keys = [], set()
    for name, code in entries:
        ok, _why = env_entry_kept(name, keys)
        if not ok:
            continue
        label = name if re.fullmatch(r"[A-Za-z_$][\w$]*", name) else json.dumps(name)
        items.append(f"{label}: {code}")
        kept.append(name)
        set_keys.add(name)
    for k in keys:
        if k in set_keys:
            continue
        items.append(f"{k}: process.env.{k}" if re.fullmatch(r"[A-Za-z_$][\w$]*", k)
                     else f"{json.dumps(k)}: process.env[{json.dumps(k)}]")
    extra = _pass_env_value([k for k in kept if k not in keys], ctx)
    if extra:
        items.append(f"BLASTWALL_PASS_ENV: {json.dumps(extra)}")
    return "{ " + ", ".join(items) + " }"


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


def _report_plan(root: Path, result: ScanResult) -> ApplyPlan:
    from scanner.remediation.tailor import key_names, tailored_spec

    try:
        spec = tailored_spec(result)
    except Exception:  # noqa: BLE001 - a spec value that cannot be rendered: no runner names then
        spec = None
    runner_env = frozenset((*spec.secrets, *spec.pass_env)) if spec is not None else frozenset()
    return plan_apply(root, result, "./sandbox/agent-bwrap.sh", key_names(result), runner_env=runner_env, preview=True)


def finding_fixes(root: Path, result: ScanResult) -> dict[tuple[str, str], Any]:
    """(site id, rule id) -> FindingFix(before, after, language, rewrite) for the report's FIX
    section, per finding and (rule id "") per site; {} when no rewrite can be planned."""
    from scanner.remediation.snippets import fixes_from_plan

    try:
        return fixes_from_plan(root, result, _report_plan(root, result))
    except Exception:  # noqa: BLE001 - the report must render even if a rewrite cannot be planned
        return {}


def fix_snippets(root: Path, result: ScanResult, runner: str = "./sandbox/agent-bwrap.sh") -> dict[str, tuple[str, str]]:
    """site_id -> (before, after) lines of the site's own rewrite, for the report's FIX section;
    also "site_id#rule_id" -> (before, after) for each finding with a fix of its own (the compose
    line, the workflow permission, the SDK option, the agent's own key through a broker, the
    framework's safe executor). `finding_fixes` gives the same with the snippet's language and
    whether `fix --apply` writes it."""
    from scanner.remediation.snippets import site_snippets

    del runner  # the rewrite reaches the runner by its path from the repository root
    return site_snippets(finding_fixes(root, result))


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
