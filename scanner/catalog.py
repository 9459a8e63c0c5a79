"""Load the rule and agent catalog from `rules/` into typed, immutable views."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml

from scanner.model import CATEGORIES, Confidence, Severity
from scanner.resources import rules_dir


@dataclass(frozen=True)
class FlagSpec:
    """A flag, optionally restricted to some values or a value pattern."""

    flag: str
    values: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None

    @property
    def takes_value(self) -> bool:
        return bool(self.values) or self.pattern is not None

    def matches_value(self, value: str | None) -> bool:
        if not self.takes_value:
            return True
        if value is None:
            return False
        if self.values and value in self.values:
            return True
        return bool(self.pattern and self.pattern.search(value))

    def spelling(self) -> str:
        if self.values:
            return f"{self.flag} {'|'.join(self.values)}"
        return self.flag


@dataclass(frozen=True)
class AgentSpec:
    id: str
    name: str
    binaries: tuple[str, ...]
    requires_any: dict[str, tuple[str, ...]]
    packages: tuple[str, ...]
    bypass: tuple[FlagSpec, ...]
    sandbox_default_on: bool
    sandbox_enable: tuple[FlagSpec, ...]
    sandbox_disable: tuple[FlagSpec, ...]
    endpoints: tuple[str, ...]
    api_keys: tuple[str, ...]
    default_bypass: str = ""


@dataclass(frozen=True)
class SurfaceFix:
    before: str
    after: str


@dataclass(frozen=True)
class RuleMeta:
    id: str
    title: str
    category: str
    categories: tuple[str, ...]
    severity: Severity
    severity_contained: Severity | None
    confidence: Confidence
    why: str
    fix: str
    fix_examples: dict[str, SurfaceFix]
    references: tuple[str, ...]

    @property
    def security_severity(self) -> str:
        return {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.5"}[
            self.severity.value
        ]


@dataclass(frozen=True)
class Containment:
    raw: dict[str, Any]

    def list(self, key: str) -> tuple[str, ...]:
        return tuple(self.raw.get(key) or ())

    def section(self, key: str) -> dict[str, Any]:
        return dict(self.raw.get(key) or {})


@dataclass(frozen=True, eq=False)
class Catalog:
    agents: tuple[AgentSpec, ...]
    rules: dict[str, RuleMeta]
    containment: Containment
    sdk_terms: tuple[str, ...] = ()
    non_session_args: frozenset[str] = frozenset()

    @cached_property
    def by_binary(self) -> dict[str, AgentSpec]:
        return {b: spec for spec in self.agents for b in spec.binaries}

    @cached_property
    def by_package(self) -> dict[str, AgentSpec]:
        return {p: spec for spec in self.agents for p in spec.packages}

    def agent(self, agent_id: str) -> AgentSpec:
        for spec in self.agents:
            if spec.id == agent_id:
                return spec
        raise KeyError(agent_id)

    def rule(self, rule_id: str) -> RuleMeta:
        return self.rules[rule_id]

    def credential_kind(self, name: str) -> str:
        """'model-key', 'operator' or '' for an environment variable name."""
        if any(name in a.api_keys for a in self.agents):
            return "model-key"
        groups = self.containment.section("credential_env")
        for patterns in groups.values():
            if any(fnmatch.fnmatchcase(name, p) for p in patterns):
                return "operator"
        return ""

    def search_terms(self) -> tuple[str, ...]:
        terms: set[str] = set()
        for spec in self.agents:
            terms.update(b for b in spec.binaries if b not in spec.requires_any)
            terms.update(spec.requires_any)
            terms.update(spec.packages)
        terms.update(self.sdk_terms)
        return tuple(sorted(terms))


def _flags(items: list[dict[str, Any]] | None) -> tuple[FlagSpec, ...]:
    out = []
    for item in items or ():
        pattern = item.get("pattern")
        out.append(
            FlagSpec(
                flag=str(item["flag"]),
                values=tuple(str(v) for v in item.get("values") or ()),
                pattern=re.compile(pattern) if pattern else None,
            )
        )
    return tuple(out)


def _agent(raw: dict[str, Any]) -> AgentSpec:
    sandbox = raw.get("own_sandbox") or {}
    return AgentSpec(
        id=raw["id"],
        name=raw["name"],
        binaries=tuple(raw.get("binaries") or ()),
        requires_any={k: tuple(v) for k, v in (raw.get("requires_any") or {}).items()},
        packages=tuple(raw.get("packages") or ()),
        bypass=_flags(raw.get("bypass")),
        sandbox_default_on=str(sandbox.get("default", "off")) == "on",
        sandbox_enable=_flags(sandbox.get("enable")),
        sandbox_disable=_flags(sandbox.get("disable")),
        endpoints=tuple(raw.get("endpoints") or ()),
        api_keys=tuple(raw.get("api_keys") or ()),
        default_bypass=str(raw.get("default_bypass") or ""),
    )


def _rule(raw: dict[str, Any]) -> RuleMeta:
    categories = tuple(raw.get("categories") or (raw["category"],))
    for category in categories:
        if category not in CATEGORIES:
            raise ValueError(f"rule {raw['id']}: unknown category {category!r}")
    fix = raw.get("fix") or {}
    examples = {
        surface: SurfaceFix(before=str(pair["before"]).rstrip("\n"), after=str(pair["after"]).rstrip("\n"))
        for surface, pair in (fix.get("examples") or {}).items()
    }
    contained = raw.get("severity_contained")
    return RuleMeta(
        id=raw["id"],
        title=raw["title"],
        category=raw["category"],
        categories=categories,
        severity=Severity(raw["severity"]),
        severity_contained=Severity(contained) if contained else None,
        confidence=Confidence(raw.get("confidence", "high")),
        why=" ".join(str(raw["why"]).split()),
        fix=" ".join(str(fix.get("summary", "")).split()),
        fix_examples=examples,
        references=tuple(raw.get("references") or ()),
    )


def _read_yaml(path: Path) -> Any:
    with path.open("r", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_catalog(root: Path | None = None) -> Catalog:
    base = root or rules_dir()
    return _load_cached(str(base))


@lru_cache(maxsize=4)
def _load_cached(base: str) -> Catalog:
    root = Path(base)
    agents_doc = _read_yaml(root / "agents.yaml")
    agents = tuple(_agent(a) for a in agents_doc["agents"])
    sdk_terms = tuple(str(t) for t in agents_doc.get("sdk_terms") or ())
    non_session = frozenset(str(t) for t in agents_doc.get("non_session_args") or ())
    rules = {}
    for path in sorted((root / "checks").glob("*.yaml")):
        meta = _rule(_read_yaml(path))
        if meta.id != path.stem:
            raise ValueError(f"{path.name}: rule id {meta.id!r} does not match its file name")
        rules[meta.id] = meta
    containment = Containment(_read_yaml(root / "containment.yaml"))
    return Catalog(agents=agents, rules=rules, containment=containment, sdk_terms=sdk_terms,
                   non_session_args=non_session)
