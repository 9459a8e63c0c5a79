"""Per-agent remediation facts from the catalog (rules/agents.yaml): how each agent installs, the
argv it runs headless, its own sandbox switch, its model endpoints and key names.

The scanner's catalog loader reads the detection half of each entry; this module reads the other
half, so every generated config and every before/after snippet comes from the same data:

    facts = load_facts()
    facts.agent("aider").install      # Install(method="pipx", package="aider-chat", ...)
    facts.endpoints(["aider"], ["OPENAI_API_KEY"])   # ("api.openai.com",)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from scanner.resources import read_rules_yaml

__all__ = ["AgentFacts", "Facts", "Install", "default_catalog", "load_facts", "REGISTRY_HOSTS"]

#: hosts an install method downloads from (the CI job's setup allow-list).
REGISTRY_HOSTS = {
    "npm": ("registry.npmjs.org",),
    "pipx": ("pypi.org", "files.pythonhosted.org"),
}


@dataclass(frozen=True)
class Install:
    """How one agent is installed: npm, pipx (a Python package) or an install script."""

    method: str  # "npm" | "pipx" | "script"
    binary: str  # the command it provides
    package: str = ""
    url: str = ""
    hosts: tuple[str, ...] = ()
    bin_env: tuple[tuple[str, str], ...] = ()
    python: str = ""

    @property
    def download_hosts(self) -> tuple[str, ...]:
        return self.hosts if self.method == "script" else REGISTRY_HOSTS.get(self.method, ())


@dataclass(frozen=True)
class AgentFacts:
    id: str
    name: str
    binary: str
    install: Install | None
    headless: tuple[str, ...]
    safe_args: tuple[str, ...]
    settings_env: tuple[str, ...]
    endpoints: tuple[str, ...]
    api_keys: tuple[str, ...]
    provider_agnostic: bool
    bypass_flags: tuple[str, ...]
    sandbox_default_on: bool


@dataclass(frozen=True)
class Facts:
    agents: Mapping[str, AgentFacts]
    providers: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]  # (key names, endpoints)

    def agent(self, agent_id: str) -> AgentFacts | None:
        return self.agents.get(agent_id)

    def provider_endpoints(self, key: str) -> tuple[str, ...]:
        for keys, endpoints in self.providers:
            if key in keys:
                return endpoints
        return ()

    @property
    def provider_hosts(self) -> frozenset[str]:
        return frozenset(host for _keys, endpoints in self.providers for host in endpoints)

    def endpoints(self, agent_ids: Iterable[str], keys: Iterable[str] = ()) -> tuple[str, ...]:
        """The hosts the agents need: their own service endpoints, plus the model provider of every
        key seen; a provider-agnostic agent with no provider key seen keeps its default providers."""
        keys = tuple(keys)
        seen_providers = [host for key in keys for host in self.provider_endpoints(key)]
        out: list[str] = []
        for agent_id in agent_ids:
            facts = self.agents.get(agent_id)
            if facts is None:
                continue
            if facts.provider_agnostic and seen_providers:
                out.extend(host for host in facts.endpoints if host not in self.provider_hosts)
            else:
                out.extend(facts.endpoints)
        out.extend(seen_providers)
        return tuple(dict.fromkeys(out))

    def key_for(self, agent_id: str, seen: Iterable[str] = ()) -> tuple[str, ...]:
        """The agent's model key names: the ones the scan saw, else the catalog's first."""
        seen = tuple(dict.fromkeys(seen))
        if seen:
            return seen
        facts = self.agents.get(agent_id)
        return facts.api_keys[:1] if facts is not None else ()


def default_catalog() -> Path:
    """rules/agents.yaml: inside an installed wheel, else beside the package."""
    import scanner

    package = Path(scanner.__file__).resolve().parent
    for candidate in (package / "_data" / "rules" / "agents.yaml", package.parent / "rules" / "agents.yaml"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("the agent catalog rules/agents.yaml is missing from this installation")


def _catalog_path() -> Path:
    return default_catalog()


def _install(entry: Mapping[str, Any], binary: str) -> Install | None:
    raw = entry.get("install")
    if not isinstance(raw, Mapping) or raw.get("method") not in ("npm", "pipx", "script"):
        return None
    bin_env = raw.get("bin_env") or {}
    return Install(
        method=str(raw["method"]),
        binary=binary,
        package=str(raw.get("package") or ""),
        url=str(raw.get("url") or ""),
        hosts=tuple(str(h) for h in raw.get("hosts") or ()),
        bin_env=tuple((str(k), str(v)) for k, v in sorted(bin_env.items())) if isinstance(bin_env, Mapping) else (),
        python=str(raw.get("python") or ""),
    )


def facts_from(doc: Mapping[str, Any]) -> Facts:
    agents: dict[str, AgentFacts] = {}
    for entry in doc.get("agents") or ():
        if not isinstance(entry, Mapping) or not entry.get("id"):
            continue
        binaries = [str(b) for b in entry.get("binaries") or ()]
        binary = binaries[0] if binaries else str(entry["id"])
        headless = tuple(str(a) for a in entry.get("headless") or ()) or (binary,)
        own = entry.get("own_sandbox") or {}
        agents[str(entry["id"])] = AgentFacts(
            id=str(entry["id"]),
            name=str(entry.get("name") or entry["id"]),
            binary=headless[0],
            install=_install(entry, headless[0]),
            headless=headless,
            safe_args=tuple(str(a) for a in entry.get("safe_args") or ()),
            settings_env=tuple(str(a) for a in entry.get("settings_env") or ()),
            endpoints=tuple(str(h) for h in entry.get("endpoints") or ()),
            api_keys=tuple(str(k) for k in entry.get("api_keys") or ()),
            provider_agnostic=bool(entry.get("provider_agnostic")),
            bypass_flags=tuple(str(b.get("flag")) for b in entry.get("bypass") or () if isinstance(b, Mapping)),
            sandbox_default_on=isinstance(own, Mapping) and own.get("default") == "on",
        )
    providers = tuple(
        (tuple(str(k) for k in p.get("keys") or ()), tuple(str(h) for h in p.get("endpoints") or ()))
        for p in doc.get("model_providers") or () if isinstance(p, Mapping)
    )
    return Facts(agents=agents, providers=providers)


@lru_cache(maxsize=4)
def _load(path: str) -> Facts:
    return facts_from(read_rules_yaml(Path(path)) or {})


def load_facts(path: Path | None = None) -> Facts:
    return _load(str(path or _catalog_path()))
