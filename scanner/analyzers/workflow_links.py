"""Cross-file links for workflows and compose files (used by `scanner.links`)."""

from __future__ import annotations

import posixpath
import re
from dataclasses import replace

from scanner.analyzers.base import Analysis
from scanner.model import Boundary, Finding, LaunchSite

_WORKFLOW = re.compile(r"(^|/)\.github/workflows/[^/]+\.ya?ml$")
_SCRIPT = re.compile(r"(?:^|[\s;&|(])(?:(?:bash|sh|zsh|python3?|node|source|\.)\s+)?((?:\./)?[\w][\w./-]*\.(?:sh|bash|py|mjs|cjs|js|ts))\b")


def script_links(root, paths, by_path, read):
    """Sites in scripts that a workflow run step starts, given that step's context."""
    from scanner.analyzers.workflow import WorkflowReader

    out: list[tuple[LaunchSite, list[Finding]]] = []
    done: set[str] = set()
    for path in paths:
        if not _WORKFLOW.search(path):
            continue
        src = read(root, path)
        if src is None:
            continue
        reader = WorkflowReader(Analysis(src, "workflow"))
        for job in reader.jobs():
            for step in reader.steps(job):
                run = step.get("run")
                if run is None or not run.is_scalar or not isinstance(run.value, str):
                    continue
                workdir = step.get("working-directory")
                base = workdir.text().strip("./") if workdir is not None else ""
                for match in _SCRIPT.finditer(run.value):
                    rel = posixpath.normpath(posixpath.join(base, match.group(1)))
                    for site in by_path.get(rel, []):
                        if site.site_id in done or site.containment.boundary not in (Boundary.NONE, Boundary.AGENT_SANDBOX):
                            continue
                        facts, reach, timeout = reader.script_context(job, step)
                        step_loc = src.loc(run.key_line or run.line, label=f"runs {rel}")
                        extra_facts = list(facts)
                        if timeout is not None and not site.containment.has("timeout"):
                            from scanner.model import Fact

                            extra_facts.append(Fact("timeout", "timeout-minutes", timeout))
                        c = site.containment
                        new = replace(site, containment=replace(c, facts=(*c.facts, *extra_facts)))
                        new = reader.with_unknowns(new, job, reach)
                        extra = reader.job_findings(new, job, step, reach, {}, raw_cli=True)
                        extra = [replace(f, related=(*f.related, step_loc)) for f in extra]
                        done.add(site.site_id)
                        out.append((new, extra))
    return out


def compose_links(root, paths, by_path, read):
    """A Dockerfile's agent launch, run by a compose service built from it."""
    from scanner.analyzers.cfgtree import load_yaml
    from scanner.analyzers.configs import is_compose
    from scanner.analyzers.containers import (_user_fact, compose_agent, compose_site, dockerfile_invocations,
                                              dockerfile_path_of, dockerfile_summary, image_facts)
    from scanner.commandline import Invocation

    out: list[LaunchSite] = []
    for path in paths:
        if not is_compose(path):
            continue
        src = read(root, path)
        if src is None:
            continue
        doc = load_yaml(src.text, [])
        services = doc.get("services") if doc is not None and doc.is_map else None
        for name, svc in (services.items() if services is not None else []):
            if not svc.is_map:
                continue
            dockerfile = dockerfile_path_of(path, svc)
            targets = [s for s in by_path.get(dockerfile or "", []) if s.surface == "dockerfile"]
            if not targets:
                continue
            inv_own, _ = compose_agent(src, svc)
            if inv_own is not None and svc.get("command") is not None:
                continue  # the service's own command replaces the image's
            dsrc = read(root, dockerfile)
            if dsrc is None:
                continue
            summary = dockerfile_summary(dsrc.text)
            extra = []
            if summary["base"]:
                extra.extend(image_facts(summary["base"], dsrc.loc(summary["base_line"])))
            if summary["user"]:
                extra.append(_user_fact(summary["user"], dsrc.loc(summary["user_line"])))
            for line, _kind, item in dockerfile_invocations(dsrc, summary["launches"]):
                for site in targets:
                    if site.location.line != line or not isinstance(item, Invocation):
                        continue
                    new = compose_site(src, doc, name, svc, item, extra)
                    out.append(replace(new, site_id=site.site_id, location=site.location,
                                       launcher=f"compose service `{name}` ({path})"))
    return out
