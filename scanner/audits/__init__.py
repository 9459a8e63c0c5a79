"""The audits: one module per rule id, run over every judged launch site.

Each containment rule has a module here named after it, exposing `RULE` and `audit(view)`;
`CONTAINMENT_AUDITS` is the one table that runs them, in report order. Rules whose evidence only
one surface can see are emitted by that surface's reader (`SURFACE_RULES` says which); their
data lives in `rules/checks/` like every other rule's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType

from scanner.audits import (
    agent_containment_undecided,
    agent_credential_files_exposed,
    agent_docker_socket,
    agent_host_network,
    agent_inherits_environment,
    agent_inline_launch,
    agent_model_key_passed,
    agent_open_egress,
    agent_operator_credentials_passed,
    agent_permission_bypass,
    agent_privileged_sandbox,
    agent_root_in_sandbox,
    agent_unbounded_session,
    agent_unpinned_image,
    agent_writable_host_path,
    agent_writable_target,
)
from scanner.audits.view import SiteView
from scanner.catalog import Catalog
from scanner.model import Finding, LaunchSite

CONTAINMENT_AUDITS: tuple[ModuleType, ...] = (
    agent_inline_launch,
    agent_inherits_environment,
    agent_operator_credentials_passed,
    agent_credential_files_exposed,
    agent_model_key_passed,
    agent_docker_socket,
    agent_privileged_sandbox,
    agent_root_in_sandbox,
    agent_writable_target,
    agent_writable_host_path,
    agent_permission_bypass,
    agent_host_network,
    agent_open_egress,
    agent_unbounded_session,
    agent_unpinned_image,
    agent_containment_undecided,
)

# Rule id -> the modules that emit it, for rules only one surface can see.
SURFACE_RULES: dict[str, tuple[str, ...]] = {
    "framework-host-code-execution": ("scanner.launch.sdk_python", "scanner.launch.sdk_js"),
    "browser-agent-operator-profile": ("scanner.launch.sdk_python",),
    "mcp-stdio-forwards-environment": ("scanner.launch.sdk_python", "scanner.launch.sdk_js"),
    "workflow-agent-untrusted-trigger": ("scanner.launch.workflow",),
    "workflow-agent-write-token": ("scanner.launch.workflow",),
    "suppression-missing-reason": ("scanner.post.suppress",),
    "suppression-unused": ("scanner.post.suppress",),
}

Audit = Callable[[SiteView], Iterator[Finding]]


def audit_site(catalog: Catalog, site: LaunchSite) -> list[Finding]:
    """Every containment finding for one site, in report order."""
    view = SiteView(catalog, site)
    c = site.containment
    # A site built by something the repository does not define is judged on that piece alone.
    audits = (agent_containment_undecided,) if c.undecided else CONTAINMENT_AUDITS
    dropped = set(c.superseded)
    return [finding for module in audits if module.RULE not in dropped for finding in module.audit(view)]
