"""Cross-file links for workflows and compose files (used by `scanner.project.links`).

Workflow entry points: a job step that starts something in the repository — `python x.py`,
`python -m pkg.mod`, `uv run …`, `poetry run …`, `node x.js`, `npx tsx x.ts`, `bash x.sh`,
`./x.sh`, `npm run y`, `make t`, a local composite action (`uses: ./path`) or a local reusable
workflow (`jobs.<id>.uses: ./.github/workflows/x.yml`) — is followed to the files it runs (and,
for Python and JavaScript, the repository modules those import, for shell scripts the scripts
they start). When an agent is launched there, the step itself is a launch site on the runner:
it is judged with the job's token, permissions, secrets, trigger and schedule, and the launch
found in the file is bounded by the job's timeout.

Scheduler entry points (`scheduler_links`): a crontab line, a launchd job, a systemd service or a
crontab line a script installs (read by `scanner.launch.schedulers`) is followed the same way;
paths written for another machine (`/Users/me/proj/scripts/run.sh`, `~/proj/run.sh`) are matched
by their longest suffix that names exactly one repository file. An entry that reaches an agent is
a launch site with no person in the loop, judged by the launch it reaches.

Inside shell scripts, paths built from the script's own location (`$SCRIPT_DIR/run.sh`,
`$(dirname "$0")/../run.sh`, after `cd "$(dirname "$0")"`) are followed too.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field, replace

from scanner.catalog import Catalog
from scanner.launch.base import Analysis
from scanner.launch.cfgjudge import ConfigTools
from scanner.launch.shell import REPO_ROOT
from scanner.parse.trees import SourceFile
from scanner.project.files import ProjectFiles
from scanner.project.module_paths import JS_EXTENSIONS, js_module_path, python_import_specs, python_module_path
from scanner.project.summaries import IMPORTS, SCHEDULED, PyImport, js_imports, python_imports, scheduled
from scanner.model import Boundary, Fact, FactKind, Finding, LaunchSite, Location

_WORKFLOW = re.compile(r"(^|/)\.github/workflows/[^/]+\.ya?ml$")
_ACTION_FILES = ("action.yml", "action.yaml")
_CONTAINED = (Boundary.CONTAINER, Boundary.VM, Boundary.OS_SANDBOX, Boundary.OTHER_USER)
_BYPASS_KINDS = ("bypass-flag", "bypass-default", "self-declared-sandbox")
MAX_DEPTH = 5  # file hops from a step: step -> script -> module -> module ...
MAX_FILES = 2000  # files followed in one scan (each once: the walk is memoised)

_PY = re.compile(r"^(?:.*/)?(?:python(?:\d+(?:\.\d+)*)?|py|pypy3?)$")
_PY_VALUE_FLAGS = {"-X", "-W", "--check-hash-based-pycs"}
_RUN_PREFIXES = {"uv": "run", "poetry": "run", "pipenv": "run", "pdm": "run", "hatch": "run", "rye": "run",
                 "conda": "run", "mamba": "run", "micromamba": "run", "pixi": "run"}
_RUNNER_VALUE_FLAGS = {"--with", "--python", "-p", "--project", "--directory", "--env-file", "--extra", "--group",
                       "--package", "--index", "--with-requirements", "--only-group", "--no-group", "-n", "--name",
                       "--prefix", "-e", "--environment", "--env", "--from", "--with-editable", "-C", "--cwd"}
_NODE = {"node", "nodejs", "tsx", "ts-node", "ts-node-esm", "esno", "esrun", "vite-node", "jiti", "babel-node",
         "bun", "deno"}
_NODE_VALUE_FLAGS = {"-r", "--require", "--import", "--loader", "--experimental-loader", "--env-file", "-C",
                     "--conditions", "--tsconfig", "--project", "-P", "--config", "-c", "--inspect-port"}
_PKG_RUNNERS = {"npx", "bunx", "pnpx"}
_PKG_EXEC = {("pnpm", "exec"), ("pnpm", "dlx"), ("yarn", "exec"), ("yarn", "dlx"), ("npm", "exec"), ("bun", "x")}
_NPM_LIFECYCLE = {"test", "t", "start", "stop", "restart"}
_YARN_BUILTINS = {"install", "add", "remove", "upgrade", "init", "config", "cache", "info", "list", "link", "unlink",
                  "publish", "login", "logout", "pack", "why", "workspaces", "workspace", "set", "plugin", "dlx",
                  "exec", "node", "version", "audit", "outdated", "global", "import", "licenses", "owner", "tag",
                  "team", "upgrade-interactive", "bin", "create", "dedupe", "patch", "rebuild", "up", "i", "ci"}
_SHELLS = {"bash", "sh", "zsh", "dash", "ksh", "source", "."}
_MAKE = {"make", "gmake"}
_TRANSPARENT = {"env", "time", "nice", "nohup", "exec", "command", "stdbuf", "xvfb-run", "caffeinate", "unbuffer",
                "setsid", "chronic", "cronic", "run-one"}
_WORKSPACE = ("${{ github.workspace }}/", "${{github.workspace}}/", "$GITHUB_WORKSPACE/", "${GITHUB_WORKSPACE}/",
              "$PWD/", "${PWD}/", "$(pwd)/", REPO_ROOT)
# Programs in the system's folders (`/bin/bash`, `/usr/bin/env`) are read by their names; a
# repository file is never matched there unless its name is a script's.
_SYSTEM_BIN = {"/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/opt/homebrew/bin",
               "/opt/local/bin", "/snap/bin", "/usr/libexec"}
_HOME = ("~/", "$HOME/", "${HOME}/")
_SCRATCH = {"tmp", "dev", "proc", "sys", "run"}  # never a checkout
_ACTION_PATH = ("${{ github.action_path }}/", "${{github.action_path}}/", "$GITHUB_ACTION_PATH/",
                "${GITHUB_ACTION_PATH}/")
_SCRIPT_EXT = (".sh", ".bash", ".zsh", ".py", ".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".tsx", ".jsx", ".rb", ".pl")
_JS_EXT = JS_EXTENSIONS


@dataclass
class StepReach:
    """What one command or `uses:` of a step reaches."""

    location: Location
    command: str
    target: str  # the first file it runs
    sites: list[LaunchSite] = field(default_factory=list)


class EntryResolver:
    """Follows commands to the repository files they run, and those files to the agent launches
    in them (memoised per file)."""

    def __init__(self, project: ProjectFiles, tools: ConfigTools, paths: set[str], by_path: dict[str, list[LaunchSite]],
                 foreign: bool = False, contained: bool = False):
        self.project = project
        self.tools = tools
        self.catalog = tools.catalog
        self.paths = paths  # the files a command may name: those blastwall reads
        self.by_path = by_path
        self._memo: dict[tuple[str, str, str], list[LaunchSite]] = {}
        self.budget = MAX_FILES
        # `foreign`: absolute and home paths (written on the author's machine) are matched by
        # suffix. `contained`: contained launches are reached too (their entry is judged by them).
        self.foreign = foreign
        self.contained = contained
        self._by_base: dict[str, list[str]] | None = None
        self._dirs: set[str] | None = None

    # -- files ------------------------------------------------------------------------------

    def source(self, rel: str) -> SourceFile | None:
        return self.project.source(rel) if rel in self.paths else None

    def workflow(self, src: SourceFile):  # type: ignore[no-untyped-def]
        """A workflow or action file read with the parse its analyzer already made."""
        from scanner.launch.workflow import WorkflowReader

        return WorkflowReader(Analysis(src, "workflow", self.tools, self.project))

    def resolve(self, spelled: str, base: str, action_dir: str = "") -> str | None:
        """A path as a command spells it, as a repository file, or None."""
        text = spelled.strip().strip("'\"")
        for prefix in _ACTION_PATH:
            if text.startswith(prefix):
                text, base = text[len(prefix):], action_dir
                break
        for prefix in _WORKSPACE:
            if text.startswith(prefix):
                text, base = text[len(prefix):], ""
                break
        if self.foreign and text.startswith(("/", *_HOME)):
            return self.foreign_file(text)
        if not text or "$" in text or "`" in text or text.startswith(("/", "~", "-")):
            return None
        for candidate in (posixpath.join(base, text), text):
            rel = posixpath.normpath(candidate)
            if not rel.startswith("..") and rel in self.paths:
                return rel
        return None

    def resolve_dir(self, spelled: str, base: str) -> str | None:
        text = spelled.strip().strip("'\"")
        for prefix in _WORKSPACE:
            if text.startswith(prefix) or text == prefix.rstrip("/"):
                text, base = text[len(prefix):], ""
                break
        if self.foreign and text.startswith(("/", *_HOME, "~")):
            return self.foreign_dir(text)
        if "$" in text or "`" in text or text.startswith(("/", "~", "-")):
            return None
        rel = posixpath.normpath(posixpath.join(base, text)) if text else ""
        if rel in (".", ""):
            return ""
        return None if rel.startswith("..") else rel

    # -- paths written on another machine ----------------------------------------------------

    def _foreign_parts(self, text: str) -> list[str] | None:
        for prefix in (*_HOME, "~"):
            if text.startswith(prefix):
                text = text[len(prefix):]
                break
        else:
            if not text.startswith("/"):
                return None
        if "$" in text or "`" in text or "%" in text:
            return None
        parts = [p for p in posixpath.normpath("/" + text).split("/") if p]
        if not parts or ".." in parts or (text.startswith("/") and parts[0] in _SCRATCH):
            return None
        return parts

    def foreign_file(self, spelled: str) -> str | None:
        """An absolute or home path from another machine, as the repository file named by its
        longest suffix that matches exactly one file (`/Users/me/proj/scripts/run.sh` ->
        `scripts/run.sh`); a program in a system folder only when its name is a script's."""
        parts = self._foreign_parts(spelled.strip().strip("'\""))
        if not parts:
            return None
        if "/" + "/".join(parts[:-1]) in _SYSTEM_BIN and not parts[-1].endswith(_SCRIPT_EXT):
            return None
        if self._by_base is None:
            self._by_base = {}
            for path in sorted(self.paths):
                self._by_base.setdefault(posixpath.basename(path), []).append(path)
        candidates = self._by_base.get(parts[-1], [])
        for k in range(len(parts), 0, -1):
            suffix = "/".join(parts[-k:])
            hits = [c for c in candidates if c == suffix or c.endswith("/" + suffix)]
            if hits:
                return hits[0] if len(hits) == 1 else None
        return None

    def foreign_dir(self, spelled: str) -> str:
        """A folder from another machine: the repository folder named by its longest suffix that
        matches exactly one folder, else the repository root (a checkout on that machine)."""
        parts = self._foreign_parts(spelled.strip().strip("'\"")) or []
        if self._dirs is None:
            self._dirs = {posixpath.dirname(p) for p in self.paths} - {""}
            for d in list(self._dirs):
                while "/" in d:
                    d = posixpath.dirname(d)
                    self._dirs.add(d)
        for k in range(len(parts), 0, -1):
            suffix = "/".join(parts[-k:])
            hits = [d for d in self._dirs if d == suffix or d.endswith("/" + suffix)]
            if hits:
                return hits[0] if len(hits) == 1 else ""
        return ""

    def agent_sites(self, rel: str, lines: tuple[int, int] | None = None) -> list[LaunchSite]:
        out = []
        for site in self.by_path.get(rel, []):
            if site.agent == "unknown" or (site.containment.boundary in _CONTAINED and not self.contained):
                continue
            if lines is not None and not (lines[0] <= site.location.line <= lines[1]):
                continue
            out.append(site)
        return out

    def reach_file(self, rel: str, base: str, depth: int, lines: tuple[int, int] | None = None,
                   part: str = "") -> list[LaunchSite]:
        key = (rel, base, part)
        if key in self._memo:
            return self._memo[key]
        if depth > MAX_DEPTH or self.budget <= 0:
            return []  # not memoised: a shorter path may still reach it whole
        self._memo[key] = []  # a cycle reaches nothing new
        self.budget -= 1
        found = list(self.agent_sites(rel, lines))
        found.extend(self._follow(rel, base, depth, part))
        unique = list({s.site_id: s for s in found}.values())
        self._memo[key] = unique
        return unique

    def _follow(self, rel: str, base: str, depth: int, part: str) -> list[LaunchSite]:
        name = posixpath.basename(rel)
        here = posixpath.dirname(rel)
        out: list[LaunchSite] = []
        # Source files are followed through their import summary (kept by analysis; computed
        # here only for files no analyzer read), never re-read for it.
        if rel.endswith(".py"):
            return self._python_modules(rel, self.project.parsed(rel, IMPORTS, lambda s: python_imports(s.text)), base, depth)
        if rel.endswith(_JS_EXT):
            return self._js_modules(rel, self.project.parsed(rel, IMPORTS, lambda s: js_imports(s.text)), base, depth)
        src = self.source(rel)
        if src is None:
            return out
        if name in _ACTION_FILES or _WORKFLOW.search(rel):
            return self._workflow_file(rel, src, depth)
        if name == "package.json":
            return self._npm_script(rel, src, part, depth)
        if name in ("Makefile", "makefile", "GNUmakefile") or name.endswith(".mk"):
            return self._make_target(rel, src, part, depth)
        shebang = src.text.split("\n", 1)[0] if src.text.startswith("#!") else ""
        if "python" in shebang:
            return self._python_modules(rel, python_imports(src.text), base, depth)
        if re.search(r"\b(node|tsx|bun|deno)\b", shebang):
            return self._js_modules(rel, js_imports(src.text), base, depth)
        if rel.endswith((".sh", ".bash", ".zsh", ".ksh")) or "." not in name or src.text.startswith("#!"):
            if shebang and not re.match(r"#!.*\b(ba|z|k|da)?sh\b", shebang):
                return out
            from scanner.launch.shell import ShellText

            text = ShellText(src, src.data)
            moved: str | None = None  # after `cd "$(dirname "$0")/.."`: where later commands run
            for _node, words in text.commands():
                texts = [_from_script(text, w.text) for w in words]
                if len(texts) == 2 and texts[0] == "cd":
                    if texts[1].startswith(REPO_ROOT) or (self.foreign and texts[1].startswith(("/", "~", "$HOME"))):
                        moved = self.resolve_dir(texts[1], here)
                    continue
                bases = ([moved] if moved is not None else []) + [base, here]
                for base_dir in dict.fromkeys(bases):
                    out.extend(self.reach_command(texts, base_dir, depth + 1, here))
        return out

    # -- commands ---------------------------------------------------------------------------

    def targets(self, words: list[str], base: str, action_dir: str = "") -> list[tuple[str, str, str]]:
        """The repository files a command runs: (kind, path, part), part = npm script or make target."""
        words = [w for w in words if w]
        if words:
            words[0] = _program(words[0])
        while words and (re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]) or words[0] in _TRANSPARENT):
            head = words.pop(0)
            if head in ("env",):
                while words and (words[0].startswith("-") or "=" in words[0]):
                    words.pop(0)
            if head == "nice" and words[:1] == ["-n"]:
                words = words[2:]
            if words:
                words[0] = _program(words[0])
        if words and words[0] in ("timeout", "gtimeout"):
            words = _skip_flags(words[1:], {"-s", "--signal", "-k", "--kill-after"})[1:]
            if words:
                words[0] = _program(words[0])
        if words and words[0] == "flock":  # `flock [-n] LOCKFILE cmd ...` / `flock LOCKFILE -c "cmd"` (cron jobs)
            words = _skip_flags(words[1:], {"-w", "--wait", "--timeout", "-E", "--conflict-exit-code"})[1:]
            if words[:1] in (["-c"], ["--command"]) and len(words) > 1:
                return [("inline", words[1], base)]
            return self.targets(words, base, action_dir) if words else []
        if not words:
            return []
        head = words[0]
        base_name = posixpath.basename(head)
        rest = words[1:]
        if _elsewhere(self.catalog, [base_name, *rest]):
            return []
        if _PY.match(head):
            return self._python_command(rest, base)
        if head in _RUN_PREFIXES and rest[:1] == [_RUN_PREFIXES[head]]:
            return self.targets(_skip_flags(rest[1:], _RUNNER_VALUE_FLAGS), base, action_dir)
        if head in _PKG_RUNNERS or tuple(words[:2]) in _PKG_EXEC:
            tail = rest if head in _PKG_RUNNERS else rest[1:]
            return self.targets(_skip_flags(tail, {"-p", "--package", "-c", "--call"}), base, action_dir)
        if head in ("npm", "yarn", "pnpm", "bun"):
            script = self._package_script(head, rest, base)
            if script is not None:
                return [script]
            if head != "bun":
                return []
        if head in _NODE:
            args = _skip_flags(rest, _NODE_VALUE_FLAGS)
            if head in ("bun", "deno") and args[:1] == ["run"]:
                args = _skip_flags(args[1:], _NODE_VALUE_FLAGS)
            if args and args[0] in ("-e", "--eval", "-p", "--print"):
                return []
            target = self.resolve(args[0], base, action_dir) if args else None
            return [("file", target, "")] if target else []
        if head in _SHELLS:
            args = rest
            while args and args[0].startswith("-") and args[0] not in ("-c",):
                args = args[1:]
            if args[:1] == ["-c"] and len(args) > 1:
                return [("inline", args[1], base)]
            target = self.resolve(args[0], base, action_dir) if args else None
            return [("file", target, "")] if target else []
        if head in _MAKE:
            return self._make_command(rest, base)
        if "/" in head or head.endswith(_SCRIPT_EXT):
            target = self.resolve(head, base, action_dir)
            return [("file", target, "")] if target else []
        return []

    def reach_command(self, words: list[str], base: str, depth: int, action_dir: str = "") -> list[LaunchSite]:
        out: list[LaunchSite] = []
        for kind, rel, part in self.targets(words, base, action_dir):
            if kind == "inline":
                out.extend(self._inline_shell(rel, part, depth))
            else:
                out.extend(self.reach_file(rel, base, depth, part=part))
        return out

    def first_target(self, words: list[str], base: str, action_dir: str = "") -> str:
        for kind, rel, part in self.targets(words, base, action_dir):
            if kind != "inline":
                return f"{rel} ({part})" if part else rel
        return ""

    def _inline_shell(self, script: str, base: str, depth: int) -> list[LaunchSite]:
        out: list[LaunchSite] = []
        for words, here in self.shell_pieces(script, base):
            out.extend(self.reach_command(words, here, depth + 1))
        return out

    def shell_pieces(self, script: str, base: str):  # type: ignore[no-untyped-def]
        """The commands of a one-line shell script with the folder each runs in (`cd x && ...`)."""
        for words in _split_commands(script):
            if len(words) == 2 and words[0] == "cd":
                moved = self.resolve_dir(words[1], base)
                base = moved if moved is not None else base
                continue
            yield words, base

    def _python_command(self, args: list[str], base: str) -> list[tuple[str, str, str]]:
        i = 0
        while i < len(args) and args[i].startswith("-"):
            flag = args[i]
            if flag == "-m" and i + 1 < len(args):
                # Run from `base`: the module is looked for there first.
                target = python_module_path(self.paths, posixpath.join(base, "-m"), args[i + 1], main=True)
                return [("file", target, "")] if target else []
            if flag == "-c":
                return []
            i += 2 if flag in _PY_VALUE_FLAGS else 1
        if i < len(args):
            target = self.resolve(args[i], base)
            return [("file", target, "")] if target else []
        return []

    def _python_modules(self, rel: str, imports: tuple[PyImport, ...] | None, base: str, depth: int) -> list[LaunchSite]:
        out: list[LaunchSite] = []
        for mod_rel in self._python_imports(rel, imports or (), base):
            out.extend(self.reach_file(mod_rel, base, depth + 1))
        return out

    def _js_modules(self, rel: str, imports: tuple[str, ...] | None, base: str, depth: int) -> list[LaunchSite]:
        out: list[LaunchSite] = []
        for spelled in imports or ():
            target = js_module_path(self.paths, rel, spelled)
            if target is not None:
                out.extend(self.reach_file(target, base, depth + 1))
        return out

    def _python_imports(self, rel: str, imports: tuple[PyImport, ...], base: str) -> list[str]:
        """The repository modules a Python file imports, as run from `base`."""
        found = (python_module_path(self.paths, rel, spec, (base,)) for spec in python_import_specs(imports))
        return list(dict.fromkeys(t for t in found if t))

    # -- package.json and Makefile ----------------------------------------------------------

    def _package_script(self, tool: str, args: list[str], base: str) -> tuple[str, str, str] | None:
        pkg_dir = base
        rest: list[str] = []
        i = 0
        while i < len(args):
            word = args[i]
            if word in ("--prefix", "-C", "--cwd", "--dir") and i + 1 < len(args):
                pkg_dir = posixpath.join(base, args[i + 1].strip("./") if args[i + 1] not in (".", "./") else "")
                i += 2
                continue
            if word.startswith(("--prefix=", "--cwd=", "--dir=")):
                pkg_dir = posixpath.join(base, word.split("=", 1)[1])
            elif not word.startswith("-"):
                rest.append(word)
            i += 1
        if not rest:
            return None
        if rest[0] in ("run", "run-script", "rum", "urn"):
            name = rest[1] if len(rest) > 1 else ""
        elif tool == "npm" and rest[0] in _NPM_LIFECYCLE:
            name = "test" if rest[0] == "t" else rest[0]
        elif tool in ("yarn", "pnpm", "bun") and rest[0] not in _YARN_BUILTINS and "/" not in rest[0] \
                and not rest[0].endswith(_SCRIPT_EXT):
            name = rest[0]
        else:
            return None
        if "/" in name or name.endswith(_SCRIPT_EXT):
            return None  # `bun run x.ts` runs a file
        rel = posixpath.normpath(posixpath.join(pkg_dir, "package.json"))
        return ("npm", rel, name) if name and rel in self.paths else None

    def _npm_script(self, rel: str, src, name: str, depth: int) -> list[LaunchSite]:
        import json

        try:
            doc = json.loads(src.text)
        except ValueError:
            return []
        scripts = doc.get("scripts") if isinstance(doc, dict) else None
        if not isinstance(scripts, dict) or not name:
            return []
        from scanner.launch.shell import _json_key_line

        out: list[LaunchSite] = []
        pkg_dir = posixpath.dirname(rel)
        for key in (f"pre{name}", name, f"post{name}"):
            body = scripts.get(key)
            if not isinstance(body, str):
                continue
            line = _json_key_line(src, "scripts", key)
            out.extend(self.agent_sites(rel, (line, line)))
            out.extend(self._inline_shell(body, pkg_dir, depth))
        return out

    def _make_command(self, args: list[str], base: str) -> list[tuple[str, str, str]]:
        mk_dir, mk_file, targets = base, "", []
        i = 0
        while i < len(args):
            word = args[i]
            if word in ("-C", "--directory") and i + 1 < len(args):
                mk_dir = posixpath.join(base, args[i + 1])
                i += 2
                continue
            if word in ("-f", "--file", "--makefile") and i + 1 < len(args):
                mk_file = args[i + 1]
                i += 2
                continue
            if word in ("-j", "--jobs", "-l", "-o", "-W") and i + 1 < len(args) and args[i + 1].isdigit():
                i += 2
                continue
            if not word.startswith("-") and "=" not in word:
                targets.append(word)
            i += 1
        names = [mk_file] if mk_file else ["GNUmakefile", "makefile", "Makefile"]
        for name in names:
            rel = posixpath.normpath(posixpath.join(mk_dir, name))
            if rel in self.paths:
                return [("make", rel, t) for t in (targets or [""])]
        return []

    def _make_target(self, rel: str, src, target: str, depth: int) -> list[LaunchSite]:
        from scanner.launch.shell import ShellText, makefile_shell

        rules = _make_rules(src.text)
        if not rules:
            return []
        name = target or next(iter(rules))
        out: list[LaunchSite] = []
        todo, done = [name], set()
        data = makefile_shell(src.data)
        commands = [(node.start_point[0] + 1, words) for node, words in ShellText(src, data).commands()]
        here = posixpath.dirname(rel)
        while todo and len(done) < 50:
            current = todo.pop()
            if current in done or current not in rules:
                continue
            done.add(current)
            first, last, prereqs = rules[current]
            todo.extend(prereqs)
            out.extend(self.agent_sites(rel, (first, last)))
            for line, words in commands:
                if first <= line <= last:
                    out.extend(self.reach_command([w.text for w in words], here, depth + 1))
        return out

    # -- workflows and composite actions ----------------------------------------------------

    def _workflow_file(self, rel: str, src, depth: int) -> list[LaunchSite]:
        """A composite action or a called workflow: its own launches and what its steps start."""
        out = list(self.agent_sites(rel))
        reader = self.workflow(src)
        action_dir = posixpath.dirname(rel)
        runs = reader.root.get("runs") if reader.root is not None and reader.root.is_map else None
        if runs is not None and runs.is_map and runs.get("using") is not None and runs.get("using").text().startswith("node"):
            for key in ("pre", "main", "post"):  # a JavaScript action's entry points
                entry = runs.get(key)
                target = self.resolve(entry.text(), action_dir) if entry is not None else None
                if target is not None:
                    out.extend(self.reach_file(target, "", depth + 1))
        for job in reader.all_jobs():
            for step in reader.steps(job):
                for reach in step_reaches(self, reader, job, step, depth + 1, action_dir if job.is_action else ""):
                    out.extend(reach.sites)
        return out


def _split_commands(script: str) -> list[list[str]]:
    """The commands of a shell string, line by line, split at `;`, `&&`, `||`, `|` and parentheses
    outside quotes (a line that does not lex is split the rough way)."""
    import shlex

    out: list[list[str]] = []
    for line in script.split("\n"):
        try:
            lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()")
            lexer.whitespace_split = True
            tokens = list(lexer)
        except ValueError:
            for piece in re.split(r"&&|\|\||;|\|", line):
                try:
                    out.append(shlex.split(piece))
                except ValueError:
                    continue
            continue
        current: list[str] = []
        for token in [*tokens, ";"]:
            if token and set(token) <= set(";&|()"):
                if current:
                    out.append(current)
                current = []
            else:
                current.append(token)
    return [words for words in out if words]


def _program(word: str) -> str:
    """`/bin/bash`, `/usr/bin/env`, `/Users/me/.nvm/versions/node/v20/bin/node`: a program in a
    system folder, or an interpreter or runner wherever it is installed, by its name."""
    name = posixpath.basename(word)
    if posixpath.dirname(word) in _SYSTEM_BIN:
        return name
    known = name in _NODE or name in _SHELLS or name in _TRANSPARENT or name in _MAKE or name in _PKG_RUNNERS
    return name if word.startswith(("/", "~")) and (known or name in _RUN_PREFIXES or name in ("npm", "yarn", "pnpm",
                                                                                               "timeout", "flock")) else word


def _from_script(text, spelled: str) -> str:  # type: ignore[no-untyped-def]
    """A word of a script file, with a path built from the script's own location resolved."""
    if "$" not in spelled and "`" not in spelled:
        return spelled
    rel = text.script_relative(spelled)
    return REPO_ROOT + rel if rel is not None else spelled


def _skip_flags(words: list[str], value_flags: set[str]) -> list[str]:
    i = 0
    while i < len(words) and words[i].startswith("-"):
        i += 2 if words[i] in value_flags and "=" not in words[i] else 1
    return words[i:]


def _make_rules(text: str) -> dict[str, tuple[int, int, list[str]]]:
    """Make targets: name -> (first recipe line, last recipe line, prerequisites)."""
    rules: dict[str, tuple[int, int, list[str]]] = {}
    lines = text.split("\n")
    current: list[str] = []
    start = 0
    prereqs: list[str] = []

    def close(end: int) -> None:
        for name in current:
            rules.setdefault(name, (start, max(start, end), prereqs))

    for number, line in enumerate(lines, start=1):
        if line.startswith(("\t", "#")) or (not line.strip() and current):
            continue  # a recipe line, a comment or a blank line inside a rule
        match = re.match(r"^([A-Za-z0-9_.%/${}()-][A-Za-z0-9_.%/${}() -]*?)\s*::?(?!=)\s*([^=;#]*)", line)
        if current:
            close(number - 1)
            current = []
        if match and not line.startswith((" ", "#")):
            current = [n for n in match.group(1).split() if not n.startswith(".")]
            prereqs = [p for p in match.group(2).split() if not p.startswith("$")]
            start = number
    if current:
        close(len(lines))
    return rules


def step_reaches(resolver: EntryResolver, reader, job, step, depth: int = 0, action_dir: str = "") -> list[StepReach]:
    """What one workflow step starts in the repository, command by command."""
    from scanner.launch.shell import ShellText
    from scanner.launch.workflow import unmask_words

    out: list[StepReach] = []
    uses = step.get("uses")
    if uses is not None:
        spelled = uses.text().strip()
        if spelled.startswith("./"):  # relative to the workspace, wherever the step is
            target = None
            for name in _ACTION_FILES:
                target = target or resolver.resolve(posixpath.join(spelled.split("@", 1)[0], name), "")
            if target is not None:
                sites = resolver.reach_file(target, "", depth + 1)
                if sites:
                    out.append(StepReach(reader.loc(uses), f"uses: {spelled}", target, sites))
    run = step.get("run")
    if run is None or not run.is_scalar or not isinstance(run.value, str):
        return out
    base = reader.step_workdir(job, step).strip()
    base = "" if base in (".", "./") else posixpath.normpath(base.removeprefix("./")) if base else ""
    if "$" in base:
        base = ""
    data, originals = reader.run_shell(run)
    text = ShellText(reader.src, data)
    for node, words in text.commands():
        texts = [w.text for w in unmask_words(words, originals)]
        if len(texts) == 2 and texts[0] == "cd":  # later commands run from there
            moved = resolver.resolve_dir(texts[1], base)
            base = moved if moved is not None else base
            continue
        sites = resolver.reach_command(texts, base, depth + 1, action_dir)
        if sites:
            loc = reader.src.node_loc(node)
            loc = reader.src.loc(loc.line)  # the step's line, quoted whole
            out.append(StepReach(loc, " ".join(texts), resolver.first_target(texts, base, action_dir), sites))
    return out


def entry_links(project: ProjectFiles, tools: ConfigTools, paths, by_path):  # type: ignore[no-untyped-def]
    """Launch sites for workflow steps (and calling jobs) that start a repository file which
    launches an agent, with the job's findings; and the reached launches, bounded by the job's
    timeout and marked with the step that starts them."""
    new_sites: list[tuple[LaunchSite, list[Finding]]] = []
    reached: dict[str, LaunchSite] = {}
    if not any(s.agent != "unknown" for sites in by_path.values() for s in sites):
        return new_sites, reached
    existing = {s.site_id for sites in by_path.values() for s in sites}
    resolver = EntryResolver(project, tools, set(paths), by_path)  # one memo for every workflow
    for path in paths:
        if not _WORKFLOW.search(path):
            continue
        src = project.source(path)
        if src is None:
            continue
        reader = resolver.workflow(src)
        for job in reader.jobs():
            steps = list(reader.steps(job))  # also reads the job's context
            reaches: list[tuple[object, StepReach, list[Fact]]] = []
            for step in steps:
                extra = _input_facts(reader, step.get("with")) if _local_uses(step) else []
                for reach in step_reaches(resolver, reader, job, step):
                    reaches.append((step, reach, extra))
            called = job.node.get("uses")
            if called is not None and called.text().strip().startswith("./"):
                target = resolver.resolve(called.text().strip().split("@", 1)[0], "")
                sites = resolver.reach_file(target, "", 1) if target else []
                if sites:
                    # What the called workflow hands its agent (secrets, the token) is judged
                    # there; here: the caller's trigger, permissions and inputs.
                    extra = _input_facts(reader, job.node.get("with"))
                    secrets = job.node.get("secrets")
                    if secrets is not None and secrets.is_scalar and secrets.text().strip() == "inherit":
                        extra.append(Fact(FactKind.SECRETS_INHERIT, "the called workflow may read every secret (secrets: inherit)",
                                          reader.loc(secrets)))
                    callee = resolver.source(target)
                    if callee is not None and _token_reachable(callee.text):
                        job.token_reach.append(reader.loc(called).with_label("the called workflow hands on the job token"))
                    reaches.append((None, StepReach(reader.loc(called), f"uses: {called.text().strip()}", target, sites), extra))
            for step, reach, extra in reaches:
                for site, findings in _step_sites(reader, job, step, reach, extra, existing):
                    existing.add(site.site_id)
                    new_sites.append((site, findings))
                for target in reach.sites:
                    if target.site_id in reached or target.location.path == path:
                        continue
                    reached[target.site_id] = _carry(target, reader, job, step, reach)
    return new_sites, reached


def _elsewhere(cat: Catalog, words: list[str]) -> bool:
    """The command runs what follows in another context — a sandbox wrapper, another user, another
    host (rules/containment.yaml) — so the repository file it names is not run here as is."""
    c = cat.containment
    return cat.sandbox_wrapper(words) is not None or words[0] in c.section("identity") or words[0] in c.list("remote_shells")


def _local_uses(step) -> bool:
    uses = step.get("uses")
    return uses is not None and uses.text().strip().startswith("./")


def _input_facts(reader, with_) -> list[Fact]:
    out: list[Fact] = []
    for key, value in (with_.items() if with_ is not None and with_.is_map else []):
        fact = reader._secret(key, value)
        if fact is not None:
            out.append(fact)
    return out


def _token_reachable(text: str) -> bool:
    """Whether a called workflow leaves the job token where its steps can read it."""
    persisted = "actions/checkout" in text and not re.search(r"persist-credentials:\s*['\"]?false", text)
    return persisted or "github.token" in text or "secrets.GITHUB_TOKEN" in text


def _step_sites(reader, job, step, reach: StepReach, extra: list[Fact], existing: set[str]):
    """One site per agent a step's command reaches, at the step's line."""
    by_agent: dict[str, list[LaunchSite]] = {}
    for site in reach.sites:
        by_agent.setdefault(site.agent, []).append(site)
    for agent_id, sites in sorted(by_agent.items()):
        spec = reader.tools.agent_by_name(agent_id)
        if spec is None:
            continue
        sid = f"{reach.location.path}:{reach.location.line}:{spec.id}"
        if sid in existing:
            continue  # the step's own command already launches this agent here
        sandboxed = all(s.containment.boundary is Boundary.AGENT_SANDBOX and not s.containment.has(*_BYPASS_KINDS)
                        for s in sites)
        own = (Boundary.AGENT_SANDBOX, sites[0].containment.boundary_tool) if sandboxed else None
        via = reach.target or sites[0].location.path
        facts = list(extra)
        bounds = [next(iter(s.containment.of_kind(FactKind.TIMEOUT)), None) for s in sites]
        if all(bounds):  # every launch it reaches is bounded where it is started
            facts.append(Fact(FactKind.TIMEOUT, "bounded where the agent is launched", bounds[0].location))
        site, findings = reader.ci_site(
            job, step, agent=spec, location=reach.location, launcher=f"workflow step running {via}",
            command=reach.command, env_location=reach.location, extra_facts=facts, reached=own,
            raw_cli=True, agent_name=sites[0].agent_name)
        yield site, findings


def _carry(site: LaunchSite, reader, job, step, reach: StepReach) -> LaunchSite:
    """The reached launch, bounded by the job's timeout and marked with the step that starts it."""
    c = site.containment
    facts = list(c.facts)
    facts.append(Fact(FactKind.ENTRY_POINT, f"started by the workflow step at {reach.location.path}:{reach.location.line}",
                      reach.location))
    timeout = reader._timeout(job, step) if step is not None else job.timeout
    if timeout is not None and not c.has(FactKind.TIMEOUT):
        facts.append(Fact(FactKind.TIMEOUT, "timeout-minutes", timeout))
    if "schedule" in reader.triggers:
        facts.append(Fact(FactKind.UNATTENDED, "started by a scheduled workflow: no person starts or watches the run",
                          reader.triggers["schedule"]))
    unknowns = c.unknowns
    if step is None and not job.default_token:
        # A called workflow without `permissions:` runs with its caller's, which are set.
        unknowns = tuple(u for u in unknowns if "default GITHUB_TOKEN permissions" not in u.value)
    return replace(site, containment=replace(c, facts=tuple(facts), unknowns=unknowns))


def compose_links(project: ProjectFiles, tools: ConfigTools, paths, by_path):  # type: ignore[no-untyped-def]
    """A Dockerfile's agent launch, run by a compose service built from it."""
    from scanner.parse.cfgtree import load_yaml
    from scanner.discover.filenames import is_compose
    from scanner.launch.containers import (_user_fact, compose_agent, compose_site, dockerfile_invocations,
                                              dockerfile_path_of, dockerfile_summary, image_facts)
    from scanner.launch.commandline import Invocation

    out: list[LaunchSite] = []
    for path in paths:
        if not is_compose(path):
            continue
        src = project.source(path)
        if src is None:
            continue
        doc = project.parsed(path, "yaml", lambda s: load_yaml(s.text, []))
        services = doc.get("services") if doc is not None and doc.is_map else None
        for name, svc in (services.items() if services is not None else []):
            if not svc.is_map:
                continue
            dockerfile = dockerfile_path_of(path, svc)
            targets = [s for s in by_path.get(dockerfile or "", []) if s.surface == "dockerfile"]
            if not targets:
                continue
            inv_own, _ = compose_agent(tools, src, svc)
            if inv_own is not None and svc.get("command") is not None:
                continue  # the service's own command replaces the image's
            dsrc = project.source(dockerfile)
            if dsrc is None:
                continue
            summary = dockerfile_summary(dsrc.text)
            extra = []
            if summary["base"]:
                extra.extend(image_facts(summary["base"], dsrc.loc(summary["base_line"])))
            if summary["user"]:
                extra.append(_user_fact(summary["user"], dsrc.loc(summary["user_line"])))
            for line, _kind, item in dockerfile_invocations(tools, dsrc, summary["launches"]):
                for site in targets:
                    if site.location.line != line or not isinstance(item, Invocation):
                        continue
                    new = compose_site(tools, src, doc, name, svc, item, extra)
                    out.append(replace(new, site_id=site.site_id, location=site.location,
                                       launcher=f"compose service `{name}` ({path})"))
    return out


def scheduler_links(project: ProjectFiles, tools: ConfigTools, paths, by_path):  # type: ignore[no-untyped-def]
    """Launch sites for scheduler entries (crontab lines, launchd jobs, systemd services, crontab
    lines a script installs) that start a repository file which launches an agent, with their
    findings; and, for each launch reached, the facts it learns from the entry (who starts it,
    that no person watches). Scheduler files are parsed only when their bytes look like one."""
    from scanner.launch import schedulers

    new_sites: list[tuple[LaunchSite, list[Finding]]] = []
    reached: dict[str, list[Fact]] = {}
    if not any(s.agent != "unknown" for sites in by_path.values() for s in sites):
        return new_sites, reached
    files = {}
    for path in paths:
        kind = schedulers.entry_file_kind(path)
        # Analysis already answered for the files it read; the others are read here.
        if kind is None or not project.parsed(path, SCHEDULED, lambda s: scheduled(s.path, s.data)):
            continue
        src = project.source(path)
        if src is not None:
            files[path] = (kind, src)
    if not files:
        return new_sites, reached
    timers: dict[str, tuple[str, Location]] = {}
    for path, (kind, src) in files.items():
        if path.endswith(".timer"):
            timers.update(schedulers.timer_schedules(src))
    resolver = EntryResolver(project, tools, set(paths), by_path, foreign=True, contained=True)
    existing = {s.site_id for sites in by_path.values() for s in sites}
    for path, (kind, src) in sorted(files.items()):
        for entry in schedulers.entries(tools, kind, src, timers):
            base = resolver.resolve_dir(entry.workdir, "") if entry.workdir else ""
            base = base or ""
            if entry.shell:
                pieces = list(resolver.shell_pieces(entry.shell, base))
            else:
                pieces = [([w.text for w in entry.words], base)]
                # `/bin/bash`, `/Users/me/proj/run.sh` on lines of their own: the site is the script's line.
                target = resolver.first_target(pieces[0][0], base)
                named = next((w for w in entry.words if target and resolver.resolve(w.text, base) == target), None)
                if named is not None:
                    entry = replace(entry, location=named.location)
            sites: list[LaunchSite] = []
            via = ""
            for words, here in pieces:
                found = [s for s in resolver.reach_command(words, here, 1)
                         if (s.location.path, s.location.line) != (path, entry.location.line)]
                if found and not via:
                    via = resolver.first_target(words, here) or found[0].location.path
                sites.extend(found)
            sites = list({s.site_id: s for s in sites}.values())
            if not sites:
                continue
            guessed = any(resolver._foreign_parts(t) and resolver.foreign_file(t) for t in entry.tokens())
            for site, findings in schedulers.scheduled_sites(entry, sites, via, existing, tools.catalog, guessed):
                existing.add(site.site_id)
                new_sites.append((site, findings))
            for target in sites:
                reached.setdefault(target.site_id, []).extend(schedulers.carried_facts(entry))
    return new_sites, reached
