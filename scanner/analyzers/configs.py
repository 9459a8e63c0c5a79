"""Container, orchestrator and agent-config surfaces (Dockerfile, compose, devcontainer,
Kubernetes, .claude/.codex/.gemini/MCP configs, and any JSON or TOML file whose content is an
agent config). Registers its file kinds on import."""

from __future__ import annotations

import posixpath
import re

from scanner.registry import register_kind

_COMPOSE = re.compile(r"^(docker-)?compose([.-][\w.-]+)?\.ya?ml$")


def is_dockerfile(path: str) -> bool:
    base = posixpath.basename(path)
    return base in ("Dockerfile", "Containerfile", "dockerfile") or base.startswith(("Dockerfile.", "Containerfile.")) \
        or base.endswith((".Dockerfile", ".dockerfile", ".Containerfile"))


def is_compose(path: str) -> bool:
    return bool(_COMPOSE.match(posixpath.basename(path)))


def is_devcontainer(path: str) -> bool:
    return path == ".devcontainer.json" or path.endswith("/.devcontainer.json") or bool(
        re.search(r"(^|/)\.devcontainer/([^/]+/)?devcontainer\.json$", path))


def is_scheduler(path: str) -> bool:
    """crontab files, launchd plists, systemd units (files in `cron.d/` are found by the link pass)."""
    base = posixpath.basename(path)
    return base == "crontab" or base.endswith((".plist", ".service", ".timer", ".cron", ".crontab"))


def is_kubernetes(path: str) -> bool:
    return path.endswith((".yaml", ".yml")) and not path.startswith(".github/")


def _lazy(module: str, name: str, unfiltered: bool = False):
    """An analyzer imported on first use; `unfiltered` ones read files with no agent name in them."""

    def run(analysis):
        import importlib

        return getattr(importlib.import_module(module), name)(analysis)

    run.unfiltered = unfiltered  # type: ignore[attr-defined]
    return run


def _register() -> None:
    from scanner.analyzers import agent_configs as ac

    # Appended last: any other YAML file may hold Kubernetes manifests.
    register_kind("kubernetes", is_kubernetes, _lazy("scanner.analyzers.kubernetes", "analyze_kubernetes"), first=False)
    register_kind("scheduler", is_scheduler, _lazy("scanner.analyzers.schedulers", "analyze_scheduler"))
    register_kind("dockerfile", is_dockerfile, _lazy("scanner.analyzers.containers", "analyze_dockerfile"))
    register_kind("compose", is_compose, _lazy("scanner.analyzers.containers", "analyze_compose"))
    register_kind("devcontainer", is_devcontainer, _lazy("scanner.analyzers.containers", "analyze_devcontainer"))
    register_kind("aider-config", ac.is_aider_conf, _lazy("scanner.analyzers.agent_configs", "analyze_aider_conf", True))
    register_kind("opencode-config", ac.is_opencode, _lazy("scanner.analyzers.agent_configs", "analyze_opencode", True))
    register_kind("gemini-settings", ac.is_gemini_settings_path,
                  _lazy("scanner.analyzers.agent_configs", "analyze_gemini_settings", True))
    register_kind("codex-config", ac.is_codex_config_path, _lazy("scanner.analyzers.agent_configs", "analyze_codex_config", True))
    register_kind("mcp-config", ac.is_mcp_json_path, _lazy("scanner.analyzers.agent_configs", "analyze_mcp_json", True))
    register_kind("claude-settings", ac.is_claude_settings_path,
                  _lazy("scanner.analyzers.agent_configs", "analyze_claude_settings", True))
    # Appended last: any other JSON or TOML file is an agent config when its content says so.
    register_kind("config-by-content", lambda p: ac.is_any_json(p) or ac.is_any_toml(p),
                  _lazy("scanner.analyzers.agent_configs", "analyze_config_by_content", True), first=False)

_register()
