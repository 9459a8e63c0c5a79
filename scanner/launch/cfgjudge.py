"""Shared helpers for config-file surfaces: read a command, build a judged launch site.

Config files describe a launch in pieces (a service's command, its volumes, its network...).
The analyzers turn those pieces into `Fact`s anchored at their exact lines, then call
`ConfigTools.make_site`, which runs the agent's own flags and the environment names through the
scan's `ContainmentJudge` and sets the boundary the config file creates.

The tools are the scan's own (its catalog, with the project's configured agents, and its command
reader, with the hooks into the repository's scripts): the engine builds them once per worker and
hands them to analyzers on `Analysis.tools` and to the link stage. Nothing here is module state.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, replace
from functools import lru_cache

from scanner.catalog import AgentSpec, Catalog, load_catalog
from scanner.launch.commandline import CommandReader, Invocation, Unresolved, Word
from scanner.containment.reader import ContainmentJudge, EnvInfo, LaunchContext
from scanner.findings import new_site
from scanner.model import Boundary, Containment, Egress, EnvMode, Fact, FactKind, LaunchSite, Location

# Agent binaries too generic to name an image (`agent`, `q`): an image called that runs anything.
_GENERIC = {"agent", "mini", "q", "i", "cn", "amp", "goose"}


@dataclass(frozen=True, eq=False)
class ConfigTools:
    """The scan's catalog, command reader and containment judge, for the analyzers of config
    files and the link stage. All three read the same catalog."""

    catalog: Catalog
    reader: CommandReader
    judge: ContainmentJudge

    def __post_init__(self) -> None:
        if self.reader.catalog is not self.catalog or self.judge.catalog is not self.catalog:
            raise ValueError("ConfigTools: the reader and the judge must read the tools' own catalog")

    @classmethod
    def of(cls, catalog: Catalog) -> ConfigTools:
        """Tools for `catalog` whose reader has no hooks into a repository's scripts."""
        return cls(catalog, CommandReader(catalog), ContainmentJudge(catalog))

    # -- reading commands ------------------------------------------------------------------

    def read(self, words: list[Word]) -> list[Invocation | Unresolved]:
        """The words of one command (exec form) as what they start: [] when no agent."""
        if not words:
            return []
        found = self.reader.read(words)
        return [found] if found is not None else []

    def read_shell(self, text: str, loc: Location) -> list[Invocation | Unresolved]:
        """A shell string, every command in it."""
        return self.reader.read_shell(Word(text, loc, False))

    # -- catalog questions -----------------------------------------------------------------

    def agent_by_name(self, name: str) -> AgentSpec | None:
        """An agent by its id, a binary or a package."""
        cat = self.catalog
        for spec in cat.agents:
            if spec.id == name:
                return spec
        return cat.by_binary.get(name) or cat.by_package.get(name)

    def agent_in_image(self, image: str) -> AgentSpec | None:
        """An image whose name is an agent's (`ghcr.io/x/claude-code:1`) runs that agent by default."""
        name = image.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0].lower()
        parts = set(re.split(r"[-_.]", name))
        for spec in self.catalog.agents:
            for binary in spec.binaries:
                if binary in _GENERIC:
                    continue
                if binary == name or binary in parts:
                    return spec
        return None

    def credential_kind(self, name: str) -> str:
        return self.catalog.credential_kind(name)

    def secret_fact(self, name: str, loc: Location, *, secret_ref: str = "") -> Fact | None:
        """A fact for a variable the agent receives: the agent's model key, an operator credential, or nothing."""
        cat = self.catalog
        for candidate in (secret_ref, name):
            if candidate and any(candidate in a.api_keys for a in cat.agents):
                return Fact(FactKind.SECRET_MODEL_KEY, name, loc)
        kind = cat.credential_kind(name) or (cat.credential_kind(secret_ref) if secret_ref else "")
        if kind == "model-key":
            return Fact(FactKind.SECRET_MODEL_KEY, name, loc)
        if kind or secret_ref:
            return Fact(FactKind.SECRET_OPERATOR, name, loc)
        return None

    # -- judged sites ----------------------------------------------------------------------

    def make_site(
        self,
        *,
        agent: AgentSpec,
        location: Location,
        surface: str,
        launcher: str,
        command: str,
        boundary: Boundary | None,
        tool: str = "",
        env: EnvMode = EnvMode.MINIMAL,
        env_detail: str = "",
        env_location: Location | None = None,
        egress: Egress = Egress.OPEN,
        facts: list[Fact] | tuple[Fact, ...] = (),
        unknowns: list[Fact] | tuple[Fact, ...] = (),
        invocation: Invocation | None = None,
        args: list[Word] | tuple[Word, ...] = (),
        timeout: Location | None = None,
    ) -> LaunchSite:
        """Judge the agent's flags and environment, then apply the boundary the config creates."""
        inv = invocation or Invocation(agent, Word(agent.binaries[0] if agent.binaries else agent.id, location), tuple(args), ())
        ctx = LaunchContext(surface, launcher, location,
                            EnvInfo(env, env_location or location, env_detail or "the environment the config sets"),
                            timeout, tuple(facts), tuple(unknowns))
        judged = self.judge.judge(inv, ctx)
        if boundary is not None and boundary.strength > judged.boundary.strength:
            judged = replace(judged, boundary=boundary, boundary_tool=tool, egress=egress)
        elif judged.boundary is Boundary.NONE:
            judged = replace(judged, egress=Egress.OPEN)
        return new_site(agent=inv.agent.id, agent_name=inv.agent.name, surface=surface, launcher=launcher,
                        location=location, command=command, containment=judged)


def split_words(text: str, loc: Location) -> list[Word]:
    """A command string from a config file as words, all anchored at `loc`."""
    try:
        parts = shlex.split(text, comments=False, posix=True)
    except ValueError:
        parts = text.split()
    return [Word(p, loc, "$" in p and not p.startswith("-")) for p in parts]


def undecided_site(reason: str, location: Location, surface: str, launcher: str, command: str,
                   agent_name: str = "an agent") -> LaunchSite:
    """A site whose whole containment is built by something the repository does not define."""
    return new_site(agent="unknown", agent_name=agent_name, surface=surface, launcher=launcher, location=location,
                    command=command,
                    containment=Containment(boundary=Boundary.UNKNOWN, env=EnvMode.MINIMAL, egress=Egress.UNKNOWN,
                                            unknowns=(Fact(FactKind.UNKNOWN, reason, location),), undecided=True))


# -- config file names -------------------------------------------------------------------------


@lru_cache(maxsize=1)
def template_suffixes() -> tuple[str, ...]:
    """Suffixes a config file may carry and still be read as that config (`mcp.json.template`).
    Where a file sits (an examples or docs folder, an `.example` suffix) is weighed for every
    finding alike by `scanner.discover.tiers`. Path classification runs before any scan's
    catalog exists, and configuration cannot change this table: the shipped rules decide."""
    return tuple(load_catalog().containment.list("config_template_suffixes"))


def config_name(path: str) -> str:
    """The file's name without a template suffix: `mcp.json.template` -> `mcp.json`."""
    base = posixpath.basename(path)
    for suffix in template_suffixes():
        if base.endswith(suffix) and len(base) > len(suffix):
            return base[: -len(suffix)]
    return base

