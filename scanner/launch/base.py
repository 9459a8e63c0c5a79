"""What a front end hands back, and the tables every front end shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any


from scanner.catalog import Catalog
from scanner.launch.cfgjudge import ConfigTools
from scanner.launch.commandline import Word
from scanner.project.files import NO_PROJECT, ProjectFiles
from scanner.containment.reader import EnvInfo
from scanner.model import Fact, FactKind, Location
from scanner.parse.trees import SourceFile
from scanner.resources import read_rules_yaml, rules_dir


@dataclass(frozen=True)
class LaunchFound:
    """A program start seen in source: its words (or a shell string) and its surroundings."""

    surface: str
    launcher: str
    location: Location
    env: EnvInfo
    words: tuple[Word, ...] = ()
    shell: Word | None = None
    timeout: Location | None = None
    facts: tuple[Fact, ...] = ()
    unknowns: tuple[Fact, ...] = ()


def timeout_unread(options: str, location: Location) -> Fact:
    """Options this scan cannot read may set the launch's timeout: the session is not called
    unbounded on what the scan did not see (DESIGN §2); the environment is reported undecided."""
    return Fact(FactKind.TIMEOUT, f"may be set in the options `{' '.join(options.split())[:60]}`, which this scan "
                "cannot read", location)


def possible_forms(uncertain: bool, location: Location) -> tuple[Fact, ...]:
    """The fact that a launch was read from one of several forms its values can take."""
    return (Fact(FactKind.POSSIBLE_FORM, "the command is one of several forms its values can take", location),) \
        if uncertain else ()


@dataclass
class Analysis:
    """One file being analysed, with the scan's tools (its one catalog, command reader and
    containment judge) and its project files (the only way an analyzer reads beyond its own file)."""

    source: SourceFile
    kind: str
    tools: ConfigTools
    project: ProjectFiles = NO_PROJECT
    notes: list[str] = field(default_factory=list)
    _shared: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def catalog(self) -> Catalog:
        """The scan's catalog: the shipped rules with the project's configured agents."""
        return self.tools.catalog

    @property
    def root(self) -> Path | None:
        """The scanned folder; None for a single-file scan."""
        return self.project.root

    def shared(self, key: str, make: Callable[[], Any], keep: bool = False) -> Any:
        """One parse (or index) per file, however many analyzers read it. `keep`: the parse is
        also kept by the project, for the cross-file questions asked after analysis."""
        if key not in self._shared:
            self._shared[key] = self.project.remember(self.source.path, key, make) if keep else make()
        return self._shared[key]


@lru_cache(maxsize=1)
def launch_tables() -> dict[str, dict[str, dict[str, Any]]]:
    raw = read_rules_yaml(rules_dir() / "launchers.yaml")
    return {k: v for k, v in raw.items() if isinstance(v, dict)}
