"""agent-writable-host-path: a host path outside the target is mounted writable."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.audits.view import SiteView
from scanner.model import FactKind, Finding

RULE = "agent-writable-host-path"


def audit(v: SiteView) -> Iterator[Finding]:
    yield from v.per_fact(RULE, (FactKind.MOUNT_HOST_PATH_RW, FactKind.MOUNT_HOME_RW, FactKind.MOUNT_HOST_ROOT_RW,
                                 FactKind.MOUNT_CREDENTIALS_RW),
                          lambda f: f"{v.agent} can write the host path `{f.value}`.")
