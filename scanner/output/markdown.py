"""Markdown report: the seed's four sections, summary first, rendered from reports/report.md.j2.

Layout (the same at 1 site and at 1,000): the verdict with counts by severity, by rule and by
folder and the few sites that decide it; the evidence grouped by file, each launch site once with
its findings most severe first and each quoted line once (sites past the first few in one table,
sites in tests, examples and docs folded away); WHY once; FIX once per rule; one diagram per
distinct containment shape; then the scope.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache

import jinja2

from scanner.catalog import Catalog
from scanner.model import Finding, Location, ScanResult, Verdict
from scanner.output.answer import APPLY_NOTE, Snippets, deciding_rule, fix_items, why_text
from scanner.output.overview import (
    TIER_WORDS,
    VERDICT_LINE,
    Overview,
    ShapeView,
    SiteView,
    boundary_text,
    build,
    deciding_finding,
    folder_of,
    kind_of,
    plural,
    site_title,
)
from scanner.output.overview import message_parts
from scanner.output.sanitize import ZWSP, _escape_inline, md_code, md_fence, md_literal, md_named, md_text, plain
from scanner.resources import reports_dir

DETAILED_SITES = 5  # sites shown in full; past this many sites the rest go in one table
ALL_DETAILED_UPTO = 8  # a report with at most this many sites shows every one in full
DIAGRAMS = 4  # distinct containment shapes drawn
LISTED = 10  # entries of a list shown before "and N more"
FOUND_AT = 5  # locations named under a fix


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(reports_dir())),
        autoescape=False,  # values are escaped for Markdown in Python before they get here
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("report.md.j2")


def md_message(text: str) -> str:
    """Prose whose `values` become code spans (a value may hold backticks of its own, see
    `message_parts`) and whose rest is escaped by the one sanitizer."""
    out = []
    parts = message_parts(text)
    for i, (part, code) in enumerate(parts):
        if code:
            if out and out[-1].endswith("`"):
                out.append(ZWSP)  # two spans that touch would pair their fences differently
            out.append(md_code(part))
        else:
            out.append(_escape_inline(plain(part), entities=False, line_start=not i))
    return "".join(out)


def _where(loc: Location) -> str:
    return f"{md_literal(loc.path)} line {loc.line}"  # also a table cell: a `|` stays in it


def _sev(severity: str) -> str:
    return f"**{severity}**" if severity in ("critical", "high") else severity


# A snippet's language -> its fence's info string (md_fence keeps [a-z0-9-] of it); others as they are.
_FENCE_LANG = {"shell": "sh", "text": ""}


def _label(text: str) -> str:
    """A Mermaid label: our own vocabulary plus a catalog name, quotes and brackets neutralised."""
    return "".join(ch for ch in text if ch.isalnum() or ch in " .,:/+()-").strip()[:60] or "agent"


def _diagram(view: ShapeView) -> str:
    """Operator zone, the agent's runtime today and after the fix, and what crosses between them."""
    shape = view.shape
    agent = _label(view.agent)
    return "\n".join([
        "```mermaid",
        "flowchart LR",
        '  subgraph OP["Operator zone"]',
        '    C["Credentials"]',
        '    F["Files: home and repository"]',
        '    N["Network"]',
        "  end",
        f'  subgraph NOW["Today: {_label(shape.today)}"]',
        f'    A["{agent}"]',
        "  end",
        f'  C -- "{_label(shape.creds)}" --> A',
        f'  F -- "{_label(shape.files)}" --> A',
        f'  A -- "{_label(shape.net)}" --> N',
        '  subgraph FIX["After the fix: ephemeral sandbox"]',
        f'    B["{agent}"]',
        "  end",
        '  C -. "model key by name" .-> B',
        '  F -. "target read-only" .-> B',
        '  B -. "allow-list or none" .-> N',
        "```",
    ])


def _more(count: int, what: str = "") -> str:
    return f"… and {count} more{(' ' + what) if what else ''}."


def _finding_line(f: Finding, site: SiteView, quoted: set[tuple[str, int]]) -> str:
    """One finding under its site: severity, rule, where (if not the site's line) and message."""
    loc = f.location
    where = ""
    if (loc.path, loc.line) != (site.site.location.path, site.site.location.line):
        where = f" at line {loc.line}" if loc.path == site.site.location.path else f" at {_where(loc)}"
        if (loc.path, loc.line) not in quoted and loc.quote:
            where += f" {md_code(loc.quote)}"
            quoted.add((loc.path, loc.line))
    conf = f" ({f.confidence.value} confidence)" if f.confidence.value != "high" else ""
    sup = f" — suppressed: {md_text(f.suppressed)}" if f.suppressed else ""
    return f"{_sev(f.severity.value)}{conf} {md_code(f.rule_id)}{where}: {md_message(f.message)}{sup}"


def _detailed(view: SiteView) -> dict[str, object]:
    site = view.site
    c = site.containment
    quoted = {(site.location.path, site.location.line)}
    return {
        "title": f"Line {site.location.line}: {md_named(site_title(site))}",
        "facts": f"boundary: {md_text(boundary_text(site))} · environment: {md_text(c.env.value)} · "
                 f"egress: {md_text(c.egress.value)}",
        "quote": md_code(site.location.quote) if site.location.quote else "",
        "findings": [_finding_line(f, view, quoted) for f in view.findings],
    }


def _signature(view: SiteView) -> tuple[object, ...]:
    """What a table row says about a site, apart from where it is: sites that share it share a row."""
    site = view.site
    same = (site.location.path, site.location.line)
    return (site.agent_name, boundary_text(site), site.location.quote,
            tuple((f.severity.value, f.rule_id, bool(f.suppressed),
                   0 if (f.location.path, f.location.line) == same else f.location.line - site.location.line)
                  for f in view.findings))


def _finding_cell(view: SiteView, many: bool) -> str:
    """The site's findings, most severe first, grouped by severity, for a table cell (rule ids
    only; the messages are in the JSON and SARIF)."""
    groups: list[tuple[str, list[str]]] = []
    for f in view.findings:
        loc = f.location
        at = ""
        if (loc.path, loc.line) != (view.site.location.path, view.site.location.line):
            delta = loc.line - view.site.location.line
            at = f" (line {loc.line})" if not many else f" ({'+' if delta >= 0 else ''}{delta} lines)"
        sup = " suppressed" if f.suppressed else ""
        text = f"{md_literal(f.rule_id)}{at}{sup}"
        if groups and groups[-1][0] == f.severity.value:
            groups[-1][1].append(text)
        else:
            groups.append((f.severity.value, [text]))
    return "; ".join(f"{_sev(sev)}: {', '.join(items)}" for sev, items in groups) or "none"


def _rows(views: list[SiteView]) -> list[dict[str, str]]:
    """One row per group of sites in the same folder that say the same thing, in file order."""
    groups: OrderedDict[tuple[object, ...], list[SiteView]] = OrderedDict()
    for v in views:
        groups.setdefault((folder_of(v.site.location.path), _signature(v)), []).append(v)
    out = []
    for members in groups.values():
        first = members[0]
        where = ", ".join(_where(v.site.location) for v in members)
        site = first.site
        out.append({
            "where": where + (f" ({len(members)} sites)" if len(members) > 1 else ""),
            "agent": md_named(site.agent_name),
            "boundary": md_text(boundary_text(site)),
            "findings": _finding_cell(first, len(members) > 1),
            "quote": md_literal(site.location.quote) if site.location.quote else "",
        })
    return out


def _evidence(ov: Overview) -> dict[str, object]:
    shipped = [v for f in ov.files for v in f.sites if v.tier == "shipped"]
    other = [v for f in ov.files for v in f.sites if v.tier != "shipped"]
    everything = len(shipped) + len(other)
    if everything <= ALL_DETAILED_UPTO:
        detailed = shipped + other
    else:
        # One site of each kind, those that decide the verdict first, then other shipped code.
        kinds = set()
        chosen = []
        for v in [*(v for v in ov.deciding if v.tier == "shipped"), *shipped]:
            if len(chosen) < DETAILED_SITES and kind_of(v) not in kinds:
                chosen.append(v)
                kinds.add(kind_of(v))
        detailed = chosen
    ids = {id(v) for v in detailed}
    files = []
    for fv in ov.files:
        sites = [v for v in fv.sites if id(v) in ids]
        if sites:
            files.append({"path": md_code(fv.path), "sites": [_detailed(v) for v in sites]})
    rest_shipped = [v for v in shipped if id(v) not in ids]
    rest_other = [v for v in other if id(v) not in ids]
    tiers = sorted({v.tier for v in rest_other})
    loose = [
        f"{_sev(f.severity.value)} {md_code(f.rule_id)} at {_where(f.location)}: {md_code(f.location.quote)} "
        f"{md_message(f.message)}" for fv in ov.files for f in fv.loose
    ]
    return {
        "files": files,
        "table": _rows(rest_shipped),
        "other_table": _rows(rest_other),
        "other_summary": (f"{plural(len(rest_other), 'launch site')} in "
                          + ", ".join(TIER_WORDS.get(t, t) for t in tiers)
                          + (" — reported at info, they never decide the verdict (scan with --include-tests "
                             "to judge them)" if all(f.severity.value == "info" for v in rest_other for f in v.active)
                             else "")),
        "loose": loose,
        "unshown": ov.unshown_sites,
    }


def _decided_by(ov: Overview) -> list[str]:
    out = []
    for v in ov.deciding[:5]:
        lead = deciding_finding(v, ov.verdict)
        top = [lead] if ov.verdict is Verdict.UNCLEAR and lead else [f for f in v.active if f.severity.rank >= v.worst.rank]
        rules = ", ".join(md_code(f.rule_id) for f in top[:3])
        extra = len(v.active) - min(3, len(top))
        tier = "" if v.tier == "shipped" else f" (in {TIER_WORDS.get(v.tier, v.tier)})"
        out.append(f"{_where(v.site.location)}{tier} — {md_named(site_title(v.site))}: "
                   f"{_sev(top[0].severity.value)} {rules}{f' and {extra} more' if extra > 0 else ''}")
    return out


def _fixes(result: ScanResult, catalog: Catalog, snippets: Snippets) -> list[dict[str, object]]:
    out = []
    for n, item in enumerate(fix_items(result, catalog, snippets), 1):
        found = ", ".join(_where(loc) for loc in item.locations[:FOUND_AT])
        if len(item.locations) > FOUND_AT:
            found += f" and {len(item.locations) - FOUND_AT} more"
        lang = _FENCE_LANG.get(item.language, item.language)
        out.append({
            "n": n,
            "rule": md_code(item.rule_id),
            "title": md_text(item.title),
            "count": f"{_sev(item.severity.value)} · {plural(item.findings, 'finding')} at {plural(item.sites, 'launch site')}",
            "summary": md_message(item.summary),
            "rewrite": item.rewrite,
            "apply_note": md_message(APPLY_NOTE[item.applies]) if item.rewrite and item.applies is not None else "",
            "where": _where(item.where),
            "before": md_fence(item.before, lang) if item.before else "",
            "after": md_fence(item.after, lang) if item.before else "",
            "covered_by": md_code(item.covered_by) if item.covered_by else "",
            "found": found,
            "doc": md_code(item.help_uri),  # shown, not linked: no report makes links (tests/test_security_markdown.py)
        })
    return out


def _shapes(ov: Overview) -> list[dict[str, str]]:
    out = []
    for view in ov.shapes[:DIAGRAMS]:
        names = ", ".join(_where(v.site.location) for v in view.sites[:3])
        if len(view.sites) > 3:
            names += f" and {len(view.sites) - 3} more"
        out.append({
            # Inside <summary> Markdown is not read: only blastwall's own words go there. The
            # boundary is named with its tool, as the shape is grouped by it (two shapes never
            # read alike).
            "summary": f"Today: {view.shape.today} — {view.shape.creds}, {view.shape.files}, {view.shape.net} "
                       f"({plural(len(view.sites), 'launch site')})",
            "sites": names,
            "diagram": _diagram(view),
        })
    return out


def _listed(items: list[str], limit: int = LISTED) -> list[str]:
    return items[:limit] + ([_more(len(items) - limit, "under Scope")] if len(items) > limit else [])


def render_markdown(result: ScanResult, catalog: Catalog, snippets: Snippets | None = None,
                    hidden: int = 0) -> str:
    ov = build(result, hidden)
    cov = result.coverage
    snippets = snippets or {}
    why_rule = deciding_rule(result, catalog)
    others = [r for r in ov.rules if r.rule_id != why_rule and r.rule_id in catalog.rules
              and r.severity.value != "info"]
    not_analysed = [f"{md_code(s.path)} ({md_text(s.reason)})" for s in cov.not_analysed]
    silencers = [(f"{md_code(s.path)} line {s.line}: " if s.path else "command line: ")
                 + f"{md_code(s.text)} — {md_text(s.effect)}" for s in result.silencers]
    tiers = []
    for t in ov.tiers:
        info = "" if t.tier == "shipped" else " (info unless `--include-tests`)"
        tiers.append(f"{TIER_WORDS.get(t.tier, t.tier).capitalize()}: {plural(t.sites, 'launch site')}, "
                     f"{plural(t.findings, 'finding')}{info}")
    deciding_total = len(ov.deciding)
    return _template().render(
        verdict=result.verdict.value.upper(),
        verdict_line=VERDICT_LINE[result.verdict],
        counts=md_text(ov.counts_line()),
        hidden=hidden,
        present=result.verdict is Verdict.PRESENT,
        needs_context=[md_message(n) for n in result.needs_context[:LISTED]],
        needs_more=max(0, len(result.needs_context) - LISTED),
        new_only=md_text(result.new_only),
        filtered=result.filtered_preexisting,
        review_notes=[f"{md_code(n.path)} line {n.line}: {md_code(n.text)}" for n in result.review_notes],
        not_analysed=_listed(not_analysed),
        silencers=_listed(silencers),
        decided_by=_decided_by(ov),
        decided_more=max(0, deciding_total - 5),
        decided_total=deciding_total,
        rules=[{"rule": md_code(r.rule_id), "severity": _sev(r.severity.value), "findings": f"{r.at_severity} (+{r.lower} lower)" if r.lower else r.at_severity,
                "sites": r.sites, "suppressed": r.suppressed} for r in ov.rules],
        folders=[{"folder": md_literal(name), "sites": s, "findings": n} for name, s, n in ov.folders[:5]],
        folders_more=max(0, len(ov.folders) - 5),
        sites=bool(ov.sites) or bool(result.launch_sites),
        evidence=_evidence(ov),
        why=md_message(why_text(result, catalog)),
        other_rules=[f"{_sev(r.severity.value)} {md_code(r.rule_id)} ({plural(len(r.findings), 'finding')}): "
                     f"{md_message(catalog.rules[r.rule_id].why.split('. ')[0].rstrip('.') + '.')}" for r in others],
        fixes=_fixes(result, catalog, snippets),
        shapes=_shapes(ov),
        shapes_more=max(0, len(ov.shapes) - DIAGRAMS),
        files_seen=cov.files_seen,
        files_scanned=cov.files_scanned,
        files_parsed=cov.files_parsed,
        skipped=sorted(cov.skipped.items()),
        tiers=tiers,
        all_not_analysed=not_analysed,
        all_silencers=silencers,
        capped=[f"{c.count} more {md_code(c.rule_id)} finding(s) in {md_code(c.path)}" for c in result.capped],
        search_terms=", ".join(md_code(t) for t in cov.search_terms),
        search_terms_count=len(cov.search_terms),
        rules_run=", ".join(md_code(r) for r in cov.rules_run),
        rules_run_count=len(cov.rules_run),
    )
