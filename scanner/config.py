"""The project's own configuration: `.blastwall.toml` at the scanned root, or `[tool.blastwall]`
in its `pyproject.toml` (`.blastwall.toml` wins when both exist), or a file named by `--config`.

    exclude = ["docs/**", "examples/"]          # more gitignore-style paths to skip
    disable = ["agent-unpinned-image"]          # rules not to run
    allowed-egress = ["api.internal.example"]   # extra hosts generated sandbox configs may reach
    agents = [{ name = "Acme Agent", binaries = ["acme-agent"] }]  # in-house agent CLIs
    include-tests = false                       # judge tests/examples/docs like shipped code

    [severity]                                  # per-rule severity, applied after findings are built
    agent-unpinned-image = "info"

Unknown keys and bad values raise `ConfigError`, which the command line reports as a usage
error. Nothing in the file is executed; it is parsed as TOML and checked against this schema.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from scanner.catalog import AgentSpec, Catalog, load_catalog
from scanner.model import Finding, Severity

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

CONFIG_NAME = ".blastwall.toml"
PYPROJECT = "pyproject.toml"
MAX_BYTES = 1024 * 1024
_KEYS = ("exclude", "disable", "severity", "allowed-egress", "agents", "include-tests")
_HOST = re.compile(r"^(\*\.)?[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*(?::[0-9]{1,5})?$")
_BINARY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")


class ConfigError(ValueError):
    """The configuration file is unreadable or does not match the schema."""


@dataclass(frozen=True)
class ExtraAgent:
    """An agent CLI the catalog does not know, declared by the project."""

    name: str
    binaries: tuple[str, ...]

    @property
    def agent_id(self) -> str:
        return "config-" + (re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-") or "agent")


@dataclass(frozen=True)
class Origin:
    """Where a setting that changes results is written: shown to the reviewer in every mode."""

    key: str  # exclude | disable | severity | agents
    value: str
    line: int
    quote: str


@dataclass(frozen=True)
class Config:
    source: str = ""  # the file it came from, as given or relative to the scanned root; "" = none
    exclude: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()
    severity: tuple[tuple[str, Severity], ...] = ()
    allowed_egress: tuple[str, ...] = ()
    agents: tuple[ExtraAgent, ...] = ()
    in_pyproject: bool = False
    include_tests: bool = False
    origins: tuple[Origin, ...] = ()  # every result-changing setting, with its line
    unread: str = ""  # a configuration file that exists but was too large to read, and why


def _origins(cfg: Config, text: str) -> tuple[Origin, ...]:
    """Locate each parsed setting in the file's text. The settings come from the TOML parse;
    the text only supplies line numbers (first line naming the value, else the key, else 1)."""
    lines = text.split("\n")

    def find(*needles: str) -> tuple[int, str]:
        for needle in needles:
            for number, line in enumerate(lines, start=1):
                if needle and needle in line:
                    return number, line.strip()[:200]
        return 1, (lines[0].strip()[:200] if lines else "")

    out = []
    for pattern in cfg.exclude:
        out.append(Origin("exclude", pattern, *find(f'"{pattern}"', f"'{pattern}'", "exclude")))
    for rule in cfg.disable:
        out.append(Origin("disable", rule, *find(f'"{rule}"', f"'{rule}'", "disable")))
    for rule, sev in cfg.severity:
        out.append(Origin("severity", f"{rule} = {sev.value}", *find(rule, "severity")))
    for agent in cfg.agents:
        out.append(Origin("agents", agent.name, *find(agent.name, "agents")))
    return tuple(out)


def _read_limited(path: Path, follow: bool) -> bytes:
    flags = os.O_RDONLY | (0 if follow else getattr(os, "O_NOFOLLOW", 0)) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ConfigError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfigError(f"{path.name} is not a regular file")
        data = os.read(fd, MAX_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{path.name} is larger than {MAX_BYTES} bytes")
    return data


def _toml(data: bytes, name: str) -> dict[str, Any]:
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{name} is not UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name} is not valid TOML: {exc}") from None


def config_paths(root: Path) -> tuple[Path, Path]:
    base = root if root.is_dir() else root.parent
    return base / CONFIG_NAME, base / PYPROJECT


def load_config(root: Path, explicit: Path | None = None, catalog: Catalog | None = None) -> Config:
    """The configuration that applies to a scan of `root`, or an empty one."""
    catalog = catalog or load_catalog()
    if explicit is not None:
        data = _read_limited(explicit, follow=True)
        doc = _toml(data, explicit.name)
        if explicit.name == PYPROJECT and "tool" in doc:
            section = (doc.get("tool") or {}).get("blastwall")
            if not isinstance(section, dict):
                raise ConfigError(f"{explicit.name} has no [tool.blastwall] table")
            return _located(parse_config(section, str(explicit), catalog, in_pyproject=True), data)
        return _located(parse_config(doc, str(explicit), catalog), data)
    own, pyproject = config_paths(root)
    if own.is_file() or own.is_symlink():
        data = _read_limited(own, follow=False)
        return _located(parse_config(_toml(data, own.name), own.name, catalog), data)
    if pyproject.is_file() and not pyproject.is_symlink():
        try:
            data = _read_limited(pyproject, follow=False)
        except ConfigError as exc:  # a huge pyproject.toml must not stop the scan: it shows in the verdict
            return Config(unread=f"{pyproject.name}: {exc}; [tool.blastwall] not read")
        if b"blastwall" not in data:  # cheap: any spelling of the table names it
            return Config()
        tool = _toml(data, pyproject.name).get("tool")
        section = tool.get("blastwall") if isinstance(tool, dict) else None
        if section is None:
            return Config()
        if not isinstance(section, dict):
            raise ConfigError(f"{pyproject.name}: [tool.blastwall] must be a table")
        return _located(parse_config(section, pyproject.name, catalog, in_pyproject=True), data)
    return Config()


def _located(cfg: Config, data: bytes) -> Config:
    return replace(cfg, origins=_origins(cfg, data.decode("utf-8", "replace")))


def _strings(value: Any, key: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: `{key}` must be a list of non-empty strings")
    return tuple(dict.fromkeys(v.strip() for v in value))


def _known_rule(rule_id: str, key: str, where: str, catalog: Catalog) -> str:
    if rule_id not in catalog.rules:
        raise ConfigError(f"{where}: `{key}` names unknown rule {rule_id!r} (see `blastwall rules`)")
    return rule_id


def parse_config(doc: dict[str, Any], source: str, catalog: Catalog, in_pyproject: bool = False) -> Config:
    where = f"{source} [tool.blastwall]" if in_pyproject else source
    unknown = sorted(set(doc) - set(_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(_KEYS)})")
    exclude = _strings(doc.get("exclude", []), "exclude", where)
    disable = tuple(_known_rule(r, "disable", where, catalog) for r in _strings(doc.get("disable", []), "disable", where))
    raw_severity = doc.get("severity", {})
    if not isinstance(raw_severity, dict):
        raise ConfigError(f'{where}: `severity` must be a table of rule-id = "critical|high|medium|low|info"')
    severity = []
    for rule_id, value in sorted(raw_severity.items()):
        _known_rule(rule_id, "severity", where, catalog)
        try:
            severity.append((rule_id, Severity(value)))
        except (ValueError, TypeError):
            raise ConfigError(f"{where}: severity for {rule_id!r} must be one of "
                              f"{', '.join(s.value for s in Severity)}; got {value!r}") from None
    egress = _strings(doc.get("allowed-egress", []), "allowed-egress", where)
    for host in egress:
        if not _HOST.match(host):
            raise ConfigError(f"{where}: `allowed-egress` entry {host!r} is not a host name (optionally *.domain or :port)")
    agents = _agents(doc.get("agents", []), where, catalog)
    include_tests = doc.get("include-tests", False)
    if not isinstance(include_tests, bool):
        raise ConfigError(f"{where}: `include-tests` must be true or false")
    return Config(source=source, exclude=exclude, disable=disable, severity=tuple(severity),
                  allowed_egress=egress, agents=agents, in_pyproject=in_pyproject, include_tests=include_tests)


def _agents(value: Any, where: str, catalog: Catalog) -> tuple[ExtraAgent, ...]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f'{where}: `agents` must be a list of tables like {{ name = "…", binaries = ["…"] }}')
    known = {binary: spec.name for binary, spec in catalog.by_binary.items()}
    out = []
    for item in value:
        extra = sorted(set(item) - {"name", "binaries"})
        if extra:
            raise ConfigError(f"{where}: unknown key {extra[0]!r} in `agents` (known: name, binaries)")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise ConfigError(f"{where}: every entry of `agents` needs a `name` (a short string)")
        binaries = _strings(item.get("binaries"), "binaries", f"{where} agent {name!r}")
        for binary in binaries:
            if not _BINARY.match(binary):
                raise ConfigError(f"{where}: agent {name!r}: {binary!r} is not a command name")
            if binary in known:
                raise ConfigError(f"{where}: agent {name!r}: {binary!r} is already known as {known[binary]}")
        spec = ExtraAgent(name.strip(), binaries)
        known.update(dict.fromkeys(binaries, spec.name))
        out.append(spec)
    return tuple(out)


def catalog_for(agents: tuple[ExtraAgent, ...] = ()) -> Catalog:
    """The catalog, extended with the project's own agents (same object for the same agents)."""
    return _extended(tuple(agents)) if agents else load_catalog()


@lru_cache(maxsize=4)
def _extended(agents: tuple[ExtraAgent, ...]) -> Catalog:
    base = load_catalog()
    specs = tuple(
        AgentSpec(id=a.agent_id, name=a.name, binaries=a.binaries, requires_any={}, packages=(), bypass=(),
                  sandbox_default_on=False, sandbox_enable=(), sandbox_disable=(), endpoints=(), api_keys=())
        for a in agents
    )
    return replace(base, agents=base.agents + specs)  # every other table (non-session args, ...) kept


def apply_severity_overrides(findings: Iterable[Finding], overrides: Iterable[tuple[str, Severity | str]]) -> list[Finding]:
    """The one place a configured severity replaces a rule's; the finding's message says so."""
    table = {rule_id: Severity(value) for rule_id, value in overrides}
    out = []
    for f in findings:
        wanted = table.get(f.rule_id)
        if wanted is not None and wanted is not f.severity:
            f = replace(f, severity=wanted,
                        message=f"{f.message} Severity set to {wanted.value} by the project's blastwall configuration "
                                f"(rule default: {f.severity.value}).")
        out.append(f)
    return out
