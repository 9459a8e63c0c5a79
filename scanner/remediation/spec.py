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

from scanner.remediation.facts import Install, default_catalog, load_facts

__all__ = [
    "Install",
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
_PYPI_PACKAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_SCRIPT_URL = re.compile(r"^https://[A-Za-z0-9.-]+(?:/[A-Za-z0-9._~/-]*)?$")
_BINARY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_PLAIN_VALUE = re.compile(r"^[A-Za-z0-9/._-]{1,200}$")
_PYTHON = re.compile(r"^3\.[0-9]{1,2}$")
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


def _check_install(install: Any) -> Install:
    if not isinstance(install, Install):
        raise SpecError(f"installs must hold Install values, got {install!r}")
    if install.binary and not _BINARY.match(install.binary):
        raise SpecError(f"install binary {install.binary!r} is not a plain command name")
    if install.method == "npm":
        if not _NPM_PACKAGE.match(install.package):
            raise SpecError(f"package {install.package!r} is not an npm package name")
    elif install.method == "pipx":
        if not _PYPI_PACKAGE.match(install.package):
            raise SpecError(f"package {install.package!r} is not a PyPI package name")
        if install.python and not _PYTHON.match(install.python):
            raise SpecError(f"python version {install.python!r} must look like 3.12")
    elif install.method == "script":
        if not _SCRIPT_URL.match(install.url):
            raise SpecError(f"install script {install.url!r} must be a plain https URL")
        if not install.binary:
            raise SpecError("an install script must name the binary it provides")
        for host in install.hosts:
            if not _HOSTNAME.match(host):
                raise SpecError(f"install host {host!r} is not a plain host name")
        for name, value in install.bin_env:
            if not _ENV_NAME.match(name) or not _PLAIN_VALUE.match(value):
                raise SpecError(f"install environment {name}={value!r} is not a plain setting")
    else:
        raise SpecError(f"install method {install.method!r} is not npm, pipx or script")
    return install


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
    #: npm packages that install the agent CLIs (used by the CI job); optional, same as
    #: `installs` entries with method "npm".
    packages: tuple[str, ...] = ()
    #: how each agent is installed in the CI job (npm, pipx or an install script).
    installs: tuple[Install, ...] = ()
    #: harmless configuration variables passed through by name besides the secrets.
    pass_env: tuple[str, ...] = ()
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
        installs = tuple(dict.fromkeys(_check_install(i) for i in (*self.installs, *(
            Install(method="npm", binary="", package=p) for p in packages))))
        npm = [i.package for i in installs if i.method == "npm"]

        pass_env = set()
        for name in _strings("pass_env", self.pass_env):
            if not _ENV_NAME.match(name):
                raise SpecError(f"pass_env {name!r} is not an environment variable name")
            pass_env.add(name)

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
        object.__setattr__(self, "packages", tuple(dict.fromkeys(npm)))
        object.__setattr__(self, "installs", installs)
        object.__setattr__(self, "pass_env", tuple(sorted(pass_env - secrets)))
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


_default_catalog = default_catalog  # kept for callers of the old name


def spec_from_catalog(
    agents: Iterable[str],
    command: Iterable[str] | None = None,
    *,
    target: str = ".",
    secrets: Iterable[str] | None = None,
    extra_endpoints: Iterable[str] = (),
    catalog: Mapping[str, Any] | Path | None = None,
    **overrides: Any,
) -> SandboxSpec:
    """Build a spec for catalog agents from their remediation facts: how each installs (npm, pipx
    or an install script), its model endpoints (plus the provider of every key named in
    `secrets`), its key names and its harmless settings variables.

    `command=None` runs the first agent headless (`claude -p`, `aider --message`, ...).
    `secrets=None` picks the first `api_keys` name of each agent; pass the names the repo really
    uses when the scan found them. Unknown agent ids contribute nothing but are kept.
    """
    from scanner.remediation.facts import facts_from

    if isinstance(catalog, Mapping):
        facts = facts_from(catalog)
    else:
        facts = load_facts(catalog)
    agent_ids = tuple(agents)
    picked: list[str] = []
    installs: list[Install] = []
    pass_env: list[str] = []
    for agent in agent_ids:
        entry = facts.agent(agent)
        if entry is None:
            continue
        picked.extend(entry.api_keys[:1])
        if entry.install is not None:
            installs.append(entry.install)
        pass_env.extend(entry.settings_env)
    names = tuple(picked if secrets is None else secrets)
    endpoints = (*facts.endpoints(agent_ids, names), *extra_endpoints)
    if command is None:
        first = facts.agent(agent_ids[0]) if agent_ids else None
        command = first.headless if first is not None else agent_ids[:1]
    overrides.setdefault("installs", tuple(installs))
    overrides.setdefault("pass_env", tuple(pass_env))
    return SandboxSpec(
        agents=agent_ids,
        command=tuple(command),
        target=target,
        endpoints=tuple(endpoints),
        secrets=names,
        **overrides,
    )
