"""What a generated sandbox must hold: the agent, its argv, the target and what it needs.

A `SandboxSpec` is plain data. Every field is checked on construction, because each value ends up
inside shell scripts, YAML, JSON and TOML: names that cannot be quoted safely everywhere are
refused rather than escaped differently per format.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "PLACEHOLDER_IMAGE",
    "PLACEHOLDER_PROXY_IMAGE",
    "SandboxSpec",
    "SpecError",
    "spec_from_catalog",
]

#: The image nobody can run by accident: the digest is a placeholder the user must replace.
PLACEHOLDER_IMAGE = "ghcr.io/your-org/agent-sandbox@sha256:<pin-me>"
#: The allow-list proxy image (squid); also left for the user to pin.
PLACEHOLDER_PROXY_IMAGE = "docker.io/ubuntu/squid@sha256:<pin-me>"

_AGENT_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_HOST_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_HOST_LABEL}(?:\.{_HOST_LABEL})+$")
# Characters that are literal in a POSIX shell word, a YAML plain scalar, a devcontainer mount
# string (no commas) and a Kubernetes subPath.
_SAFE_PATH = re.compile(r"^[A-Za-z0-9._@+/-]+$")
_IMAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@<>+-]*$")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_MEMORY = re.compile(r"^[1-9][0-9]*[kmg]?$")
_CPUS = re.compile(r"^(?:[1-9][0-9]*(?:\.[0-9]+)?|0\.[0-9]*[1-9][0-9]*)$")
_USER = re.compile(r"^([0-9]+):([0-9]+)$")
_NPM_PACKAGE = re.compile(r"^(?:@[a-z0-9][a-z0-9._-]*/)?[a-z0-9][a-z0-9._-]*(?:@[A-Za-z0-9._+-]+)?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

_MAX_TIMEOUT = 7 * 24 * 3600


class SpecError(ValueError):
    """A sandbox spec value that cannot be rendered safely."""


def _strings(name: str, value: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(value, str):
        raise SpecError(f"{name} must be a sequence of strings, not a single string")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str):
            raise SpecError(f"{name} must contain only strings, got {item!r}")
    return items


def _relative_path(name: str, value: str) -> str:
    if not isinstance(value, str) or not value:
        raise SpecError(f"{name} must be a non-empty relative path")
    if value.startswith("/") or "\\" in value:
        raise SpecError(f"{name} must be a repository-relative POSIX path, got {value!r}")
    norm = posixpath.normpath(value)
    if norm == ".." or norm.startswith("../"):
        raise SpecError(f"{name} must stay inside the repository, got {value!r}")
    if not _SAFE_PATH.match(norm):
        raise SpecError(
            f"{name} {value!r} has characters that cannot be quoted safely in every generated "
            "format; use letters, digits and . _ @ + - /"
        )
    return norm


@dataclass(frozen=True)
class SandboxSpec:
    """Inputs for the generated sandbox configs. Secrets are env var NAMES, never values."""

    agents: tuple[str, ...]
    command: tuple[str, ...]
    target: str = "."
    endpoints: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    image: str = PLACEHOLDER_IMAGE
    timeout_seconds: int = 1800
    memory: str = "2g"
    cpus: str = "2"
    pids: int = 256
    user: str = "10001:10001"
    #: npm packages that install the agent CLIs (used by the CI job); optional.
    packages: tuple[str, ...] = ()
    #: image of the egress allow-list proxy (squid) used when endpoints are needed.
    proxy_image: str = PLACEHOLDER_PROXY_IMAGE
    #: where the generated files are written, relative to the repository root.
    config_dir: str = field(default=".")

    def __post_init__(self) -> None:
        agents = tuple(dict.fromkeys(_strings("agents", self.agents)))
        if not agents:
            raise SpecError("agents must name at least one agent id")
        for agent in agents:
            if not _AGENT_ID.match(agent):
                raise SpecError(f"agent id {agent!r} is not a catalog id like 'claude-code'")

        command = _strings("command", self.command)
        if not command or not command[0]:
            raise SpecError("command must be the agent argv, e.g. ('claude', '-p', 'review')")
        for arg in command:
            if _CONTROL.search(arg):
                raise SpecError(f"command argument {arg!r} contains control characters")

        endpoints = set()
        for host in _strings("endpoints", self.endpoints):
            host = host.strip().lower().rstrip(".")
            if not _HOSTNAME.match(host):
                raise SpecError(f"endpoint {host!r} is not a plain host name (no scheme, port or wildcard)")
            endpoints.add(host)

        secrets = set()
        for name in _strings("secrets", self.secrets):
            if not _ENV_NAME.match(name):
                raise SpecError(
                    f"secret {name!r} is not an environment variable name; pass names, never values"
                )
            secrets.add(name)

        for name, value in (("image", self.image), ("proxy_image", self.proxy_image)):
            if not isinstance(value, str) or not _IMAGE.match(value):
                raise SpecError(f"{name} {value!r} is not an image reference")

        packages = tuple(dict.fromkeys(_strings("packages", self.packages)))
        for package in packages:
            if not _NPM_PACKAGE.match(package):
                raise SpecError(f"package {package!r} is not an npm package name")

        if (
            not isinstance(self.timeout_seconds, int)
            or isinstance(self.timeout_seconds, bool)
            or not 0 < self.timeout_seconds <= _MAX_TIMEOUT
        ):
            raise SpecError(f"timeout_seconds must be an integer between 1 and {_MAX_TIMEOUT}")
        if not isinstance(self.memory, str) or not _MEMORY.match(self.memory.lower()):
            raise SpecError(f"memory {self.memory!r} must look like 512m or 2g")
        if not isinstance(self.cpus, str) or not _CPUS.match(self.cpus):
            raise SpecError(f"cpus {self.cpus!r} must be a positive number like 2 or 0.5")
        if not isinstance(self.pids, int) or isinstance(self.pids, bool) or not 0 < self.pids <= 1_000_000:
            raise SpecError("pids must be a positive integer")
        match = _USER.match(self.user) if isinstance(self.user, str) else None
        if not match or int(match.group(1)) == 0 or int(match.group(2)) == 0:
            raise SpecError(f"user {self.user!r} must be a non-root numeric UID:GID like 10001:10001")

        object.__setattr__(self, "agents", agents)
        object.__setattr__(self, "command", command)
        object.__setattr__(self, "target", _relative_path("target", self.target))
        object.__setattr__(self, "endpoints", tuple(sorted(endpoints)))
        object.__setattr__(self, "secrets", tuple(sorted(secrets)))
        object.__setattr__(self, "packages", packages)
        object.__setattr__(self, "memory", self.memory.lower())
        object.__setattr__(self, "config_dir", _relative_path("config_dir", self.config_dir))

    @property
    def image_pinned(self) -> bool:
        """True when the agent image is referenced by a real sha256 digest."""
        return bool(_DIGEST.search(self.image))

    @property
    def uid(self) -> int:
        return int(self.user.split(":")[0])

    @property
    def gid(self) -> int:
        return int(self.user.split(":")[1])


def _default_catalog() -> Path:
    import scanner

    package = Path(scanner.__file__).resolve().parent
    for candidate in (package / "_data" / "rules" / "agents.yaml", package.parent / "rules" / "agents.yaml"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("the agent catalog rules/agents.yaml is missing from this installation")


def spec_from_catalog(
    agents: Iterable[str],
    command: Iterable[str],
    *,
    target: str = ".",
    secrets: Iterable[str] | None = None,
    extra_endpoints: Iterable[str] = (),
    catalog: Mapping[str, Any] | Path | None = None,
    **overrides: Any,
) -> SandboxSpec:
    """Build a spec for catalog agents: endpoints, key names and npm packages come from the catalog.

    `secrets=None` picks the first `api_keys` name of each agent; pass the names the repo really
    uses when the scan found them. Unknown agent ids contribute nothing but are kept.
    """
    if catalog is None or isinstance(catalog, Path):
        import yaml

        path = catalog or _default_catalog()
        with open(path, encoding="utf-8") as handle:
            catalog = yaml.safe_load(handle) or {}
    entries = {entry.get("id"): entry for entry in catalog.get("agents", []) if isinstance(entry, Mapping)}
    agent_ids = tuple(agents)
    endpoints: list[str] = list(extra_endpoints)
    picked: list[str] = []
    packages: list[str] = []
    for agent in agent_ids:
        entry = entries.get(agent, {})
        endpoints.extend(entry.get("endpoints") or [])
        keys = entry.get("api_keys") or []
        if keys:
            picked.append(keys[0])
        packages.extend(entry.get("packages") or [])
    return SandboxSpec(
        agents=agent_ids,
        command=tuple(command),
        target=target,
        endpoints=tuple(endpoints),
        secrets=tuple(picked if secrets is None else secrets),
        packages=tuple(packages),
        **overrides,
    )
