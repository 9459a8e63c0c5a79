"""agent-unpinned-image: the sandbox image is not pinned by digest."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.audits.view import SiteView
from scanner.model import Boundary, Confidence, FactKind, Finding

RULE = "agent-unpinned-image"


def audit(v: SiteView) -> Iterator[Finding]:
    images = v.c.of_kind(FactKind.IMAGE)
    if v.c.boundary is Boundary.CONTAINER and images and not v.c.has(FactKind.IMAGE_DIGEST):
        fact = images[0]
        # An image named by a variable may be pinned where the variable is set.
        yield v.finding(RULE, fact.location, f"The sandbox image `{fact.value}` is not pinned by digest.",
                        confidence=Confidence.LOW if fact.value.startswith("$") else None)
