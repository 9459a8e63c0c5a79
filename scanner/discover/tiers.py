"""Where code lives: shipped code, or tests, examples, documentation and benchmarks.

The tables are data (`rules/locations.yaml`). A finding outside shipped code keeps its rule and
location, moves to info severity and never decides the verdict, unless the scan includes tests.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, replace
from functools import lru_cache


from scanner.model import Finding, Severity
from scanner.resources import read_rules_yaml, rules_dir

SHIPPED = "shipped"


@dataclass(frozen=True)
class Tier:
    name: str
    folders: frozenset[str]
    files: tuple[str, ...]

    def matches(self, path: str) -> bool:
        *folders, base = path.split("/")
        return any(f.lower() in self.folders for f in folders) or any(fnmatch.fnmatch(base, p) for p in self.files)


@lru_cache(maxsize=1)
def tiers() -> tuple[Tier, ...]:
    doc = read_rules_yaml(rules_dir() / "locations.yaml")
    return tuple(Tier(name, frozenset(f.lower() for f in spec.get("folders") or ()), tuple(spec.get("files") or ()))
                 for name, spec in doc["tiers"].items())


@lru_cache(maxsize=1)
def _bundles() -> tuple[frozenset[str], tuple[bytes, ...]]:
    doc = read_rules_yaml(rules_dir() / "locations.yaml")["bundles"]
    return frozenset(doc["folders"]), tuple(s.encode() for s in doc["signatures"])


def is_generated_bundle(path: str, head: bytes) -> bool:
    """A bundler's output: in a build-output folder and signed by a bundler in `head`."""
    folders, signatures = _bundles()
    return any(part in folders for part in path.split("/")[:-1]) and any(sig in head[:65536] for sig in signatures)


@lru_cache(maxsize=65536)
def tier_of(path: str) -> str:
    """The tier of a relative POSIX path: `shipped` unless a tier's folders or files match."""
    return next((t.name for t in tiers() if t.matches(path)), SHIPPED)


def apply_tiers(findings: list[Finding], demote: bool = True) -> list[Finding]:
    """Every finding labelled with its tier; outside shipped code, unless `demote` is off, at
    info severity with its tier and original severity said."""
    out = []
    for f in findings:
        tier = tier_of(f.location.path)
        if tier != SHIPPED and not demote:
            f = replace(f, tier=tier)
        elif tier != SHIPPED:
            note = f" In {tier} code: reported at info (rule severity {f.severity.value}); scan with --include-tests to judge it."
            f = replace(f, tier=tier, severity=Severity.INFO,
                        message=f.message + ("" if f.severity is Severity.INFO else note))
        out.append(f)
    return out
