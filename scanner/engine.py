"""Files × analyzers -> launch sites -> findings -> verdict. The only place that orchestrates."""

from __future__ import annotations

import os
import posixpath
import re
import stat
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from scanner.launch.base import Analysis, LaunchFound
from scanner.launch.cfgjudge import ConfigTools
from scanner.post.baseline import postprocess
from scanner.catalog import Catalog
from scanner.launch.commandline import CommandReader, Invocation, Unresolved, Word
from scanner.containment.reader import LaunchContext
from scanner.config import Config, ExtraAgent, catalog_for
from scanner.discover.walk import Candidate, read_bounded, read_candidate, walk
from scanner.discover.native_search import NativeSearch, native_search
from scanner.findings import fingerprint
from scanner.post.gitdiff import Changes
from scanner.containment.judge import SiteJudge
from scanner.model import Capped, Coverage, Finding, LaunchSite, ScanResult, Severity, Silencer, Skip, Verdict
from scanner.parse.trees import OverBudget, SourceFile, check_budget, file_budget
from scanner.launch.gates import javascript_launches, python_launches
from scanner.project.files import ProjectFiles
from scanner.project.module_paths import js_module_path, js_stem, module_names, python_import_specs, python_module_path
from scanner.project.summaries import IMPORTS, JS_KINDS, SOURCE_KINDS, summarize, summarize_source
from scanner.discover.walk import _is_dir
from scanner.launch.filekinds import ANALYZERS, EXTERNAL_KINDS, KINDS, UNFILTERED_KINDS, classify_path, kind_from_shebang
from scanner.post.suppress import Directive, find_directives
from scanner.discover.tiers import SHIPPED, apply_tiers, is_generated_bundle, tier_of

# Source code goes to the process pool; the other kinds are few and cheap, and the link stage
# asks about them after analysis, so they are analysed where it runs.
POOLED_KINDS = SOURCE_KINDS | {"shebang"}
# Kinds whose bytes the link stage reads again (workflows it follows, the Dockerfile a compose
# service builds, scripts and scheduler files): kept when read in the link stage's process.
LINKED_KINDS = frozenset({"workflow", "compose", "dockerfile", "devcontainer", "scheduler", "package-json",
                          "makefile", "shell"})
# Below this many files to parse, a process pool costs more than it saves.
PARALLEL_THRESHOLD = 64
# Wall-clock bound on parsing and analysing one file; past it the file is skipped, counted.
FILE_BUDGET_SECONDS = float(os.environ.get("BLASTWALL_FILE_BUDGET", "") or 10.0)
OVER_BUDGET = "over the per-file time budget"
GENERATED_BUNDLE = "generated bundle (build output signed by a bundler)"
# Past this many launch sites in one file the rest is not analysed (and the file shows in the
# verdict): it bounds memory on files built to explode into findings.
MAX_SITES_PER_FILE = 500
# Findings shown per (file, rule); the rest are counted in an "N more" line. The verdict is
# decided before the cap.
MAX_FINDINGS_PER_FILE_RULE = 50
# How much of a skipped file (too large, minified) is searched for the catalog's terms.
SEARCH_LIMIT = 64 * 1024 * 1024


@dataclass(frozen=True)
class ScanOptions:
    jobs: int = 0  # 0 = one per core
    excludes: tuple[str, ...] = ()
    disabled_rules: tuple[str, ...] = ()
    progress: Callable[[int, int], None] | None = None
    # Project configuration and new-only mode (scanner.config, scanner.post.baseline, scanner.post.gitdiff).
    extra_agents: tuple[ExtraAgent, ...] = ()
    severity_overrides: tuple[tuple[str, Severity], ...] = ()
    baseline: frozenset[str] | None = None  # fingerprints of a previous report
    changes: Changes | None = None  # --diff-base: lines changed since a git revision
    config_files: tuple[str, ...] = (".blastwall.toml",)  # for review notes, relative to the root
    semgrep_rules: tuple[Path, ...] = ()  # the user's own semgrep rule folders, run with the pack
    config: Config | None = None  # the project's configuration, for the reviewer's list of what it changed
    tracked: frozenset[str] | None = None  # git's tracked files; None = ask git (outside a checkout: none)
    include_tests: bool = False  # judge tests, examples, docs and benchmarks like shipped code
    cli_excludes: tuple[str, ...] = ()  # --exclude patterns (also in `excludes`), listed with what they hid
    # --timings: seconds per stage ("discovery.wall", "analysis.cpu", ...) are added to this dict.
    timings: dict[str, float] | None = field(default=None, compare=False)


@dataclass
class FileResult:
    path: str
    sites: list[LaunchSite] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    skip_reason: str = ""
    parsed: bool = False
    notes: list[str] = field(default_factory=list)
    ignores: tuple[Directive, ...] = ()  # inline `blastwall: ignore[...]` comments
    external: bool = False  # passed the prefilter; analysed by the semgrep stage
    unanalysed: str = ""  # why a file that mentions an agent was not (fully) analysed
    summary: dict[str, Any] = field(default_factory=dict)  # for the link stage (`scanner.project.summaries`)
    deferred: str = ""  # its kind, when it names no agent but starts programs: analysed if an import names one
    cpu: float = 0.0  # CPU seconds spent on this file (for --timings)
    filter_cpu: float = 0.0  # of which in the Python prefilter


@lru_cache(maxsize=1)
def _prefilter(catalog: Catalog) -> re.Pattern[bytes]:
    return re.compile(_search_form(catalog).encode())


def prefilter_pattern(catalog: Catalog) -> str:
    """One compiled alternation of every catalog term; generic names need a companion word."""
    simple: set[str] = set()
    companions: list[str] = []
    for spec in catalog.agents:
        for binary in spec.binaries:
            if binary in spec.requires_any:
                req = "|".join(re.escape(r) for r in spec.requires_any[binary])
                companions.append(rf"(?<![\w.-]){re.escape(binary)}\b[^\n]{{0,60}}?(?:{req})")
            else:
                simple.add(re.escape(binary))
        simple.update(re.escape(p) for p in spec.packages)
    simple.update(re.escape(t) for t in catalog.sdk_terms)
    body = "|".join(sorted(simple, key=lambda s: (-len(s), s)))
    return rf"(?<![\w-])(?:{body})(?![\w])" + "".join(f"|{c}" for c in companions)


def _search_form(catalog: Catalog) -> str:
    """`prefilter_pattern` rewritten for the `re` engine: it matches the same files, but every
    branch starts with its literal (the boundary check moves behind it) and branches are
    grouped by first character, so the engine skips most bytes instead of trying a
    look-behind at each one (about 10x faster on a large tree)."""
    items: list[tuple[str, str]] = []
    simple: set[str] = set()
    for spec in catalog.agents:
        for binary in spec.binaries:
            if binary in spec.requires_any:
                req = "|".join(re.escape(r) for r in spec.requires_any[binary])
                items.append((binary, rf"(?<![\w.-]{re.escape(binary)})\b[^\n]{{0,60}}?(?:{req})"))
            else:
                simple.add(binary)
        simple.update(spec.packages)
    simple.update(catalog.sdk_terms)
    items.extend((t, rf"(?<![\w-]{re.escape(t)})(?![\w])") for t in sorted(simple, key=lambda s: (-len(s), s)))
    groups: dict[str, list[str]] = {}
    for literal, tail in items:
        groups.setdefault(literal[0], []).append(re.escape(literal[1:]) + tail)
    return "|".join(f"{re.escape(first)}(?:{'|'.join(rest)})" for first, rest in sorted(groups.items()))


def native_pattern(catalog: Catalog) -> str:
    """`prefilter_pattern` for ripgrep's default engine (Rust regex, no look-around, no PCRE2):
    it selects exactly the same files. Each look-behind becomes "start of line or a byte outside
    the class" and each look-ahead "a byte outside the class or end of line" (ripgrep matches
    line by line, and no branch can cross a newline); classes and `\\b` are ASCII, as in the
    bytes pattern; every term byte outside [A-Za-z0-9_] is written as `\\xNN`."""
    simple: set[str] = set()
    companions: list[str] = []
    for spec in catalog.agents:
        for binary in spec.binaries:
            if binary in spec.requires_any:
                req = "|".join(_native_literal(r) for r in spec.requires_any[binary])
                companions.append(rf"(?:^|[^\w.\x2d]){_native_literal(binary)}\b[^\n]{{0,60}}?(?:{req})")
            else:
                simple.add(binary)
        simple.update(spec.packages)
    simple.update(catalog.sdk_terms)
    body = "|".join(_native_literal(t) for t in sorted(simple, key=lambda s: (-len(s), s)))
    return rf"(?-u)(?:^|[^\w\x2d])(?:{body})(?:[^\w]|$)" + "".join(f"|{c}" for c in companions)


def _native_literal(text: str) -> str:
    return "".join(chr(b) if chr(b).isascii() and (chr(b).isalnum() or b == 0x5F) else f"\\x{b:02x}"
                   for b in text.encode())


# Below this many candidates the Python prefilter costs less than starting ripgrep.
NATIVE_MIN_FILES = 200


def _native_search(root: Path, catalog: Catalog) -> NativeSearch | None:
    """ripgrep, ready to take discovery's candidates as they are found; None without it."""
    if not _is_dir(os.fspath(root)):
        return None
    return NativeSearch.start(root, (native_pattern(catalog), _UNREAD_SCRIPT_NATIVE))


def _native_prefilter(root: Path, candidates: list[Candidate], catalog: Catalog, clock: _Clock,
                      search: NativeSearch | None = None, children: float | None = None) -> list[Candidate]:
    """The candidates with what ripgrep found in them (`Candidate.agent_terms`,
    `Candidate.script_call`); unchanged when there are few or ripgrep is not there. `search`
    was handed the candidates while discovery walked (batches already under way)."""
    if len(candidates) < NATIVE_MIN_FILES or not _is_dir(os.fspath(root)):
        if search is not None:
            search.cancel()
        return candidates
    children = _children_cpu() if children is None else children
    if search is None or search.count != len(candidates):
        if search is not None:
            search.cancel()
        search = _native_search(root, catalog)
        for cand in candidates if search is not None else ():
            search.add(cand.path)
    found = search.finish() if search is not None else None
    clock.add("prefilter.rg-cpu", _children_cpu() - children)
    clock.lap("prefilter")
    if found is None:
        return candidates
    clock.add("prefilter.native", 1.0)
    terms, calls = found
    return [replace(c, agent_terms=c.path in terms, script_call=c.path in calls) for c in candidates]


def _past_limit(root: Path, rel: str) -> bool:
    """Past what a search reads (or not a file it could read): it cannot be told clean."""
    try:
        st = os.stat(os.path.join(os.fspath(root), rel), follow_symlinks=False)
    except OSError:
        return True
    return not stat.S_ISREG(st.st_mode) or st.st_size > SEARCH_LIMIT


def _children_cpu() -> float:
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class _Worker:
    """Per-process state: the catalog, the reader, the judges and the tools are built once."""

    def __init__(self, agents: tuple[ExtraAgent, ...] = ()) -> None:
        self.agents = agents
        self.catalog = catalog_for(agents)
        self.reader = CommandReader(self.catalog)
        self.judge = SiteJudge(self.catalog)
        self.pattern = _prefilter(self.catalog)
        self.root = Path(".")
        self.project = ProjectFiles(None)
        self.seeds = False  # the link stage's process: files read here are kept for it
        self.reader.scripts = self._script_commands
        self.reader.unread_scripts = self._unread_script_commands
        # What analyzers and the link stage judge with: this scan's catalog, and its reader with
        # the hooks into the repository's scripts.
        self.tools = ConfigTools(self.catalog, self.reader, self.judge.containment)

    def _script_commands(self, spelled: str) -> list[list[Word]]:
        """Commands of a repo script that hand "$@" on; [] for anything outside the repo."""
        return [words for words in self._all_script_commands(spelled)
                if any(w.dynamic and w.text in ("$@", "${@}", "$*") for w in words)]

    def _unread_script_commands(self, spelled: str) -> list[list[Word]]:
        """Every command of a repo script run by a shell (`sh run.txt`) when its name is not one
        blastwall reads on its own; [] otherwise (that file is analysed where it stands)."""
        rel = _repo_relative(spelled)
        if not rel or ANALYZERS.get(classify_path(rel) or "") is not None or classify_path(rel) == "shebang":
            return []
        return self._all_script_commands(spelled)

    def _all_script_commands(self, spelled: str) -> list[list[Word]]:
        rel = _repo_relative(spelled)
        return (self.project.parsed(rel, "shell-commands", _shell_commands) or []) if rel else []

    def bind(self, root: Path, paths: frozenset[str] = frozenset(), seeds: bool = False) -> None:
        """A new scan of `root`: fresh project files (nothing read by an earlier scan is reused);
        cross-file questions read only `paths` (discovery's files). `seeds`: this is the link
        stage's process, so the files analysed here are kept for it."""
        self.root = root
        self.project = ProjectFiles(root, paths)
        self.seeds = seeds

    def analyze(self, root: Path, cand: Candidate, through_import: bool = False) -> FileResult:
        """`through_import`: analysed although it names no agent, because a repository module it
        imports does (see `_through_imports`)."""
        start = time.process_time()
        result = self._analyze(root, cand, through_import)
        result.cpu = time.process_time() - start
        return result

    def names_agent(self, cand: Candidate, data: bytes, result: FileResult) -> bool:
        """The prefilter: whether the file names a catalog term. A native search's answer
        (`Candidate.agent_terms`) is the same set; without one the bytes are searched here."""
        if cand.agent_terms is not None:
            return cand.agent_terms
        start = time.process_time()
        hit = self.pattern.search(data) is not None
        result.filter_cpu += time.process_time() - start
        return hit

    def calls_script(self, cand: Candidate, data: bytes, result: FileResult) -> bool:
        """Whether the file hands a script with an unread name to a shell (`sh run.txt`). A
        native search only rules files out; what it keeps is checked here."""
        if cand.script_call is False:
            return False
        start = time.process_time()
        hit = (b"sh " in data or b"sh\t" in data) and _UNREAD_SCRIPT_CALL.search(data) is not None
        result.filter_cpu += time.process_time() - start
        return hit

    def _analyze(self, root: Path, cand: Candidate, through_import: bool = False) -> FileResult:
        result = FileResult(cand.path)
        if root != self.root:
            self.bind(root)
        data, reason = read_candidate(root, cand)
        if data is None:
            result.skip_reason = reason
            if reason.startswith(("too large", "generated or minified")):
                if self.bundle(root, cand.path):
                    result.skip_reason = GENERATED_BUNDLE
                elif cand.agent_terms if reason.startswith("generated") and cand.agent_terms is not None \
                        else self.mentions(root, cand.path):  # ripgrep read this one whole already
                    result.unanalysed = reason
            return result
        result.ignores = find_directives(cand.path, data)
        if self.seeds and cand.kind in LINKED_KINDS:
            self.project.seed(cand.path, data)
        result.summary = summarize(cand.path, data)
        kind = cand.kind
        if kind == "shebang":
            kind = kind_from_shebang(data.split(b"\n", 1)[0]) or ""
            if not kind:
                result.skip_reason = "not a file kind blastwall reads"
                return result
        if kind in EXTERNAL_KINDS:
            result.external = self.names_agent(cand, data, result)
            return result
        # What a source file imports, whether or not it is analysed: the link stage follows entry
        # files that name no agent themselves, and reads them no second time.
        result.summary.update(summarize_source(kind, data))
        analyzer = ANALYZERS.get(kind)
        if analyzer is None:
            return result
        if kind not in UNFILTERED_KINDS and not through_import and not self.names_agent(cand, data, result) \
                and not self.calls_script(cand, data, result):
            # It may start an agent named in a module it imports: decided once every file's
            # mentions are known.
            result.deferred = kind if _may_launch(self.catalog, kind, data) else ""
            return result
        # Counted as read for agents (the report's "parsed": it matched a search term) even when
        # no analyzer's gate admits it: then it has no launch, and is not parsed at all.
        result.parsed = True
        if kind in SOURCE_KINDS:  # a module another file may take the agent's command from
            result.summary[AGENT_COMMAND] = _agent_command(self.catalog).search(data) is not None
        if not KINDS[kind].admits(self.catalog, data):
            return result
        src = SourceFile(cand.path, data)
        analysis = Analysis(src, kind, self.tools, self.project)
        try:
            with file_budget(FILE_BUDGET_SECONDS):
                for item in analyzer(analysis):
                    check_budget()
                    if isinstance(item, LaunchFound):
                        self._launch(item, result)
                    else:
                        site, extra = item
                        result.sites.append(site)
                        result.findings.extend(self.judge.findings(site))
                        result.findings.extend(extra)
                    if len(result.sites) >= MAX_SITES_PER_FILE:
                        result.unanalysed = f"more than {MAX_SITES_PER_FILE} launch sites; the rest not analysed"
                        break
        except RecursionError:
            result.skip_reason = "too deeply nested to analyse"
            result.sites.clear()
            result.findings.clear()
        except OverBudget:
            result.skip_reason = OVER_BUDGET
            result.sites.clear()
            result.findings.clear()
        result.notes.extend(analysis.notes)
        # A file that names an agent and could not be read whole is part of the verdict.
        broken = result.skip_reason or next((n for n in analysis.notes if n.startswith(("invalid ", "unreadable "))), "")
        if broken and not result.unanalysed and self.names_agent(cand, data, result):
            result.unanalysed = broken
        return result

    def bundle(self, root: Path, rel: str) -> bool:
        base = os.fspath(root)
        head, _cut = read_bounded(Path(os.path.join(base, rel) if _is_dir(base) else base), 65536)
        return is_generated_bundle(rel, head)

    def mention_any(self, root: Path, rels: list[str]) -> set[str]:
        """Which of these files (too large or too dense to analyse) name an agent. ripgrep reads
        them when it is there, as it reads the candidates; a file past SEARCH_LIMIT counts."""
        if len(rels) > 1 and _is_dir(os.fspath(root)):
            found = native_search(root, rels, (native_pattern(self.catalog),), max_bytes=SEARCH_LIMIT)
            if found is not None:
                return found[0] | {rel for rel in rels if rel not in found[0] and _past_limit(root, rel)}
        return {rel for rel in rels if self.mentions(root, rel)}

    def mentions(self, root: Path, rel: str) -> bool:
        """Whether a file too large or too dense to analyse names an agent (searched in chunks)."""
        base = os.fspath(root)
        path = os.path.join(base, rel) if _is_dir(base) else base
        data, cut = read_bounded(Path(path), SEARCH_LIMIT)
        return bool(cut) or bool(self.pattern.search(data))  # past the limit: cannot tell, so it counts

    def _launch(self, found: LaunchFound, result: FileResult) -> None:
        if found.shell is not None:
            items = self.reader.read_shell(found.shell)
        else:
            item = self.reader.read(found.words)
            items = [item] if item is not None else []
        ctx = LaunchContext(found.surface, found.launcher, found.location, found.env, found.timeout,
                            found.facts, found.unknowns)
        for item in items:
            if isinstance(item, Invocation):
                site, findings = self.judge.judge(item, ctx)
            elif isinstance(item, Unresolved):
                site, findings = self.judge.judge_unresolved(item, ctx, "")
            else:
                continue
            result.sites.append(site)
            result.findings.extend(findings)


# A shell handed a file whose name blastwall does not read on its own (`sh run.txt`): the file
# is read through the command (see `_unread_script_commands`), so the caller must be analysed
# even when it names no agent itself.
_UNREAD_SCRIPT_CALL = re.compile(rb"(?<![\w.-])(?:ba|z|da|k)?sh[ \t]+(?:-[a-z]+[ \t]+)*[\w./-]+\.(?!(?:sh|bash)\b)[A-Za-z0-9]+\b")
# Its superset for ripgrep (no look-ahead there): the files it keeps are checked again in Python.
_UNREAD_SCRIPT_NATIVE = r"(?-u)(?:^|[^\w.\x2d])(?:ba|z|da|k)?sh[ \t]+(?:\x2d[a-z]+[ \t]+)*[\w./\x2d]+\.[A-Za-z0-9]+\b"


# Summary of a source file that names an agent: whether a string in it starts with an agent's
# binary (`"claude"`, `'/usr/local/bin/codex exec'`), so a launch elsewhere may take it from there.
AGENT_COMMAND = "agent-command"


@lru_cache(maxsize=4)
def _agent_command(cat: Catalog) -> re.Pattern[bytes]:
    names = sorted({b for spec in cat.agents for b in spec.binaries}, key=lambda n: (-len(n), n))
    body = b"|".join(re.escape(n.encode()) for n in names)
    return re.compile(rb"[\"'`](?:[^\"'`\n]{0,120}/)?(?:" + body + rb")(?=[\"'`\s])")


def _may_launch(cat: Catalog, kind: str, data: bytes) -> bool:
    """Whether a source file starts a program (the front end's own gate, scanner.launch.gates)."""
    if kind == "python":
        return python_launches(cat, data)
    return kind in JS_KINDS and javascript_launches(cat, data)


def _through_imports(root: Path, results: list[FileResult], worker: _Worker) -> list[FileResult]:
    """Source files that name no agent but start a program, analysed after all when a repository
    module they import names one (`from .settings import CLAUDE_ARGS`, `import { argv } from
    "./agent-argv"`): the value resolvers follow the import there. The rest stay as they were."""
    deferred = [r for r in results if r.deferred]
    if not deferred:
        return results
    naming = {r.path for r in results if r.summary.get(AGENT_COMMAND)}
    if not naming:
        return results
    # An import can only name one of those modules if it ends in that module's name (or its
    # package's): every other import is ruled out before it is resolved.
    names = {n for path in naming for n in module_names(path)}
    paths = worker.project.paths
    redo: dict[str, FileResult] = {}
    for res in deferred:
        imports = res.summary.get(IMPORTS, ())
        if res.deferred == "python":
            targets = (python_module_path(paths, res.path, spec) for spec in python_import_specs(imports)
                       if spec.rstrip(".").rpartition(".")[2] in names or not spec.strip("."))
        else:
            targets = (js_module_path(paths, res.path, spec) for spec in imports
                       if js_stem(posixpath.basename(spec)) in names or spec.endswith((".", "/")))
        if any(target in naming for target in targets):
            redo[res.path] = worker.analyze(root, Candidate(res.path, res.deferred, 0), through_import=True)
    return [redo.get(r.path, r) for r in results]


def _shell_commands(src: SourceFile) -> list[list[Word]]:
    from scanner.launch.shell import ShellText

    return [words for _node, words in ShellText(src, src.data).commands()]


def _repo_relative(spelled: str) -> str:
    """A script path as written in a command, relative to the repository root; "" outside it."""
    rel = posixpath.normpath(spelled[2:] if spelled.startswith("./") else spelled)
    return "" if rel.startswith(("/", "..")) or "$" in rel or rel == "." else rel


_WORKER: _Worker | None = None


def _worker(agents: tuple[ExtraAgent, ...] = ()) -> _Worker:
    global _WORKER
    if _WORKER is None or _WORKER.agents != agents:
        _WORKER = _Worker(agents)
    return _WORKER


def _start_worker(root: str, paths: frozenset[str], agents: tuple[ExtraAgent, ...]) -> None:
    """A pool process: its catalog, reader, judge and project files, built once."""
    _worker(agents).bind(Path(root), paths)


def _analyze_batch(root: str, batch: list[Candidate], agents: tuple[ExtraAgent, ...] = ()) -> list[FileResult]:
    worker = _worker(agents)
    return [worker.analyze(Path(root), cand) for cand in batch]


class _Clock:
    """--timings: wall and CPU seconds of this process per stage, added to `ScanOptions.timings`."""

    def __init__(self, out: dict[str, float] | None) -> None:
        self.out = out
        self.mark = (time.perf_counter(), time.process_time())

    def add(self, key: str, seconds: float) -> None:
        if self.out is not None:
            self.out[key] = self.out.get(key, 0.0) + seconds

    def lap(self, stage: str) -> None:
        now = (time.perf_counter(), time.process_time())
        self.add(f"{stage}.wall", now[0] - self.mark[0])
        self.add(f"{stage}.cpu", now[1] - self.mark[1])
        self.mark = now


def _timed(clock: _Clock, stage: str, func: Callable[..., Any], *args: Any) -> Any:
    start = time.perf_counter()
    try:
        return func(*args)
    finally:
        clock.add(f"{stage}.wall", time.perf_counter() - start)


def scan(root: Path, options: ScanOptions | None = None) -> ScanResult:
    options = options or ScanOptions()
    clock = _Clock(options.timings)
    catalog = catalog_for(options.extra_agents)
    tracked = options.tracked if options.tracked is not None else _tracked(root)
    # ripgrep searches each batch of candidates while the walk goes on (it runs beside it).
    children = _children_cpu()
    search = _native_search(root, catalog)
    walked = walk(root, options.excludes, tracked, kept=search.add if search is not None else None)
    clock.lap("discovery")
    candidates = _native_prefilter(root, walked.candidates, catalog, clock, search, children)
    # One project per scan: every cross-file question (here and in the pool's processes) reads
    # only the files discovery kept, each once per process.
    paths = frozenset(walked.readable)
    main_worker = _worker(options.extra_agents)
    main_worker.bind(root, paths, seeds=True)
    # Files only semgrep reads are prefiltered here, so semgrep can run in a thread (it is a
    # subprocess: the GIL is free) while the tree-sitter analysis runs beside it.
    ext_results = [main_worker.analyze(root, c) for c in candidates if c.kind in EXTERNAL_KINDS]
    external = [r.path for r in ext_results if r.external]
    clock.lap("analysis")
    semgrep_job: Future[Any] | None = None
    threads = ThreadPoolExecutor(max_workers=1)

    def start_semgrep() -> None:
        nonlocal semgrep_job
        if external or options.semgrep_rules:
            from scanner.launch.semgrep_stage import run_stage

            # The user's own rules may target any language: they see every scanned file.
            targets = sorted({*external, *(c.path for c in walked.candidates)}) if options.semgrep_rules else external
            semgrep_job = threads.submit(_timed, clock, "semgrep", run_stage, root, targets, catalog,
                                         options.semgrep_rules, _prefilter(catalog))

    try:
        others = [c for c in candidates if c.kind not in EXTERNAL_KINDS]
        results = ext_results + _run(root, others, options, paths, started=start_semgrep)
        clock.lap("analysis")
        stage = semgrep_job.result() if semgrep_job is not None else None
    finally:
        threads.shutdown(wait=True)
    clock.lap("semgrep-wait")
    if stage is not None and stage.ran:
        clock.add("semgrep.ran", 1.0)
    results = _through_imports(root, results, main_worker)
    clock.add("analysis.files-cpu", sum(r.cpu for r in results))  # every worker's CPU, summed
    clock.add("prefilter.files-cpu", sum(r.filter_cpu for r in results))

    skipped = dict(walked.skipped)
    skipped_files = [Skip(p, r) for p, r in walked.skipped_files]
    sites: list[LaunchSite] = []
    findings: list[Finding] = []
    parsed = 0
    searched = [(p, r) for p, r in walked.to_search if not main_worker.bundle(root, p)]
    mentioned = main_worker.mention_any(root, [p for p, _ in searched])
    unanalysed = [Skip(p, r) for p, r in searched if p in mentioned]
    if options.config is not None and options.config.unread:
        unanalysed.append(Skip(options.config.unread.split(":", 1)[0], options.config.unread.split(": ", 1)[-1]))
    # A .gitignore read in part can only ignore less, so it is listed, not made part of the verdict.
    for path, reason in walked.truncated:
        skipped_files.append(Skip(path, f"read in part: {reason}"))
        skipped["configuration file read in part"] = skipped.get("configuration file read in part", 0) + 1
    for res in results:
        for form, value in res.summary.items():
            main_worker.project.keep(res.path, form, value)
        if res.unanalysed:
            unanalysed.append(Skip(res.path, res.unanalysed))
        if res.skip_reason:
            skipped[res.skip_reason] = skipped.get(res.skip_reason, 0) + 1
            skipped_files.append(Skip(res.path, res.skip_reason))
            continue
        parsed += res.parsed
        sites.extend(res.sites)
        findings.extend(res.findings)

    if stage is not None:
        sites.extend(stage.sites)
        findings.extend(stage.findings)
        parsed += len(external) - len(stage.not_analysed)

    from scanner.project.links import link  # cross-file context: workflow -> script, compose -> Dockerfile, firewall scripts

    clock.lap("verdict")
    sites, findings = link(main_worker.project, [c.path for c in walked.candidates], sites, findings,
                          main_worker.judge, main_worker.tools)
    clock.add("links.files-read", float(main_worker.project.reads))
    clock.lap("links")
    before_disable = findings
    findings = _finalise([f for f in findings if f.rule_id not in options.disabled_rules])
    post = postprocess(findings, [d for r in results for d in r.ignores], catalog, _finalise, root=root,
                       disabled=options.disabled_rules, severity=options.severity_overrides,
                       baseline=options.baseline, changes=options.changes, config_files=options.config_files)
    findings = apply_tiers(post.findings, demote=not options.include_tests)
    findings.sort(key=lambda f: (tier_of(f.location.path) != SHIPPED, *f.sort_key, f.site_id, f.message))
    # Shipped code first: tests, examples and docs follow in their own tier.
    sites = sorted({s.site_id: s for s in sites}.values(),
                   key=lambda s: (tier_of(s.location.path) != SHIPPED, s.location.path, s.location.line, s.agent))
    not_analysed = tuple(sorted({(s.path, s.reason): s for s in [*unanalysed, *(stage.not_analysed if stage else ())]}.values(),
                                key=lambda s: (s.path, s.reason)))
    deciding = findings if options.include_tests else [f for f in findings if f.tier == SHIPPED]
    verdict, needs = decide(deciding, sites, not_analysed)
    silencers = _silencers(options.config, _hidden_by_exclusion(root, walked.excluded, main_worker),
                           before_disable, findings, options.cli_excludes)
    findings, capped = _cap(findings)
    scanned = len(walked.candidates) - sum(1 for r in results if r.skip_reason)
    clock.lap("verdict")
    coverage = Coverage(
        files_seen=walked.files_seen,
        files_scanned=scanned,
        files_parsed=parsed,
        skipped=dict(sorted(skipped.items())),
        skipped_files=tuple(sorted(skipped_files, key=lambda s: (s.path, s.reason))),
        search_terms=catalog.search_terms(),
        rules_run=tuple(sorted(r for r in catalog.rules if r not in options.disabled_rules)),
        not_analysed=not_analysed,
    )
    return ScanResult(
        root_name=root.resolve().name or ".",
        verdict=verdict,
        findings=tuple(findings),
        launch_sites=tuple(sites),
        coverage=coverage,
        needs_context=needs,
        filtered_preexisting=post.filtered,
        new_only=post.new_only,
        review_notes=post.notes,
        silencers=silencers,
        capped=capped,
    )


def _tracked(root: Path) -> frozenset[str] | None:
    try:
        from scanner.discover.gitsafe import tracked_files
    except ImportError:  # pragma: no cover - until the git helper lands
        return None
    return tracked_files(root) if root.is_dir() else None


def _hidden_by_exclusion(root: Path, excluded: list[tuple[str, str]], worker: _Worker,
                         budget: int = 2000) -> list[tuple[str, str]]:
    """(path, pattern) for each excluded file of a kind blastwall reads that names an agent:
    what the configuration actually hid, for the reviewer. Folders are walked (bounded)."""
    from scanner.discover.walk import classify

    out: list[tuple[str, str]] = []
    for rel, pattern in excluded:
        paths = [rel]
        if rel.endswith("/"):
            paths = []
            for dirpath, dirnames, filenames in os.walk(root / rel):  # never follows symlinks
                dirnames.sort()
                base = Path(dirpath).relative_to(root).as_posix()
                paths.extend(f"{base}/{name}" for name in sorted(filenames))
                if len(paths) >= budget:
                    break
        for path in paths[:budget]:
            budget -= 1
            if classify(path) is not None and not (root / path).is_symlink() and worker.mentions(root, path):
                out.append((path, pattern))
        if budget <= 0:
            out.append((rel, pattern))
            break
    return out


def _excluded_effect(pattern: str, excluded: list[tuple[str, str]]) -> str:
    hit = sorted(p for p, used in excluded if used == pattern)
    shown = ", ".join(hit[:10]) + (f" and {len(hit) - 10} more" if len(hit) > 10 else "")
    return f"excluded {len(hit)} file(s) that name an agent: {shown}" if hit else "excluded paths; none of them names an agent"


def _silencers(config: Config | None, excluded: list[tuple[str, str]], raw: list[Finding],
               findings: list[Finding], cli_excludes: tuple[str, ...] = ()) -> tuple[Silencer, ...]:
    """Every configuration entry and inline ignore that changed the results, with what it did.
    Command-line excludes have no file: their path is "" and their line 0."""
    out: list[Silencer] = [Silencer("", 0, f"--exclude {g}", _excluded_effect(g, excluded)) for g in cli_excludes]
    if config is not None and config.source:
        for origin in config.origins:
            if origin.key == "exclude":
                effect = _excluded_effect(origin.value, excluded)
            elif origin.key == "disable":
                n = sum(1 for f in raw if f.rule_id == origin.value)
                effect = f"rule {origin.value} not run ({n} finding(s) dropped)"
            elif origin.key == "severity":
                rule = origin.value.split(" = ")[0]
                n = sum(1 for f in findings if f.rule_id == rule)
                effect = f"severity of {rule} changed ({n} finding(s))"
            else:
                effect = f"declares agent {origin.value}"
            out.append(Silencer(config.source, origin.line, origin.quote, effect))
    for f in findings:
        if f.suppressed:
            out.append(Silencer(f.location.path, f.location.line, f.suppressed,
                                f"inline ignore silenced {f.rule_id} ({f.severity.value})"))
    return tuple(sorted(set(out), key=lambda s: (s.path, s.line, s.effect)))


def _cap(findings: list[Finding]) -> tuple[list[Finding], tuple[Capped, ...]]:
    """At most MAX_FINDINGS_PER_FILE_RULE findings per (file, rule), most severe first."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.location.path, f.rule_id), []).append(f)
    dropped: set[int] = set()
    capped = []
    for (path, rule), group in sorted(groups.items()):
        if len(group) > MAX_FINDINGS_PER_FILE_RULE:
            ranked = sorted(group, key=lambda f: (-f.severity.rank, f.sort_key))
            dropped.update(id(f) for f in ranked[MAX_FINDINGS_PER_FILE_RULE:])
            capped.append(Capped(path, rule, len(group) - MAX_FINDINGS_PER_FILE_RULE))
    return [f for f in findings if id(f) not in dropped], tuple(capped)


def _run(root: Path, candidates: list[Candidate], options: ScanOptions, paths: frozenset[str] = frozenset(),
         started: Callable[[], None] = lambda: None) -> list[FileResult]:
    """Analyse the candidates; `started` runs once the work is under way (workers forked).

    Source code (the bulk of the work) goes to a process pool; every other kind is analysed in
    this process meanwhile, so the parses the link stage asks about are already in its project."""
    jobs = options.jobs or os.cpu_count() or 1
    total = len(candidates)
    worker = _worker(options.extra_agents)
    pooled = [c for c in candidates if c.kind in POOLED_KINDS] if jobs > 1 and total >= PARALLEL_THRESHOLD else []
    here = [c for c in candidates if c.kind not in POOLED_KINDS] if pooled else candidates
    if not pooled:
        started()
        out = []
        for i, cand in enumerate(here):
            out.append(worker.analyze(root, cand))
            if options.progress and i % 200 == 0:
                options.progress(i, total)
        return out
    from concurrent.futures import ProcessPoolExecutor  # multiprocessing: imported only when a pool runs

    size = max(16, min(256, len(pooled) // (jobs * 8) or 16))
    batches = [pooled[i : i + size] for i in range(0, len(pooled), size)]
    with ProcessPoolExecutor(max_workers=jobs, initializer=_start_worker,
                             initargs=(str(root), paths, options.extra_agents)) as pool:
        futures = [pool.submit(_analyze_batch, str(root), batch, options.extra_agents) for batch in batches]
        started()  # after the submits: every worker is forked before the semgrep thread exists
        out = [worker.analyze(root, cand) for cand in here]
        for done, future in enumerate(futures):
            out.extend(future.result())
            if options.progress:
                options.progress(min(total, len(here) + (done + 1) * size), total)
    return out


def _finalise(findings: list[Finding]) -> list[Finding]:
    unique = {(f.rule_id, f.location, f.site_id, f.message): f for f in findings}
    ordered = sorted(unique.values(), key=lambda f: (*f.sort_key, f.site_id, f.message))
    counts: dict[tuple[str, str, str], int] = {}
    out = []
    for f in ordered:
        key = (f.rule_id, f.location.path, " ".join(f.location.quote.split()))
        ordinal = counts.get(key, 0)
        counts[key] = ordinal + 1
        out.append(replace(f, fingerprint=fingerprint(f, ordinal)))
    return out


def decide(findings: list[Finding], sites: list[LaunchSite],
           not_analysed: tuple[Skip, ...] = ()) -> tuple[Verdict, tuple[str, ...]]:
    """DESIGN §2: present > unclear > not present. A file that names an agent and could not
    be analysed makes the verdict at least unclear: what was not read cannot be called clean."""
    active = [f for f in findings if not f.suppressed]
    if any(f.severity.rank >= Severity.HIGH.rank for f in active):
        verdict = Verdict.PRESENT
    elif not_analysed or any(f.rule_id == "agent-containment-undecided" for f in active):
        verdict = Verdict.UNCLEAR
    else:
        verdict = Verdict.NOT_PRESENT
    needs = tuple(dict.fromkeys(f.needs_context for f in active if f.needs_context))
    if not_analysed:
        shown = ", ".join(s.path for s in not_analysed[:5]) + (f" and {len(not_analysed) - 5} more" if len(not_analysed) > 5 else "")
        needs += (f"{len(not_analysed)} file(s) that mention an agent could not be analysed ({shown}); review them by hand",)
    return verdict, needs
