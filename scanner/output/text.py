"""Terminal report: the four-part answer, summary first, then zizmor's closing count line.

Repository text is printed as rich `Text` (never markup), so a quoted line shows exactly as in the
file (`docker run \\` keeps its one backslash) with only control characters made visible. Colour
comes from the console the caller builds (a TTY or `--color always`). Prose is wrapped with a
hanging indent only when a width is given (a terminal); piped output is never wrapped, so CI logs
keep every line whole.

Default: the verdict with counts, the few sites that decide it in full, the three most severe
fixes, the closing line (under 80 lines at any scale). `verbose` shows every site and every fix;
`quiet` only the verdict and the closing line.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from scanner.catalog import Catalog
from scanner.discover.walk import GITIGNORED_WITHOUT_GIT
from scanner.model import Finding, ScanResult, Verdict
from scanner.output.answer import APPLY_NOTE, Snippets, fix_items, why_text
from scanner.output.overview import (
    TIER_WORDS,
    message_parts,
    VERDICT_LINE,
    Overview,
    SiteView,
    boundary_text,
    build,
    deciding_finding,
    kind_of,
    plural,
    site_title,
)
from scanner.output.sanitize import plain

STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
VERDICT_STYLE = {Verdict.PRESENT: "bold red", Verdict.UNCLEAR: "bold yellow", Verdict.NOT_PRESENT: "bold green"}
SITES_SHOWN = 3  # sites in full without --verbose
FIXES_SHOWN = 3  # fixes in full without --verbose
LISTED = 5  # entries of a list (not analysed, silencers, ...) without --verbose


class _Out:
    """Lines for the console. With a `width` (a terminal) a long line is wrapped at word breaks
    with a hanging indent, except `exact` lines (quoted code), which the terminal may wrap but
    which are never re-broken; with no width (piped) nothing is wrapped."""

    def __init__(self, console: Console, width: int | None) -> None:
        self.console = console
        self.width = width
        self.lines = 0

    def _emit(self, text: Text) -> None:
        self.console.print(text, soft_wrap=True, highlight=False, markup=False, emoji=False)
        self.lines += 1

    def line(self, *parts: str | Text | tuple[str, str], exact: bool = False, hang: int | None = None) -> None:
        text = Text()
        for part in parts:
            if isinstance(part, tuple):
                text.append(plain(part[0], 2000), style=part[1])
            elif isinstance(part, Text):
                text.append_text(part)
            else:
                text.append(part)
        if exact or self.width is None or text.cell_len <= self.width:
            self._emit(text)
            return
        indent = len(text.plain) - len(text.plain.lstrip(" "))
        cont = indent + 2 if hang is None else hang
        body = text[indent:]
        rows = body.wrap(self.console, max(20, self.width - cont), overflow="fold")
        for i, row in enumerate(rows):
            row.rstrip()
            self._emit(Text(" " * (indent if i == 0 else cont)) + row)

    def prose(self, indent: int, body: str, style: str = "") -> None:
        """A paragraph. Values in backticks are styled; their backticks stay unless the value has its own."""
        text = Text(style=style)
        for part, code in message_parts(plain(body, 4000)):
            if code:
                text.append(part if "`" in part else f"`{part}`", style="cyan")
            else:
                text.append(part)
        self.line(" " * indent, text, hang=indent)


def _sev(severity: str, width: int = 8) -> tuple[str, str]:
    return (f"{severity:<{width}}", STYLE.get(severity, ""))


def _where(path: str, line: int) -> tuple[str, str]:
    return (f"{path}:{line}", "bold")


def _finding(out: _Out, f: Finding, view: SiteView, quoted: set[tuple[str, int]]) -> None:
    site = view.site
    loc = f.location
    parts: list[str | Text | tuple[str, str]] = ["     ", _sev(f.severity.value), " ", (f.rule_id, "bold")]
    if f.confidence.value != "high":
        parts.append((f" ({f.confidence.value} confidence)", "dim"))
    if f.suppressed:
        parts.append((f" suppressed: {f.suppressed}", "dim"))
    elsewhere = (loc.path, loc.line) != (site.location.path, site.location.line)
    if elsewhere:
        parts += ["  ", ((f":{loc.line}" if loc.path == site.location.path else f"{loc.path}:{loc.line}"), "bold")]
    out.line(*parts)
    if elsewhere and (loc.path, loc.line) not in quoted and loc.quote:
        quoted.add((loc.path, loc.line))
        out.line("       ", (loc.quote, "dim"), exact=True)
    out.prose(7, f.message)


def _site(out: _Out, view: SiteView) -> None:
    site = view.site
    c = site.containment
    tier = "" if view.tier == "shipped" else f"  [{TIER_WORDS.get(view.tier, view.tier)}]"
    out.line("   ", _where(site.location.path, site.location.line), "  ", (site_title(site), "bold"),
             (f"  (boundary {boundary_text(site)}, env {c.env.value}, egress {c.egress.value}){tier}", "dim"))
    if site.location.quote:
        out.line("     ", (site.location.quote, ""), exact=True)
    quoted = {(site.location.path, site.location.line)}
    for f in view.findings:
        _finding(out, f, view, quoted)


def _verdict(out: _Out, ov: Overview, verbose: bool) -> None:
    result = ov.result
    out.line(("1. VERDICT", "bold"), "  ", (result.verdict.value, VERDICT_STYLE[result.verdict]),
             f" — {VERDICT_LINE[result.verdict]}", hang=3)
    out.line("   ", ov.counts_line())
    if result.new_only:
        out.line("   ", (f"new findings only ({result.new_only}): {result.filtered_preexisting} pre-existing left out",
                         "dim"))
    limit = None if verbose else LISTED
    for skip in result.coverage.not_analysed[:limit]:
        out.line("   ", ("not analysed", "yellow"), f": {skip.path} ({skip.reason})")
    if limit and len(result.coverage.not_analysed) > limit:
        out.line("   ", (f"… and {len(result.coverage.not_analysed) - limit} more not analysed (-v lists them)", "dim"))
    label = "context needed" if result.verdict is not Verdict.PRESENT else "also depends on"
    for item in result.needs_context[:limit]:
        out.line("   ", (label, "yellow"), f": {item}")
    for note in result.review_notes[:limit]:
        out.line("   ", ("config change", "yellow"), f": {note.path}:{note.line}  {note.text}")
    for item in result.silencers[:limit]:
        where = f"{item.path}:{item.line}" if item.path else "command line"
        out.line("   ", ("changed by configuration", "yellow"), f": {where}  {item.text} — {item.effect}")
    if limit and len(result.silencers) > limit:
        out.line("   ", (f"… and {len(result.silencers) - limit} more changes by configuration (-v lists them)", "dim"))
    if ov.deciding:
        what = "high or critical findings" if result.verdict is Verdict.PRESENT else "context from outside the repository"
        out.line("   ", f"decided by {plural(len(ov.deciding), 'site')} with {what}:")
        for v in ov.deciding[: None if verbose else 5]:
            top = deciding_finding(v, result.verdict) or v.active[0]
            more = len(v.active) - 1
            out.line("     ", _where(v.site.location.path, v.site.location.line), "  ", v.site.agent_name, "  ",
                     (top.severity.value, STYLE[top.severity.value]), " ", top.rule_id,
                     (f" +{more}" if more else "", "dim"))
        if not verbose and len(ov.deciding) > 5:
            out.line("     ", (f"… and {len(ov.deciding) - 5} more", "dim"))
    if ov.rules:
        rules: list[str | Text | tuple[str, str]] = ["   rules: "]
        for i, r in enumerate(ov.rules):
            rules += [("" if not i else " · ", ""), (r.severity.value, STYLE[r.severity.value]),
                      f" {r.rule_id} {r.at_severity}", (f" (+{r.lower} lower)" if r.lower else "", "dim")]
        out.line(*rules, hang=10)
    if len(ov.folders) > 1:
        shown = ov.folders[:5]
        text = " · ".join(f"{name} {plural(sites, 'site')}" for name, sites, _ in shown)
        more = f" · {len(ov.folders) - 5} more" if len(ov.folders) > 5 else ""
        out.line("   folders: ", text, (more, "dim"), hang=12)


def render_text(result: ScanResult, console: Console, catalog: Catalog,
                snippets: Snippets | None = None, *, width: int | None = None,
                verbose: bool = False, quiet: bool = False, hidden: int = 0) -> None:
    ov = build(result, hidden)
    out = _Out(console, width)
    if quiet:
        out.line(("1. VERDICT", "bold"), "  ", (result.verdict.value, VERDICT_STYLE[result.verdict]),
                 f" — {VERDICT_LINE[result.verdict]}", hang=3)
        for skip in result.coverage.not_analysed:
            out.line("   ", ("not analysed", "yellow"), f": {skip.path} ({skip.reason})")
        out.line((ov.closing_line(), "bold"))
        return
    _verdict(out, ov, verbose)

    out.line(("2. EVIDENCE", "bold"))
    if not result.launch_sites:
        out.line(f"   no agent launch site in {result.coverage.files_scanned} scanned files "
                 f"({len(result.coverage.search_terms)} search terms)")
    if ov.unshown_sites:
        out.line("   ", (f"{plural(ov.unshown_sites, 'other launch site')} with no new finding not shown", "dim"))
    views = [v for fv in ov.files for v in fv.sites]
    if verbose:
        chosen = views
    else:
        # One site of each kind, those that decide the verdict first, then other shipped code.
        kinds = set()
        chosen = []
        for v in [*(v for v in ov.deciding if v.tier == "shipped"), *(v for v in views if v.tier == "shipped"), *views]:
            if len(chosen) < SITES_SHOWN and kind_of(v) not in kinds:
                chosen.append(v)
                kinds.add(kind_of(v))
    ids = {id(v) for v in chosen}
    for v in views:  # file order, shipped code first
        if id(v) in ids:
            _site(out, v)
    rest = [v for v in views if id(v) not in ids]
    if rest:
        tiers: dict[str, int] = {}
        for v in rest:
            tiers[v.tier] = tiers.get(v.tier, 0) + 1
        where = ", ".join(f"{n} in {TIER_WORDS.get(t, t)}" for t, n in tiers.items())
        out.line("   ", (f"… {plural(len(rest), 'more launch site')} ({where}): -v shows each, "
                         "--format markdown groups them by file", "dim"))
    for fv in ov.files:
        for f in fv.loose:
            out.line("   ", _sev(f.severity.value), " ", (f.rule_id, "bold"), "  ", _where(f.location.path, f.location.line),
                     f"  {f.message}")
    for capped in result.capped:
        out.line("   ", (f"… {capped.count} more {capped.rule_id} in {capped.path} (not listed)", "dim"))

    out.line(("3. WHY IT MATTERS", "bold"))
    out.prose(3, why_text(result, catalog))

    out.line(("4. FIX", "bold"))
    items = fix_items(result, catalog, snippets or {})
    if not items:
        out.line("   nothing to fix")
    for n, item in enumerate(items[: None if verbose else FIXES_SHOWN], 1):
        out.line(f"   {n}. ", (item.rule_id, "bold"), "  ", item.title,
                 (f"  ({plural(item.findings, 'finding')} at {plural(item.sites, 'site')})", "dim"), hang=6)
        out.prose(6, item.summary)
        if item.covered_by:
            out.line("      ", (f"the rewrite under {item.covered_by} covers this too", "dim"))
        elif item.before:
            label = f"{item.where.path}:{item.where.line}" if item.rewrite else "for example"
            out.line("      ", (label, "dim"))
            for row in item.before.split("\n"):
                out.line("      ", ("- ", "red"), (row, ""), exact=True)
            for row in item.after.split("\n"):
                out.line("      ", ("+ ", "green"), (row, ""), exact=True)
            if item.rewrite and item.applies is not None:
                out.line("      ", (APPLY_NOTE[item.applies].replace("`", ""), "dim"))
        out.line("      ", ("docs: ", "dim"), (item.help_uri, "dim"), exact=True)
    if not verbose and len(items) > FIXES_SHOWN:
        out.line("   ", (f"… {plural(len(items) - FIXES_SHOWN, 'more rule')}: "
                         + ", ".join(i.rule_id for i in items[FIXES_SHOWN:])
                         + " (-v shows them; blastwall explain RULE)", "dim"))
    if items:
        out.line("   ", ("blastwall fix writes sandbox configs tailored to these sites", "dim"))

    cov = result.coverage
    skipped = sum(cov.skipped.values())
    tiers_text = "; ".join(f"{TIER_WORDS.get(t.tier, t.tier)}: {plural(t.sites, 'site')}" for t in ov.tiers)
    untold = cov.skipped.get(GITIGNORED_WITHOUT_GIT, 0)
    out.line((f"scanned {plural(cov.files_scanned, 'file')} ({cov.files_parsed} parsed), skipped {skipped}"
              + (f" ({untold} by .gitignore with no git data: in a checkout, tracked ones are scanned)" if untold else "")
              + (f"; {tiers_text}" if tiers_text else ""), "dim"))
    out.line((ov.closing_line(), "bold"))


