"""What a file is by its name alone: container, compose, devcontainer, scheduler and manifest
files. Used by the file-kind table and by the link stage, which finds these files from others."""

from __future__ import annotations

import posixpath
import re

_COMPOSE = re.compile(r"^(docker-)?compose([.-][\w.-]+)?\.ya?ml$")
_DEVCONTAINER = re.compile(r"(^|/)\.devcontainer/([^/]+/)?devcontainer\.json$")


def is_dockerfile(path: str) -> bool:
    base = posixpath.basename(path)
    return base in ("Dockerfile", "Containerfile", "dockerfile") or base.startswith(("Dockerfile.", "Containerfile.")) \
        or base.endswith((".Dockerfile", ".dockerfile", ".Containerfile"))


def is_compose(path: str) -> bool:
    return bool(_COMPOSE.match(posixpath.basename(path)))


def is_devcontainer(path: str) -> bool:
    return path == ".devcontainer.json" or path.endswith("/.devcontainer.json") or bool(_DEVCONTAINER.search(path))


def is_scheduler(path: str) -> bool:
    """crontab files, launchd plists, systemd units (files in `cron.d/` are found by the link pass)."""
    base = posixpath.basename(path)
    return base == "crontab" or base.endswith((".plist", ".service", ".timer", ".cron", ".crontab"))


def is_kubernetes(path: str) -> bool:
    return path.endswith((".yaml", ".yml")) and not path.startswith(".github/")
