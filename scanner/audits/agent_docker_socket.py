"""agent-docker-socket: the container engine's socket, which is root on the host, is reachable."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.audits.view import SiteView
from scanner.model import FactKind, Finding

RULE = "agent-docker-socket"


def audit(v: SiteView) -> Iterator[Finding]:
    for fact in v.c.of_kind(FactKind.MOUNT_DOCKER_SOCKET_RO, FactKind.MOUNT_DOCKER_SOCKET_RW):
        yield v.finding(RULE, fact.location,
                        f"{v.agent} can reach the container engine socket `{fact.value}`, which is root on the host.",
                        related=[v.launch])
