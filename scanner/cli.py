"""The command line: thin over the engine. Exit 0 below --fail-on, 1 at or above it, 2 on error."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Any, Optional

from scanner import __version__
from scanner.model import Confidence, Severity


def _flags_show_no_type() -> None:
    """typer's rich help prints a type column for every option, `--force <bool>` included; a flag
    (and a counted flag such as -v) takes no value, so it gets none."""
    from typer import core

    original = getattr(core.TyperOption, "display_type_rich", None)
    if original is None or getattr(original, "_blastwall", False):  # older typer: nothing to fix
        return

    def display_type_rich(self, ctx):  # type: ignore[no-untyped-def]
        if getattr(self, "is_flag", False) or getattr(self, "count", False):
            return None
        return original(self, ctx)

    display_type_rich._blastwall = True  # type: ignore[attr-defined]
    core.TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]



EXIT_OK, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


class Format(str, Enum):
    text = "text"
    markdown = "markdown"
    sarif = "sarif"
    json = "json"
    github = "github"


class Color(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"


class FailOn(str, Enum):
    present = "present"
    unclear = "unclear"
    never = "never"


class UsageError(Exception):
    """A problem with how blastwall was called; reported in one line with exit code 2."""


def _inside(path: Path, scanned: Path) -> bool:
    return path == scanned or (scanned.is_dir() and scanned in path.parents)


def _write(path: Path, text: str, scanned: Path | None = None) -> None:
    """A report file. Inside the scanned folder it replaces the file through a temporary one and
    never follows a symlink; elsewhere (`/dev/stdout`, a pipe, the user's own link) it is written
    as named."""
    import os

    from scanner.remediation.write import UnsafePathError, safe_write

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if scanned is not None and not _inside(Path(os.path.abspath(path)), scanned.resolve()) \
                and not _inside(path.resolve(), scanned.resolve()):
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
        else:
            safe_write(path.parent, path.name, text, overwrite=True)
    except (OSError, UnsafePathError) as exc:
        raise UsageError(f"cannot write {path}: {getattr(exc, 'strerror', None) or exc}") from exc


def _check_output_outside(root: Path, outputs: list[Optional[Path]]) -> None:
    """Refuse report paths that would destroy something; raise UsageError (one line, exit 2).

    The rule, for -o/--output, --json-output, --sarif-output and --markdown-output:
    - an output path inside the scanned PATH that is a symlink is refused (outside PATH the
      user's own links, `/dev/stdout` and `/dev/null` included, are theirs to follow);
    - two options naming the same file are refused;
    - an output path that resolves inside the scanned PATH (the file itself, for a one-file scan)
      is refused when a file is already there, unless that file is an earlier blastwall report
      (it starts with a report's signature: `# blastwall report: `, `1. VERDICT  `, or a JSON or
      SARIF document whose tool name is blastwall). A new or empty file inside PATH is allowed,
      and so is any path outside PATH.
    """
    import os
    import re

    signature = re.compile(r'\A(?:# blastwall report: |1\. VERDICT  (?:present|not present|unclear)\b|\{\s*"'
                           r'(?:schema_version|runs|\$schema|version)"[^\0]{0,400}?"name": "blastwall")')
    try:
        scanned = root.resolve()
    except OSError as exc:
        raise UsageError(f"cannot resolve {root}: {exc.strerror or exc}") from None
    seen: dict[str, Path] = {}
    for out in outputs:
        if out is None:
            continue
        try:
            resolved = out.resolve()
        except OSError as exc:
            raise UsageError(f"cannot resolve {out}: {exc.strerror or exc}") from None
        if str(resolved) in seen:
            raise UsageError(f"{seen[str(resolved)]} and {out} name the same file; give each report its own")
        seen[str(resolved)] = out
        inside = _inside(resolved, scanned) or _inside(Path(os.path.abspath(out)), scanned)
        if inside and out.is_symlink():
            raise UsageError(f"refusing to write a report through the symlink {out}; name a real file")
        if not inside or not os.path.lexists(resolved) or (resolved.is_file() and resolved.stat().st_size == 0):
            continue
        head = ""
        if resolved.is_file():
            try:
                with open(resolved, encoding="utf-8", errors="replace") as handle:
                    head = handle.read(4096)
            except OSError:
                head = ""
        if not signature.match(head):
            raise UsageError(f"refusing to overwrite {out}: it is inside the scanned path and is not a blastwall "
                             "report; write the report to a new file or outside the scanned path")


def _project_options(path: Path, baseline: Optional[Path], diff_base: Optional[str], config: Optional[Path]) -> dict:  # type: ignore[type-arg]
    """ScanOptions fields from the project's configuration, --baseline and --diff-base."""
    from scanner.post.baseline import BaselineError, load_baseline
    from scanner.config import ConfigError, config_paths, load_config
    from scanner.post.gitdiff import GitError, changes_since

    try:
        cfg = load_config(path, config)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    config_files = [config_paths(path)[0].name]
    if config is not None:
        try:
            config_files.append(config.resolve().relative_to(path.resolve() if path.is_dir() else path.resolve().parent).as_posix())
        except (ValueError, OSError):
            pass
    try:
        prints = load_baseline(baseline) if baseline is not None else None
    except BaselineError as exc:
        raise UsageError(str(exc)) from None
    try:
        changes = changes_since(path, diff_base) if diff_base is not None else None
    except GitError as exc:
        raise UsageError(str(exc)) from None
    return {"config": cfg, "include_tests": cfg.include_tests, "excludes": cfg.exclude, "disabled_rules": cfg.disable, "extra_agents": cfg.agents,
            "severity_overrides": cfg.severity, "baseline": prints, "changes": changes,
            "config_files": tuple(dict.fromkeys(config_files))}


class _Display:
    """How the scan's results are shown: thresholds, amount of detail and colour."""

    def __init__(self, min_severity: str = "info", min_confidence: str = "low", quiet: bool = False,
                 verbose: bool = False, color: str = "auto") -> None:
        self.min_severity = min_severity
        self.min_confidence = min_confidence
        self.quiet = quiet
        self.verbose = verbose
        self.color = color


def _console(to_terminal: bool, color: str):  # type: ignore[no-untyped-def]
    """A rich console for the text report: the terminal's real width on a TTY; when piped (or
    written to a file) no width and no wrapping; colour only on a TTY (and not with NO_COLOR)
    unless `--color always`."""
    import os
    import shutil
    from io import StringIO

    from rich.console import Console

    if color == "always":
        colored = True
    elif color == "never":
        colored = False
    else:
        colored = to_terminal and not os.environ.get("NO_COLOR")
    width = shutil.get_terminal_size((100, 24)).columns if to_terminal else None
    buffer = StringIO()
    console = Console(file=buffer, force_terminal=colored, no_color=not colored,
                      color_system=("auto" if to_terminal else "standard") if colored else None,
                      width=width or 10_000, soft_wrap=True, highlight=False, emoji=False, markup=False,
                      legacy_windows=False, force_jupyter=False)
    return console, buffer, width


class _StageClock:
    """--timings: the engine adds its stages to `times`; this adds the report's output and the
    whole command, and prints one table to stderr."""

    # The stages, in pipeline order.
    ROWS = ("discovery", "prefilter", "analysis", "semgrep", "links", "verdict", "output")

    def __init__(self) -> None:
        import time

        self.times: dict[str, float] = {}
        self.start = (time.perf_counter(), time.process_time(), self._children())
        self.output_mark = self.start[:2]

    @staticmethod
    def _children() -> float:
        """CPU seconds of the children waited for so far (workers, git, ripgrep, semgrep)."""
        try:
            import resource
        except ImportError:  # not on POSIX: the total is this process alone
            return 0.0
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def start_output(self) -> None:
        import time

        self.output_mark = (time.perf_counter(), time.process_time())

    def report(self, workers: int) -> None:
        import time

        now = (time.perf_counter(), time.process_time(), self._children())
        t = self.times
        t["output.wall"] = now[0] - self.output_mark[0]
        t["output.cpu"] = now[1] - self.output_mark[1]
        filter_cpu = t.get("prefilter.files-cpu", 0.0)
        native = "prefilter.native" in t
        # Per-file CPU is measured inside the workers, so it is summed over all of them.
        t["analysis.cpu"] = t.get("analysis.files-cpu", 0.0) - filter_cpu
        t["prefilter.cpu"] = t.get("prefilter.cpu", 0.0) + t.get("prefilter.rg-cpu", 0.0) + filter_cpu
        notes = {
            "discovery": "walk, git's tracked files, skips",
            "prefilter": "ripgrep over the candidates" if native else "Python re, inside the analysis",
            "analysis": f"read, parse and judge; CPU of every worker (up to {workers}), summed",
            "semgrep": (f"beside the analysis; waited {t.get('semgrep-wait.wall', 0.0):.2f} s after it"
                        if "semgrep.ran" in t else "not started: no file with a launch call of its languages"
                        if "semgrep.wall" in t else "not started: no file of its languages names an agent"),
            "links": "cross-file context",
            "verdict": "merge, ignores, tiers, verdict",
            "output": "render and write the reports",
        }
        lines = ["blastwall timings (seconds)", f"  {'stage':<10} {'wall':>7} {'cpu':>7}"]
        for stage in self.ROWS:
            wall = t.get(f"{stage}.wall") if stage != "prefilter" or native else None  # else inside the analysis
            cpu = t.get(f"{stage}.cpu")
            lines.append(f"  {stage:<10} {_seconds(wall)} {_seconds(cpu)}  {notes[stage]}")
        total_cpu = (now[1] - self.start[1]) + (now[2] - self.start[2])
        lines.append(f"  {'total':<10} {_seconds(now[0] - self.start[0])} {_seconds(total_cpu)}  "
                     "this process and its children (workers, git, ripgrep, semgrep)")
        sys.stderr.write("\n".join(lines) + "\n")
        sys.stderr.flush()


def _seconds(value: float | None) -> str:
    return f"{value:7.2f}" if value is not None else f"{'-':>7}"


def _full_result(path, options, new_result):  # type: ignore[no-untyped-def]
    """The whole scan for SARIF when new-only mode is on: code scanning needs every alert (it
    compares runs itself), so SARIF gets all findings, each marked new or unchanged."""
    from dataclasses import replace

    from scanner.engine import scan as run_scan

    full = run_scan(path, replace(options, baseline=None, changes=None, progress=None, timings=None))
    return full, {f.fingerprint for f in new_result.findings}


def _scan(path, fmt, output, json_output, sarif_output, markdown_output, fail_on, jobs, no_progress,  # type: ignore[no-untyped-def]
          baseline=None, diff_base=None, config=None, semgrep_rules=(), exclude=(), include_tests=False,
          display=None, timings=False) -> int:
    display = display or _Display()
    import os
    import stat

    clock = _StageClock() if timings or os.environ.get("BLASTWALL_TIMINGS", "") not in ("", "0") else None

    for folder in semgrep_rules:
        if not folder.is_dir():
            raise UsageError(f"--semgrep-rules: not a folder: {folder}")

    from scanner.catalog import load_catalog
    from scanner.engine import ScanOptions, scan as run_scan

    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise UsageError(f"path does not exist: {path}") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        if not os.access(path, os.R_OK | os.X_OK):
            raise UsageError(f"permission denied: {path}")
    elif stat.S_ISREG(st.st_mode):
        if not os.access(path, os.R_OK):
            raise UsageError(f"permission denied: {path}")
    else:
        raise UsageError(f"not a regular file or folder: {path}")
    _check_output_outside(path, [output, json_output, sarif_output, markdown_output])
    project = _project_options(path, baseline, diff_base, config)
    if exclude:  # listed in the report like configured excludes
        project["cli_excludes"] = tuple(exclude)
        project["excludes"] = tuple(dict.fromkeys((*project["excludes"], *exclude)))
    if include_tests:
        project["include_tests"] = True

    bar = None
    if not no_progress and sys.stderr.isatty():
        from rich.progress import Progress

        bar = Progress(transient=True)
        task = bar.add_task("scanning", total=None)
        bar.start()
    progress = (lambda done, total: bar.update(task, completed=done, total=total)) if bar is not None else None
    sarif_wanted = fmt is Format.sarif or sarif_output is not None
    try:
        cores = os.cpu_count() or 1
        jobs = min(jobs, cores) if jobs else 0  # more workers than cores only costs memory
        options = ScanOptions(jobs=jobs, progress=progress, semgrep_rules=tuple(semgrep_rules),
                              timings=clock.times if clock is not None else None, **project)
        result = run_scan(path, options)
        full = None
        if sarif_wanted and result.new_only:
            full = _full_result(path, options, result)
    finally:
        if bar is not None:
            bar.stop()
    if clock is not None:
        clock.start_output()
    catalog = load_catalog()

    from scanner.output.overview import filter_findings

    shown, hidden = filter_findings(result, Severity(display.min_severity), Confidence(display.min_confidence))
    snippets_cache: dict[str, Any] = {}

    def snippets() -> Any:
        if "s" not in snippets_cache:
            from scanner.remediation.apply import finding_fixes

            snippets_cache["s"] = finding_fixes(path, shown)  # with each snippet's language and whether --apply writes it
        return snippets_cache["s"]

    def render(kind: Format) -> str:
        if kind is Format.json:
            from scanner.output.json_report import render_json

            return render_json(shown, catalog, snippets(), hidden=hidden)
        if kind is Format.sarif:
            from scanner.output.sarif import render_sarif

            if full is not None:
                whole, new = full
                whole, _ = filter_findings(whole, Severity(display.min_severity), Confidence(display.min_confidence))
                return render_sarif(whole, catalog, new_fingerprints=new, new_only=result.new_only)
            return render_sarif(shown, catalog)
        if kind is Format.markdown:
            from scanner.output.markdown import render_markdown

            return render_markdown(shown, catalog, snippets(), hidden=hidden)
        if kind is Format.github:
            from scanner.output.github import render_github

            return render_github(shown, catalog, hidden=hidden)
        from scanner.output.text import render_text

        console, buffer, width = _console(output is None and sys.stdout.isatty(), display.color)
        render_text(shown, console, catalog, snippets(), width=width, verbose=display.verbose, quiet=display.quiet,
                    hidden=hidden)
        return buffer.getvalue()

    for extra, kind in ((json_output, Format.json), (sarif_output, Format.sarif), (markdown_output, Format.markdown)):
        if extra is not None:
            _write(extra, render(kind), path)
    main_text = render(fmt)
    if output is not None:
        _write(output, main_text, path)
    else:
        sys.stdout.write(main_text)
        sys.stdout.flush()
    if clock is not None:
        clock.report(jobs or os.cpu_count() or 1)

    threshold = {"present": 2, "unclear": 1, "never": 99}[fail_on.value]
    return EXIT_FAIL if result.verdict.rank >= threshold else EXIT_OK


def _fix(path: Path, out: Path, force: bool, apply: bool, yes: bool) -> int:
    import typer

    from scanner.engine import ScanOptions, scan as run_scan
    from scanner.remediation import render_configs, write_configs
    from scanner.remediation.apply import plan_apply, write_plan
    from scanner.remediation.tailor import key_names, summary_lines, tailored_spec

    if not path.is_dir():
        raise UsageError(f"not a folder: {path}")
    root = path
    from scanner.remediation.write import UnsafePathError, resolve_out_dir

    try:
        # Below PATH only real folders: a symlinked `sandbox` would send every file elsewhere.
        out_dir, out_rel = resolve_out_dir(root, out)
    except UnsafePathError as exc:
        raise UsageError(str(exc)) from None
    result = run_scan(root, ScanOptions(excludes=((out_rel + "/",) if out_rel else ())))
    if not result.launch_sites:
        typer.echo("No agent launch site found; nothing to generate.")
        return EXIT_OK
    from scanner.config import ConfigError, load_config

    try:
        allowed = load_config(root).allowed_egress  # the project's extra egress hosts
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    # Paths in the generated files start at the repository root (where a workflow step runs).
    from scanner.remediation.apply import hosted_sites

    spec = tailored_spec(result, allowed, config_dir=out_rel if out_rel and out_rel != "." else ".",
                         hosted=hosted_sites(root, result))
    if spec is not None:
        try:
            report = write_configs(out_dir, render_configs(spec), force=force, within=root if out_rel else None)
        except (UnsafePathError, OSError) as exc:
            raise UsageError(f"cannot write the configs to {out.as_posix()}: {exc}") from None
        for name in report.written:
            typer.echo(f"wrote {(out_dir / name).as_posix() if out.is_absolute() else (out / name).as_posix()}")
        for name in report.skipped:
            typer.echo(f"kept existing {(out / name).as_posix()} (use --force to overwrite)")
    keys = key_names(result)
    if not apply:
        needing = {f.site_id for f in result.findings if not f.suppressed and f.severity.rank >= 3}
        if needing:
            typer.echo(f"{len(needing)} launch site(s) need a change: `blastwall fix --apply` shows the rewrite "
                       "first and lists what stays manual")
        return EXIT_OK
    if not out_rel:
        raise UsageError("--apply needs --out inside the repository, so the rewritten launches can reach the runner")
    runner_env = frozenset((*spec.secrets, *spec.pass_env)) if spec is not None else frozenset()
    plan = plan_apply(root, result, f"{out_rel}/agent-bwrap.sh", keys, runner_env=runner_env)
    if plan.edits:
        sys.stdout.write(plan.diff())
        if not yes:
            if not sys.stdin.isatty():
                raise UsageError("refusing to rewrite files without confirmation; rerun with --yes")
            if not typer.confirm(f"Rewrite {len(plan.edits)} file(s)?", default=False):
                typer.echo("Nothing changed.")
                return EXIT_OK
        try:
            written = write_plan(root, plan)
            for name in written:
                typer.echo(f"rewrote {name}")
        except (UnsafePathError, OSError) as exc:
            raise UsageError(f"stopped rewriting: {exc}") from None
        from scanner.remediation.tailor import reconcile

        reconcile(plan, run_scan(root, ScanOptions()), written)  # the loop closes, or says what is open
    for line in summary_lines(plan):
        typer.echo(line)
    return EXIT_OK


def _build_app():  # type: ignore[no-untyped-def]
    """The typer application. Built on first use, so `blastwall --version` imports no
    command-line framework."""
    import typer

    _flags_show_no_type()
    app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                      help="Find AI agents launched in the operator's own security context.")

    def _version(value: bool) -> None:
        if value:
            typer.echo(f"blastwall {__version__}")
            raise typer.Exit(EXIT_OK)


    @app.callback()
    def main_callback(
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
    ) -> None:
        """blastwall: a static scanner for the Shared Identity Runtime anti-pattern."""


    @app.command()
    def scan(
        path: Path = typer.Argument(Path("."), help="Repository folder or single file to scan."),
        format: Format = typer.Option(Format.text, "--format", "-f", metavar="FORMAT",
                                      help="Main report format: text, markdown, sarif, json or github (GitHub Actions "
                                           "workflow-command annotations)."),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the main report here instead of stdout. "
                                              "Report paths are never symlinks, and never an existing file inside PATH "
                                              "unless it is an earlier blastwall report."),
        json_output: Optional[Path] = typer.Option(None, "--json-output", help="Also write the JSON report here."),
        sarif_output: Optional[Path] = typer.Option(None, "--sarif-output", help="Also write SARIF here."),
        markdown_output: Optional[Path] = typer.Option(None, "--markdown-output", help="Also write Markdown here."),
        fail_on: FailOn = typer.Option(FailOn.present, "--fail-on", help="Exit 1 when the verdict is at or above this."),
        baseline: Optional[Path] = typer.Option(None, "--baseline", metavar="FILE",
                                                help="Report only findings not in this previous JSON report."),
        diff_base: Optional[str] = typer.Option(None, "--diff-base", metavar="REF",
                                                help="Report only findings on lines changed since this git revision."),
        config: Optional[Path] = typer.Option(None, "--config", metavar="FILE",
                                              help="Configuration file (default: .blastwall.toml, else the "
                                                   "tool.blastwall table of pyproject.toml, at PATH)."),
        semgrep_rules: list[Path] = typer.Option([], "--semgrep-rules", metavar="DIR",
                                                 help="Also run your own semgrep rules from DIR (repeatable)."),
        exclude: list[str] = typer.Option([], "--exclude", metavar="GLOB",
                                          help="Skip paths matching this gitignore-style pattern (repeatable); "
                                               "listed in the report with what it hid."),
        include_tests: bool = typer.Option(False, "--include-tests",
                                           help="Judge tests, examples, docs and benchmarks like shipped code "
                                                "(by default their findings are info and never decide the verdict)."),
        min_severity: Severity = typer.Option(Severity.INFO, "--min-severity", metavar="LEVEL",
                                                 help="Report only findings at or above this severity: info, low, "
                                                      "medium, high or critical (the verdict still counts every finding)."),
        min_confidence: Confidence = typer.Option(Confidence.LOW, "--min-confidence", metavar="LEVEL",
                                                     help="Report only findings at or above this confidence: low, medium "
                                                          "or high (the verdict still counts every finding)."),
        quiet: bool = typer.Option(False, "--quiet", "-q",
                                   help="Text format: print only the verdict and the closing summary line."),
        verbose: int = typer.Option(0, "--verbose", "-v", count=True, show_default=False,
                                    help="Text format: show every launch site and every fix (the default shows the "
                                         "few that decide the verdict)."),
        color: Color = typer.Option(Color.auto, "--color", metavar="WHEN",
                                    help="Colour the text report: auto (only on a terminal, and not with NO_COLOR), "
                                         "always or never."),
        jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Worker processes (0 = one per core; at most the cores)."),
        no_progress: bool = typer.Option(False, "--no-progress", help="Never show a progress bar."),
        timings: bool = typer.Option(False, "--timings",
                                     help="Print the seconds spent in each stage to stderr (also BLASTWALL_TIMINGS=1)."),
        debug: bool = typer.Option(False, "--debug", help="Show tracebacks for internal errors."),
    ) -> None:
        """Scan PATH and answer VERDICT / EVIDENCE / WHY IT MATTERS / FIX."""
        try:
            if quiet and verbose:
                raise UsageError("--quiet and --verbose cannot be used together")
            code = _scan(path, format, output, json_output, sarif_output, markdown_output, fail_on, jobs, no_progress,
                         baseline=baseline, diff_base=diff_base, config=config, semgrep_rules=semgrep_rules,
                         exclude=tuple(exclude), include_tests=include_tests, timings=timings,
                         display=_Display(min_severity.value, min_confidence.value, quiet, verbose > 0, color.value))
        except UsageError as exc:
            typer.echo(f"blastwall: error: {exc}", err=True)
            raise typer.Exit(EXIT_ERROR)
        except KeyboardInterrupt:
            typer.echo("blastwall: interrupted", err=True)
            raise typer.Exit(EXIT_ERROR)
        except Exception as exc:  # noqa: BLE001 - the one place internal errors become exit 2
            if debug:
                raise
            typer.echo(f"blastwall: internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)", err=True)
            raise typer.Exit(EXIT_ERROR)
        raise typer.Exit(code)


    @app.command("rules")
    def rules_command() -> None:
        """List the rule catalog."""
        from scanner.catalog import load_catalog

        catalog = load_catalog()
        for rule in sorted(catalog.rules.values(), key=lambda r: r.id):
            typer.echo(f"{rule.id:38} {rule.severity.value:9} {rule.category:22} {rule.title}")


    @app.command("explain")
    def explain(rule_id: str = typer.Argument(..., help="A rule id from `blastwall rules`.")) -> None:
        """Show a rule's why, fix and before/after examples."""
        from scanner.catalog import load_catalog

        catalog = load_catalog()
        rule = catalog.rules.get(rule_id)
        if rule is None:
            typer.echo(f"blastwall: error: unknown rule {rule_id!r}; see `blastwall rules`", err=True)
            raise typer.Exit(EXIT_ERROR)
        from scanner.output.overview import rule_doc_url

        typer.echo(f"{rule.id}: {rule.title}\nseverity: {rule.severity.value}   category: {rule.category}\n"
                   f"docs: {rule_doc_url(rule.id)}\n")
        typer.echo(f"WHY IT MATTERS\n  {rule.why}\n\nFIX\n  {rule.fix}")
        for surface, example in sorted(rule.fix_examples.items()):
            typer.echo(f"\n  {surface}, before:\n    " + example.before.replace("\n", "\n    "))
            typer.echo("  after:\n    " + example.after.replace("\n", "\n    "))


    @app.command("fix")
    def fix(
        path: Path = typer.Argument(Path("."), help="Repository folder to remediate."),
        out: Path = typer.Option(Path("sandbox"), "--out",
                                 help="Folder for the generated configs (relative paths are inside PATH; no folder "
                                      "below PATH on the way may be a symlink; a folder outside PATH must be named "
                                      "explicitly)."),
        force: bool = typer.Option(False, "--force", help="Overwrite generated files that already exist."),
        apply: bool = typer.Option(False, "--apply", help="Rewrite launch sites to go through the generated runner."),
        yes: bool = typer.Option(False, "--yes", "-y", help="Apply without asking."),
        debug: bool = typer.Option(False, "--debug", help="Show tracebacks for internal errors."),
    ) -> None:
        """Write sandbox configs tailored to PATH's launch sites; with --apply, route the sites through them."""
        try:
            code = _fix(path, out, force, apply, yes)
        except UsageError as exc:
            typer.echo(f"blastwall: error: {exc}", err=True)
            raise typer.Exit(EXIT_ERROR)
        except Exception as exc:  # noqa: BLE001
            if debug:
                raise
            typer.echo(f"blastwall: internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)", err=True)
            raise typer.Exit(EXIT_ERROR)
        raise typer.Exit(code)
    return app


_APP: Any = None


def _app() -> Any:
    global _APP
    if _APP is None:
        _APP = _build_app()
    return _APP


def __getattr__(name: str) -> Any:  # `scanner.cli.app`, built on first use
    if name == "app":
        return _app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    if sys.argv[1:] == ["--version"]:  # answered before the command-line framework is imported
        sys.stdout.write(f"blastwall {__version__}\n")
        sys.stdout.flush()
        return
    _app()()
