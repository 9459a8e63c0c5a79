"""What `blastwall fix` derives from a scan: the sandbox spec tailored to the agents found (their
install method, endpoints, key names), the key names each rewrite passes, and the summary lines
(notes and manual sites grouped by reason, each reason once with its counts and files)."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from scanner.model import ScanResult
from scanner.remediation.facts import REGISTRY_HOSTS, Facts, load_facts
from scanner.remediation.spec import SandboxSpec, spec_from_catalog

__all__ = ["key_names", "runner_hosts", "tailored_spec", "summary_lines", "reconcile"]

#: package runners an MCP server or agent is started with, and the registry hosts they fetch from
_RUNNER_HOSTS = {"npx": REGISTRY_HOSTS["npm"], "bunx": REGISTRY_HOSTS["npm"], "pnpm": REGISTRY_HOSTS["npm"],
                 "yarn": REGISTRY_HOSTS["npm"], "uvx": REGISTRY_HOSTS["pipx"], "uv": REGISTRY_HOSTS["pipx"],
                 "pipx": REGISTRY_HOSTS["pipx"]}


def _blocking_sites(result: ScanResult) -> set[str]:
    return {f.site_id for f in result.findings if not f.suppressed and f.severity.rank >= 3}


def key_names(result: ScanResult, facts: Facts | None = None) -> dict[str, tuple[str, ...]]:
    """agent id -> the model key names its launches are handed: the ones the scan saw, else the
    catalog's first (the names rewritten launches pass on, by name)."""
    facts = facts or load_facts()
    seen: dict[str, list[str]] = {}
    for site in result.launch_sites:
        names = [f.value for f in site.containment.facts if f.kind == "secret-model-key"]
        seen.setdefault(site.agent, []).extend(names)
    return {agent: facts.key_for(agent, names) for agent, names in seen.items()}


def runner_hosts(result: ScanResult, hosted: frozenset[str] = frozenset()) -> list[str]:
    """Registry hosts the wrapped MCP servers need at start (`npx -y pkg` downloads pkg); `hosted`
    names the sites reached at their provider's server instead, which download nothing."""
    hosts: list[str] = []
    blocking = _blocking_sites(result)
    for site in result.launch_sites:
        if site.surface != "mcp-config" or site.site_id not in blocking or site.site_id in hosted:
            continue
        head = site.command.split()[0].rsplit("/", 1)[-1] if site.command.split() else ""
        hosts.extend(_RUNNER_HOSTS.get(head, ()))
    return list(dict.fromkeys(hosts))


def tailored_spec(result: ScanResult, allowed_egress: Iterable[str] = (), *, config_dir: str = ".",
                  facts: Facts | None = None, hosted: frozenset[str] = frozenset()) -> SandboxSpec | None:
    """The spec for the agents found: catalog agents first (the first one is the default argv),
    with their install methods, endpoints and key names; None when nothing needs a runner.
    `hosted` names the MCP sites `--apply` reaches at their provider's server (no runner for them)."""
    facts = facts or load_facts()
    blocking = _blocking_sites(result)
    catalog_agents = sorted({s.agent for s in result.launch_sites if facts.agent(s.agent) is not None})
    keys = key_names(result, facts)
    secrets = sorted({k for agent in catalog_agents for k in keys.get(agent, ())})
    extra = [*allowed_egress, *runner_hosts(result, hosted)]
    if catalog_agents:
        return spec_from_catalog(catalog_agents, None, secrets=secrets, extra_endpoints=extra, config_dir=config_dir)
    # No catalog agent: MCP servers, agent tools and frameworks. Their rewrites that start a command
    # still go through the runner, so it is generated (no model endpoint of its own).
    routed = [s for s in result.launch_sites if s.site_id in blocking and s.site_id not in hosted
              and s.surface in ("mcp-config", "python", "javascript", "shell", "makefile", "package-json",
                                "github-workflow")]
    if not routed:
        return None
    ids = tuple(dict.fromkeys(s.agent for s in routed if re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,63}", s.agent)))
    return SandboxSpec(agents=ids or ("agent-tool",), command=("sh",), endpoints=tuple(extra), config_dir=config_dir)


def _files(items: list[Any]) -> str:
    counts: OrderedDict[str, int] = OrderedDict()
    for item in sorted(items, key=lambda m: (m.path, m.line)):
        counts[item.path] = counts.get(item.path, 0) + 1
    shown = [f"{path}:{','.join(str(m.line) for m in items if m.path == path)}" for path in list(counts)[:6]]
    more = len(counts) - 6
    return ", ".join(shown) + (f" and {more} more file{'s' if more > 1 else ''}" if more > 0 else "")


def summary_lines(plan: Any) -> list[str]:
    """One line per note and one per manual reason (with its counts and files), never one per site."""
    out: list[str] = []
    for text in dict.fromkeys(n.text for n in plan.notes):
        files = sorted({n.path for n in plan.notes if n.text == text})
        out.append(f"note: {text} ({', '.join(files[:4])}{' ...' if len(files) > 4 else ''})")
    groups: OrderedDict[str, list[Any]] = OrderedDict()
    for item in plan.manual:
        groups.setdefault(item.key, []).append(item)
    for reason, items in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        files = {m.path for m in items}
        detail = items[0].reason if len(items) == 1 and items[0].reason != reason else ""
        count = f"{len(items)} site{'s' if len(items) != 1 else ''} in {len(files)} file{'s' if len(files) != 1 else ''}"
        out.append(f"manual: {reason} — {count}: {_files(items)}" + (f" ({detail})" if detail else ""))
    if plan.rewritten or plan.manual:
        done = len({(s.location.path, s.location.line) for s in plan.rewritten})
        open_ = len({(m.path, m.line) for m in plan.manual})
        out.append(f"summary: {done} launch site{'s' if done != 1 else ''} rewritten, {open_} left to change by hand")
    return out


def reconcile(plan: Any, after: ScanResult, written: Iterable[str]) -> None:
    """Check the plan against a scan of the rewritten tree: a site listed as manual that no longer
    has a high finding (it ran a script that was rewritten) is dropped, and a site still flagged
    that nothing listed yet becomes a manual entry of its own, so the summary says what is open."""
    from scanner.remediation.plan import Manual

    written = set(written)
    rules = {f.rule_id: f.title for f in after.findings}
    blocking: dict[tuple[str, int], set[str]] = {}
    sites = {s.site_id: s for s in after.launch_sites}
    for f in after.findings:
        if f.suppressed or f.severity.rank < 3:
            continue
        site = sites.get(f.site_id)
        where = (site.location.path, site.location.line) if site is not None else (f.location.path, f.location.line)
        blocking.setdefault(where, set()).add(f.rule_id)
    open_files = {path for path, _line in blocking}
    plan.manual = [m for m in plan.manual if m.after_rewrite or (m.path, m.line) in blocking
                   or (m.path in written and m.path in open_files)]
    listed = {(m.path, m.line) for m in plan.manual if not m.after_rewrite}
    listed_paths = {m.path for m in plan.manual if not m.after_rewrite}
    for (path, line), found in sorted(blocking.items()):
        if (path, line) in listed or (path in written and path in listed_paths):
            continue
        titles = sorted(rules.get(r, r) for r in found)
        site = next((s for s in after.launch_sites if (s.location.path, s.location.line) == (path, line)), None)
        if site is not None and site.surface == "github-workflow" and site.launcher.startswith("action "):
            plan.manual.append(Manual(path, line, f"{site.launcher}: {'; '.join(titles)}",
                                      "agent actions whose tools blastwall cannot see: give the action a tool "
                                      "allow-list, or run the agent through agent-bwrap.sh in a run step"))
            continue
        if site is not None and site.surface == "mcp-config" and found == {"agent-inline-launch"} \
                and "agent-bwrap.sh" in site.command.split(" ", 1)[0]:
            plan.manual.append(Manual(path, line, f"{site.launcher} starts through agent-bwrap.sh but is still read as "
                                      "inline", "MCP servers wrapped in agent-bwrap.sh that this scan still reads as "
                                      "inline: it follows the runner only for known agents; check the wrap by hand"))
            continue
        plan.manual.append(Manual(path, line, f"still flagged after the rewrite: {'; '.join(titles)}",
                                  "still flagged after the rewrite: change these by hand (blastwall scan shows why)"))
    plan.manual.sort(key=lambda m: (m.path, m.line))
