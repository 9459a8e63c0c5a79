"""Render the sandbox configs for a `SandboxSpec` from the jinja2 templates in reports/sandbox/.

`render_configs` is pure: the same spec gives byte-identical files (no timestamps, no host paths,
no secret values). Every structured output is parsed back before it is returned, so a template
bug or a value that slipped past validation fails loudly here instead of in the user's repo.
"""

from __future__ import annotations

import json
import math
import posixpath
import shlex
from functools import lru_cache
from pathlib import Path

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

import jinja2
import yaml

from scanner.parse.yamlsrc import load_data
from scanner.remediation.spec import SandboxSpec

__all__ = ["render_configs", "templates_dir", "PROXY_HOST", "PROXY_PORT"]

#: actions/checkout v4.2.2 and step-security/harden-runner v2.14.1, pinned by full commit SHA.
CHECKOUT_ACTION = ("actions/checkout", "11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2")
HARDEN_RUNNER_ACTION = ("step-security/harden-runner", "e3f713f2d8f53843e71c69a996d56f51aa9adfb9", "v2.14.1")

#: where the CI job installs Python agents (pipx) and install-script agents: root-owned, outside
#: HOME, mounted read-only into the sandbox.
PIPX_HOME = "/opt/pipx"
SCRIPT_HOME = "/opt/agent-install"

PROXY_HOST = "agent-egress-proxy"
PROXY_PORT = 3128
#: fixed addresses for the container runner's internal network, so no DNS is needed inside it.
INTERNAL_SUBNET = "10.203.17.0/28"
PROXY_IP = "10.203.17.2"

# Credential files and folders the agent must never read (Claude Code deny rules, bwrap guards).
CREDENTIAL_PATHS = (
    "~/.ssh",
    "~/.aws",
    "~/.azure",
    "~/.config/gcloud",
    "~/.config/gh",
    "~/.kube",
    "~/.docker",
    "~/.gnupg",
    "~/.netrc",
    "~/.git-credentials",
    "~/.npmrc",
    "~/.pypirc",
)
CREDENTIAL_FILES = frozenset({"~/.netrc", "~/.git-credentials", "~/.npmrc", "~/.pypirc"})
# Operator credentials commonly present in a developer's or runner's environment.
OPERATOR_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_CLIENT_SECRET",
    "GH_TOKEN",
    "GITHUB_TOKEN",
    "GITLAB_TOKEN",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "NPM_TOKEN",
    "VAULT_TOKEN",
)

_SANDBOX = ("reports", "sandbox")


def templates_dir() -> Path:
    """The reports/sandbox folder: inside an installed wheel, else beside the package."""
    import scanner

    package = Path(scanner.__file__).resolve().parent
    installed = package.joinpath("_data", *_SANDBOX)
    if installed.is_dir():
        return installed
    source = package.parent.joinpath(*_SANDBOX)
    if source.is_dir():
        return source
    raise FileNotFoundError("blastwall sandbox templates (reports/sandbox) are missing from this installation")


@lru_cache(maxsize=4)
def _environment(folder: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["sh"] = lambda value: shlex.quote(str(value))
    env.filters["json"] = lambda value: json.dumps(value, ensure_ascii=True)
    env.filters["k8s_quantity"] = _k8s_memory
    # Literal argv in formats that expand variables themselves: compose interpolates "$", and
    # Kubernetes expands "$(NAME)" in args; both take a doubled "$" as a literal one.
    env.filters["compose_literal"] = lambda args: [arg.replace("$", "$$") for arg in args]
    env.filters["k8s_literal"] = lambda args: [arg.replace("$(", "$$(") for arg in args]
    return env


def _k8s_memory(memory: str) -> str:
    """Docker-style memory (binary units: 512m, 2g) as a Kubernetes quantity (512Mi, 2Gi)."""
    units = {"k": "Ki", "m": "Mi", "g": "Gi"}
    if memory[-1] in units:
        return memory[:-1] + units[memory[-1]]
    return memory


def _context(spec: SandboxSpec) -> dict[str, object]:
    endpoints = list(spec.endpoints)
    setup = ["github.com"]
    for install in spec.installs:
        setup.extend(install.download_hosts)
    ci_setup_endpoints = [host for host in dict.fromkeys(setup) if host not in endpoints]
    target_from_config = posixpath.relpath(spec.target, spec.config_dir)
    # Paths from the repository root: a workflow step runs there wherever its file lives.
    script_prefix = "./" if spec.config_dir == "." else f"./{spec.config_dir}/"
    extra_ro = []
    if any(i.method == "pipx" for i in spec.installs):
        extra_ro.append(PIPX_HOME)
    if any(i.method == "script" for i in spec.installs):
        extra_ro.append(SCRIPT_HOME)
    from scanner.remediation.facts import load_facts

    facts = load_facts()
    names = {a: (facts.agent(a).name if facts.agent(a) else a) for a in spec.agents}
    return {
        "spec": spec,
        "agents_label": ", ".join(spec.agents),
        "agent_names": names,
        "has_claude": "claude-code" in spec.agents,
        "has_codex": "codex" in spec.agents,
        "endpoints": endpoints,
        "needs_network": bool(endpoints),
        "secrets": list(spec.secrets),
        "pass_env": list(spec.pass_env),
        "installs": list(spec.installs),
        "pipx_home": PIPX_HOME,
        "script_home": SCRIPT_HOME,
        "extra_ro": ":".join(extra_ro),
        "command": list(spec.command),
        "command_sh": " ".join(shlex.quote(arg) for arg in spec.command),
        # GitHub evaluates "${{ ... }}" anywhere in a workflow, so such an argv stays out of it.
        "command_has_expression": any("${{" in arg for arg in spec.command),
        "proxy_host": PROXY_HOST,
        "proxy_port": PROXY_PORT,
        "proxy_url": f"http://{PROXY_HOST}:{PROXY_PORT}",
        "internal_subnet": INTERNAL_SUBNET,
        "proxy_ip": PROXY_IP,
        "k8s_memory": _k8s_memory(spec.memory),
        "timeout_minutes": math.ceil(spec.timeout_seconds / 60) + 10,
        "checkout": CHECKOUT_ACTION,
        "harden_runner": HARDEN_RUNNER_ACTION,
        "ci_setup_endpoints": ci_setup_endpoints,
        "target_from_config": target_from_config,
        "target_is_root": spec.target == ".",
        "script_prefix": script_prefix,
        "credential_paths": list(CREDENTIAL_PATHS),
        "credential_files": CREDENTIAL_FILES,
        "operator_env": [name for name in OPERATOR_ENV if name not in spec.secrets],
        "home": "/home/agent",
    }


# output path -> (template name, condition on the context)
_OUTPUTS: tuple[tuple[str, str, str | None], ...] = (
    ("run-agent.sh", "run-agent.sh.j2", None),
    ("agent-bwrap.sh", "agent-bwrap.sh.j2", None),
    ("egress-proxy.py", "egress-proxy.py.j2", "needs_network"),
    ("compose.sandbox.yaml", "compose.sandbox.yaml.j2", None),
    ("egress-proxy/squid.conf", "squid.conf.j2", "needs_network"),
    (".devcontainer/devcontainer.json", "devcontainer.json.j2", None),
    (".devcontainer/Dockerfile", "devcontainer.Dockerfile.j2", None),
    (".devcontainer/init-firewall.sh", "init-firewall.sh.j2", None),
    ("k8s/agent-job.yaml", "k8s-agent-job.yaml.j2", None),
    ("k8s/agent-networkpolicy.yaml", "k8s-agent-networkpolicy.yaml.j2", None),
    ("github-actions-job.yml", "github-actions-job.yml.j2", None),
    (".claude/settings.json", "claude-settings.json.j2", "has_claude"),
    (".codex/config.toml", "codex-config.toml.j2", "has_codex"),
)


def _check(path: str, text: str) -> None:
    try:
        if path.endswith(".py"):
            compile(text, path, "exec", dont_inherit=True)
        elif path.endswith(".json"):
            json.loads(text)
        elif path.endswith((".yaml", ".yml")):
            load_data(text)
        elif path.endswith(".toml"):
            tomllib.loads(text)
    except (ValueError, SyntaxError, yaml.YAMLError) as exc:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        raise RuntimeError(f"generated {path} does not parse: {exc}") from exc


def render_configs(spec: SandboxSpec) -> dict[str, str]:
    """Map each output path (relative, POSIX) to its file contents, sorted by path."""
    if not isinstance(spec, SandboxSpec):
        raise TypeError("render_configs expects a SandboxSpec")
    env = _environment(str(templates_dir()))
    context = _context(spec)
    files: dict[str, str] = {}
    for path, template, condition in _OUTPUTS:
        if condition and not context[condition]:
            continue
        text = env.get_template(template).render(context)
        _check(path, text)
        files[path] = text
    # The README explains every generated file, so it is rendered last.
    context["files"] = sorted(files)
    files["README.md"] = env.get_template("README.md.j2").render(context)
    return dict(sorted(files.items()))
