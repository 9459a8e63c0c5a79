"""Where the shipped data lives: inside the wheel, or beside the package in a checkout."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def data_dir(name: str) -> Path:
    """Return the `rules` or `reports` folder, installed or from the source tree."""
    installed = _PACKAGE / "_data" / name
    if installed.is_dir():
        return installed
    source = _PACKAGE.parent / name
    if source.is_dir():
        return source
    raise FileNotFoundError(f"blastwall data folder {name!r} is missing from this installation")


def rules_dir() -> Path:
    return data_dir("rules")


def reports_dir() -> Path:
    return data_dir("reports")


def libyaml_loader() -> Any:
    """PyYAML's libyaml safe loader (several times faster than the pure-Python one, the same
    safe subset), or None where PyYAML was built without libyaml."""
    import yaml

    return getattr(yaml, "CSafeLoader", None) if getattr(yaml, "__with_libyaml__", False) else None


def read_rules_yaml(path: Path) -> Any:
    """One shipped data file, parsed: every scan and every worker pays this at start."""
    import yaml

    return yaml.load(path.read_text(encoding="utf-8"), Loader=libyaml_loader() or yaml.SafeLoader)  # noqa: S506
