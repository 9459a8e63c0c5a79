"""agent-docker-socket: the container engine's socket, which is root on the host, is reachable."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.audits.view import SiteView
from scanner.model import FactKind, Finding

RULE = "agent-docker-socket"


def audit(v: SiteView) -> Iterator[Finding]:
    yield from v.per_fact(RULE, (FactKind.MOUNT_DOCKER_SOCKET_RO, FactKind.MOUNT_DOCKER_SOCKET_RW),
                          lambda f: f"{v.agent} can reach the container engine socket `{f.value}`, which is root on the host.")
