"""Links between files, applied after every file was analysed on its own.

- a devcontainer whose lifecycle command runs a firewall script: the script in the repo decides
  its egress (default-deny OUTPUT with an allow-list);
- a workflow step that starts a file of the repo (a script, a module, an npm script, a make
  target, a local action or called workflow) which launches an agent: the step is a launch site
  with the job's token, secrets, trigger and schedule; the launch it reaches gets the job's
  timeout;
- a compose service built from a Dockerfile in the repo: the Dockerfile's agent launch is run
  with that service's mounts, network, user and environment;
- a scheduler entry (crontab line, launchd job, systemd service, crontab line a script installs)
  that starts a file of the repo which launches an agent: the entry is a launch site with no
  person in the loop, judged by the launch it reaches; that launch learns who starts it.

A linked site is re-judged: its old standard findings are replaced by the new ones, findings an
analyzer added itself are kept. Sites a link creates are judged like any other.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import replace
from scanner.launch.base import Analysis
from scanner.launch.cfgjudge import ConfigTools
from scanner.containment.judge import SiteJudge
from scanner.model import Egress, Fact, FactKind, Finding, LaunchSite
from scanner.project.files import ProjectFiles

_DENY_OUTPUT = re.compile(r"^\s*(ip6?tables(-legacy|-nft)?\s+(-w\s+)?-P\s+OUTPUT\s+(DROP|REJECT)\b|"
                          r"ip6?tables\S*\s+.*-A\s+OUTPUT\s+.*-j\s+(DROP|REJECT)\s*$|.*\bchain\s+output\b.*policy\s+drop)",
                          re.I | re.M)


def link(project: ProjectFiles, paths: list[str], sites: list[LaunchSite], findings: list[Finding],
         judge: SiteJudge, tools: ConfigTools) -> tuple[list[LaunchSite], list[Finding]]:
    """Return sites and findings with cross-file context applied. Every file is read through
    the scan's project, which already holds the ones the analyzers read in this process; sites
    are built with the scan's `tools` and judged by its `judge`."""
    if project.root is None:
        return sites, findings
    replaced: dict[str, LaunchSite] = {}
    added: list[tuple[LaunchSite, list[Finding]]] = []
    by_path: dict[str, list[LaunchSite]] = {}
    for site in sites:
        by_path.setdefault(site.location.path, []).append(site)
    path_set = set(paths)

    # Devcontainer firewall scripts.
    for site in sites:
        if site.surface != "devcontainer":
            continue
        fw = next((f for f in site.containment.facts if f.kind == FactKind.FIREWALL_SCRIPT), None)
        if fw is None:
            continue
        script = _find_script(fw.value, site.location.path, path_set)
        src = project.source(script) if script else None
        if src is None:
            continue
        m = _DENY_OUTPUT.search(src.text)
        if not m:
            continue
        line = src.text.count("\n", 0, m.start(1)) + 1
        c = site.containment
        facts = tuple(f for f in c.facts if f.kind not in ("network-default",)) + (
            Fact(FactKind.EGRESS_ALLOW_LIST, f"{script} sets default-deny OUTPUT", src.loc(line)),)
        replaced[site.site_id] = replace(site, containment=replace(c, facts=facts, egress=Egress.ALLOW_LIST))

    # Kubernetes pods whose NetworkPolicy lives in another file of the repo.
    for site, new in _network_policy_links(project, paths, sites):
        replaced[site.site_id] = new

    # Workflow steps that start repository files which launch an agent: the step is a launch
    # site of its own, with the job's context; the launch it reaches is bounded by the job.
    # Compose services built from Dockerfiles.
    from scanner.launch import workflow_links

    new_sites, reached = workflow_links.entry_links(project, tools, paths, by_path)
    for sid, site in reached.items():
        replaced.setdefault(sid, site)
    added.extend(new_sites)
    for site in workflow_links.compose_links(project, tools, paths, by_path):
        replaced[site.site_id] = site

    # Scheduler entries: their sites come with their findings (an inline launch at the entry
    # when the launch it reaches is uncontained), not re-judged here.
    old = {s.site_id: s for s in sites}
    scheduled, carried = workflow_links.scheduler_links(project, tools, paths, by_path)
    for sid, facts in carried.items():
        base = replaced.get(sid, old[sid])
        replaced[sid] = replace(base, containment=replace(base.containment, facts=(*base.containment.facts, *facts)))

    if not replaced and not added and not scheduled:
        return sites, findings
    out_findings = list(findings)
    for sid, new in replaced.items():
        stale = {(f.rule_id, f.location, f.message) for f in judge.findings(old[sid])}
        out_findings = [f for f in out_findings if not (f.site_id == sid and (f.rule_id, f.location, f.message) in stale)]
        out_findings.extend(judge.findings(new))
    for site, extra in added:
        out_findings.extend(judge.findings(site))
        out_findings.extend(extra)
    for _site, own in scheduled:
        out_findings.extend(own)
    appended = [site for site, _extra in added] + [site for site, _own in scheduled]
    return [replaced.get(s.site_id, s) for s in sites] + appended, out_findings


def _network_policy_links(project: ProjectFiles, paths: list[str], sites: list[LaunchSite]):  # type: ignore[no-untyped-def]
    """Pods judged without a same-file NetworkPolicy, re-judged with the repo's other policies."""
    pods = [s for s in sites if s.surface == "kubernetes" and s.containment.has(FactKind.K8S_POD_SELECTOR)]
    if not pods:
        return
    import json

    from scanner.parse.cfgtree import load_yaml_all
    from scanner.launch.kubernetes import policy_egress

    policies = []
    for rel in paths:
        if not rel.endswith((".yaml", ".yml")) or rel.startswith(".github/"):
            continue
        src = project.source(rel)
        if src is None or b"NetworkPolicy" not in src.data:
            continue
        for doc in project.parsed(rel, "yaml-all", lambda s: load_yaml_all(s.text, [])) or []:
            if doc.is_map and doc.get("kind") is not None and doc.get("kind").text() == "NetworkPolicy":
                policies.append((doc, src))
    if not policies:
        return
    for site in pods:
        c = site.containment
        selector = json.loads(c.of_kind(FactKind.K8S_POD_SELECTOR)[0].value)
        decided = policy_egress(None, policies, selector["labels"], selector["namespace"])
        if decided is None:
            continue
        egress, fact = decided
        facts = tuple(f for f in c.facts if f.kind not in ("network-default", "k8s-pod-selector")) + (fact,)
        yield site, replace(site, containment=replace(c, facts=facts, egress=egress))


def _find_script(spelled: str, config_path: str, paths: set[str]) -> str | None:
    base = posixpath.basename(spelled)
    here = posixpath.dirname(config_path)
    for candidate in (posixpath.join(here, base), posixpath.normpath(posixpath.join(here, spelled)) if not spelled.startswith("/") else ""):
        if candidate in paths:
            return candidate
    matches = sorted(p for p in paths if posixpath.basename(p) == base)
    return matches[0] if matches else None


__all__ = ["link", "Analysis"]
