"""What `blastwall fix --apply` plans: the edits, the sites rewritten, what stays manual, notes.

Plain data shared by the rewriters (scanner.remediation.apply), the summary
(scanner.remediation.tailor) and the report snippets (scanner.remediation.snippets).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from scanner.model import LaunchSite

__all__ = ["ApplyPlan", "Manual", "Note"]


@dataclass(frozen=True)
class Manual:
    path: str
    line: int
    reason: str
    #: what equal reasons share, for the one-line-per-reason summary ("" = the reason itself)
    group: str = ""
    #: a step the rewrite itself leaves (set the variable it reads, revoke a token that was in the
    #: file): the site counts as rewritten, and the step stays listed whatever the rescan finds
    after_rewrite: bool = False

    @property
    def key(self) -> str:
        return self.group or self.reason


@dataclass(frozen=True)
class Note:
    """Something a rewrite changed that the user should know (an env entry not kept, a scope lowered)."""

    path: str
    line: int
    text: str


@dataclass
class ApplyPlan:
    edits: dict[str, tuple[str, str]] = field(default_factory=dict)  # path -> (before, after)
    rewritten: list[LaunchSite] = field(default_factory=list)
    manual: list[Manual] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    #: site id -> what its rewrite does and why, where that is not the rule's own fix (a stdio MCP
    #: server replaced by its provider's hosted one): the report's FIX section says it
    explained: dict[str, str] = field(default_factory=dict)

    def diff(self) -> str:
        out = []
        for path, (before, after) in sorted(self.edits.items()):
            out.extend(difflib.unified_diff(before.splitlines(True), after.splitlines(True), f"a/{path}", f"b/{path}"))
        return "".join(out)
