"""agent-writable-target: the analysed repository is mounted writable into the sandbox."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.audits.view import SiteView
from scanner.model import FactKind, Finding

RULE = "agent-writable-target"


def audit(v: SiteView) -> Iterator[Finding]:
    yield from v.per_fact(RULE, (FactKind.MOUNT_TARGET_RW, FactKind.MOUNT_TARGET_PART_RW),
                          lambda f: f"{v.agent} can write the analysed target `{f.value}` from inside its sandbox.")
