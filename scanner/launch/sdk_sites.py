"""The site builder of in-process agents (SDKs and frameworks): facts in, one judged site out.

Its own module so that the two detectors (`sdk_python`, `sdk_js`) share it without importing
each other.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tree_sitter import Node

from scanner.catalog import Catalog
from scanner.findings import new_finding, new_site, site_id_for
from scanner.model import Boundary, Containment, Egress, EnvMode, Fact, FactKind, Finding, LaunchSite, Location

# Where, in a shell string, the text that follows runs as a command rather than an argument: the
# start, after `;` `&` `|` a backquote or `(`, after an interpreter's eval flag (`sh -c`, `node -e`,
# `cmd /c`), after `eval`, inside `$(`.
COMMAND_POSITION = re.compile(r"(^\s*$)|([;&|`(]\s*$)|(\b(sh|bash|zsh|dash|ksh|fish|pwsh|powershell|cmd|node|nodejs|deno|bun|perl|ruby|python[0-9.]*|php|osascript)(\.exe)?(\s+-\w+)*\s+(-l?c|-e|-p|--eval|-Command|/c)\s*['\"]?$)|(\beval\s+['\"]?$)|(\$\(\s*$)")


@dataclass(frozen=True)
class StringGrammar:
    """How a grammar spells an interpolated string and a concatenation."""

    template: str  # the interpolated string node
    fragment: str  # its literal text
    hole: str  # an interpolated expression
    concat: str  # `a + b`


PY_STRINGS = StringGrammar("string", "string_content", "interpolation", "binary_operator")
JS_STRINGS = StringGrammar("template_string", "string_fragment", "template_substitution", "binary_expression")


def command_comes_from(node: Node, g: StringGrammar, reads: Callable[[Node], bool], const: Callable[[Node], object],
                       text: Callable[[Node], str], deeper: Callable[[Node], bool]) -> bool | None:
    """Whether a shell string's command (not just an argument) comes from a value `reads` sees:
    a hole at a command position of a template, or a concatenation whose tainted part starts a
    command. None when the node is neither a template nor a concatenation."""
    if node.type == g.template:
        prefix: list[str] = []
        for child in node.named_children:
            if child.type == g.fragment:
                prefix.append(text(child))
            elif child.type == g.hole:
                if reads(child):
                    return bool(COMMAND_POSITION.search("".join(prefix)))
                prefix.append("x")
        return False
    if node.type != g.concat:
        return None
    left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
    if left is None or right is None:
        return False
    if reads(left):
        return deeper(left) if left.type in (g.template, g.concat) else True
    head = const(left)
    return isinstance(head, str) and bool(COMMAND_POSITION.search(head)) and reads(right)


class SiteBuilder:
    """Collects the facts of one in-process site and turns them into a judged LaunchSite, with
    the scan's catalog (which names the credentials and the rules)."""

    def __init__(self, *, catalog: Catalog, agent: str, agent_name: str, surface: str, launcher: str,
                 location: Location, command: str = ""):
        self.catalog = catalog
        self.agent = agent
        self.agent_name = agent_name
        self.surface = surface
        self.launcher = launcher
        self.location = location
        self.command = command or launcher
        self.boundary = Boundary.NONE
        self.boundary_tool = ""
        self.env = EnvMode.INHERITED
        self.egress = Egress.OPEN
        self.facts: list[Fact] = []
        self.unknowns: list[Fact] = []
        self.superseded: list[str] = []  # judge rules the detector reports under sharper rules of its own
        self.extra: list[tuple[str, Location, str, dict]] = []

    @property
    def site_id(self) -> str:
        return site_id_for(self.location, self.agent)

    def fact(self, kind: FactKind | str, value: str, location: Location | None = None) -> None:
        self.facts.append(Fact(kind, value, location or self.location))

    def unknown(self, value: str, location: Location | None = None) -> None:
        self.unknowns.append(Fact(FactKind.UNKNOWN, value, location or self.location))

    def set_env(self, mode: EnvMode, detail: str, location: Location | None = None) -> None:
        self.env = mode
        self.facts = [f for f in self.facts if not f.kind.is_env_mode]
        self.facts.insert(0, Fact(FactKind.env(mode), detail, location or self.location))

    def secrets(self, names: Iterable[tuple[str, Location]]) -> None:
        for name, loc in names:
            kind = self.catalog.credential_kind(name)
            if kind:
                self.fact(FactKind.secret(kind), name, loc)

    def has_bypass(self) -> bool:
        """Whether an approval gate is off: a bypass fact, or a bypass finding reported directly."""
        return any(f.kind in ("bypass-flag", "bypass-default") for f in self.facts) or any(
            e[0] == "agent-permission-bypass" for e in self.extra)

    def contain(self, boundary: Boundary, tool: str, egress: Egress = Egress.UNKNOWN) -> None:
        self.boundary, self.boundary_tool, self.egress = boundary, tool, egress

    def supersede(self, *rules: str) -> None:
        """The judge's generic finding of these rules is replaced by the detector's own."""
        self.superseded.extend(r for r in rules if r not in self.superseded)

    def report(self, rule_id: str, location: Location, message: str, *, replaces: tuple[str, ...] = (), **kw) -> None:
        """A finding of a framework rule; `replaces` names judge rules it stands in for."""
        self.supersede(*replaces)
        self.extra.append((rule_id, location, message, kw))

    def build(self) -> tuple[LaunchSite, tuple[Finding, ...]]:
        site = new_site(
            agent=self.agent, agent_name=self.agent_name, surface=self.surface, launcher=self.launcher,
            location=self.location, command=self.command,
            containment=Containment(boundary=self.boundary, boundary_tool=self.boundary_tool, env=self.env,
                                    egress=self.egress if self.boundary is not Boundary.NONE else Egress.OPEN,
                                    facts=tuple(self.facts), unknowns=tuple(self.unknowns),
                                    superseded=tuple(self.superseded)),
        )
        findings = tuple(
            new_finding(self.catalog, rule, loc, site_id=site.site_id, message=msg,
                        related=(self.location.with_label("launch site"), *kw.pop("related", ())), **kw)
            for rule, loc, msg, kw in ((r, l, m, dict(k)) for r, l, m, k in self.extra)
        )
        return site, findings
