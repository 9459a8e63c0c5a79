"""Terminal report with rich: colour only on a TTY, every repo string stripped of escapes."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from scanner.catalog import Catalog
from scanner.model import ScanResult, Verdict
from scanner.output.answer import fix_items, why_text
from scanner.output.sanitize import plain

_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
_VERDICT_STYLE = {Verdict.PRESENT: "bold red", Verdict.UNCLEAR: "bold yellow", Verdict.NOT_PRESENT: "bold green"}


def _s(text: str) -> str:
    return escape(plain(text))


_FIXES_SHOWN = 3


def render_text(result: ScanResult, console: Console, catalog: Catalog,
                snippets: dict[str, tuple[str, str]] | None = None) -> None:
    console.print(f"[bold]1. VERDICT[/]  [{_VERDICT_STYLE[result.verdict]}]{result.verdict.value}[/]")
    for item in result.needs_context:
        console.print(f"   needs: {_s(item)}")
    if result.new_only:
        console.print(f"   new findings only ({_s(result.new_only)}): {result.filtered_preexisting} filtered as pre-existing")
    for note in result.review_notes:
        console.print(f"   config change: {_s(note.path)}:{note.line}  {_s(note.text)}")
    for skip in result.coverage.not_analysed:
        console.print(f"   [yellow]not analysed[/]: {_s(skip.path)} ({_s(skip.reason)})")
    for item in result.silencers:
        where = f"{_s(item.path)}:{item.line}" if item.path else "command line"
        console.print(f"   [yellow]changed by configuration[/]: {where}  {_s(item.text)} — {_s(item.effect)}")
    console.print("[bold]2. EVIDENCE[/]")
    if not result.launch_sites:
        console.print(f"   no agent launch site in {result.coverage.files_scanned} scanned files")
    by_site: dict[str, list] = {}
    for f in result.findings:
        by_site.setdefault(f.site_id, []).append(f)
    for site in result.launch_sites:
        c = site.containment
        console.print(f"   [bold]{_s(site.agent_name)}[/] via {_s(site.launcher)} at "
                      f"{_s(site.location.path)}:{site.location.line}  "
                      f"(boundary {c.boundary.value}, env {c.env.value}, egress {c.egress.value})")
        for f in by_site.get(site.site_id, []):
            sup = " [dim](suppressed)[/]" if f.suppressed else ""
            console.print(f"     [{_STYLE[f.severity.value]}]{f.severity.value:8}[/] {f.rule_id}{sup}  "
                          f"{_s(f.location.path)}:{f.location.line}")
            console.print(f"              {_s(f.location.quote)}", style="dim", highlight=False)
    for capped in result.capped:
        console.print(f"   … {capped.count} more {capped.rule_id} in {_s(capped.path)}", style="dim")
    site_ids = {s.site_id for s in result.launch_sites}
    for f in (f for f in result.findings if f.site_id not in site_ids):
        console.print(f"   [{_STYLE[f.severity.value]}]{f.severity.value:8}[/] {f.rule_id}  "
                      f"{_s(f.location.path)}:{f.location.line}  {_s(f.message)}")
    console.print("[bold]3. WHY IT MATTERS[/]")
    console.print(f"   {_s(why_text(result, catalog))}", highlight=False)
    console.print("[bold]4. FIX[/]")
    items = fix_items(result, catalog, snippets or {})
    if not items:
        console.print("   nothing to fix")
    for item in items[:_FIXES_SHOWN]:
        console.print(f"   [bold]{_s(item.title)}[/] ({item.rule_id})")
        console.print(f"     {_s(item.summary)}", highlight=False)
        if item.before:
            console.print(f"     before ({_s(item.where.path)}:{item.where.line}):", style="dim")
            for line in item.before.split("\n"):
                console.print(f"       {_s(line)}", highlight=False)
            console.print("     after:", style="dim")
            for line in item.after.split("\n"):
                console.print(f"       {_s(line)}", highlight=False)
    if len(items) > _FIXES_SHOWN:
        console.print(f"   … {len(items) - _FIXES_SHOWN} more in `--format markdown`; `blastwall fix` writes sandbox configs")
    cov = result.coverage
    skipped = sum(cov.skipped.values())
    console.print(f"[dim]scanned {cov.files_scanned} files ({cov.files_parsed} parsed), skipped {skipped}; "
                  f"{len(result.launch_sites)} launch sites, {len(result.findings)} findings[/]")
