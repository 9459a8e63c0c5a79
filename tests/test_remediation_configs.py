"""Generated sandbox configs: schema-valid, shell-clean, tailored to the spec, written safely."""

from __future__ import annotations

import copy
import json
import re
import shlex
import shutil
import stat
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from scanner.remediation import (
    SandboxSpec,
    SpecError,
    UnsafePathError,
    render_configs,
    spec_from_catalog,
    templates_dir,
    write_configs,
)

SCHEMAS = Path(__file__).resolve().parent / "schemas"  # vendored: see schemas/README.md
SHA40 = re.compile(r"@[0-9a-f]{40}$")

CLAUDE = spec_from_catalog(["claude-code"], ["claude", "-p", "review the diff"])
CODEX = SandboxSpec(
    agents=("codex",),
    command=("codex", "exec", "--sandbox", "read-only", "summarise"),
    target="src",
    endpoints=("api.openai.com", "API.openai.com", "api.openai.com"),
    secrets=("OPENAI_API_KEY",),
    packages=("@openai/codex",),
    timeout_seconds=600,
    memory="512m",
    cpus="1.5",
    pids=128,
)
# No endpoints, no secrets, and an argv full of quoting hazards.
OFFLINE = SandboxSpec(agents=("aider",), command=("aider", "--message", "it's \"fine\"; $(no) `x` caf\u00e9 {{ y }} #7: a"))
SPECS = {"claude": CLAUDE, "codex": CODEX, "offline": OFFLINE}


@pytest.fixture(params=sorted(SPECS))
def case(request):
    spec = SPECS[request.param]
    return spec, render_configs(spec)


DIALECTS = {
    "json-schema.org/draft-07/schema": jsonschema.Draft7Validator,
    "json-schema.org/draft/2019-09/schema": jsonschema.Draft201909Validator,
    "json-schema.org/draft/2020-12/schema": jsonschema.Draft202012Validator,
}


def _schema_file(name: str) -> dict:
    path = SCHEMAS / name
    if not path.is_file():
        raise FileNotFoundError(f"vendored schema {name} missing from tests/schemas/")
    return json.loads(path.read_text(encoding="utf-8"))


def _errors(schema: dict, document: object, registry: Registry | None = None) -> list[str]:
    # Match the dialect loosely: compose-spec.json spells draft 7 as https://...draft-07/schema.
    dialect = str(schema.get("$schema", "")).rstrip("#").split("://", 1)[-1]
    cls = DIALECTS.get(dialect, jsonschema.Draft7Validator)
    validator = cls(schema, registry=registry) if registry is not None else cls(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def _strict(node: object) -> object:
    """The Kubernetes definitions allow unknown keys; forbid them so typos in field names fail."""
    if isinstance(node, dict):
        out = {key: _strict(value) for key, value in node.items()}
        if isinstance(out.get("properties"), dict) and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_strict(item) for item in node]
    return node


# The shared definitions predate Kubernetes 1.19, where securityContext.seccompProfile became GA.
# The strict check adds that one field (as 1.19+ defines it) rather than dropping it from the Job.
SECCOMP_PROFILE = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": ["RuntimeDefault", "Localhost", "Unconfined"]},
        "localhostProfile": {"type": "string"},
    },
    "required": ["type"],
}


@lru_cache(maxsize=2)
def _k8s_registry(strict: bool) -> tuple[str, Registry]:
    raw = json.loads((SCHEMAS / "kubernetes-definitions.json").read_text(encoding="utf-8"))
    contents = raw
    if strict:
        contents = copy.deepcopy(raw)
        for name in ("io.k8s.api.core.v1.SecurityContext", "io.k8s.api.core.v1.PodSecurityContext"):
            contents["definitions"][name]["properties"].setdefault("seccompProfile", SECCOMP_PROFILE)
        contents = _strict(contents)
    base = raw.get("$id", "urn:kubernetes-definitions")
    resource = Resource.from_contents(contents, default_specification=DRAFT7)
    return base, Registry().with_resource(base, resource)


def _k8s_errors(definition: str, document: object) -> list[str]:
    """Errors against the definitions file as shipped, then with unknown keys forbidden."""
    _schema_file("kubernetes-definitions.json")
    errors = []
    for strict in (False, True):
        base, registry = _k8s_registry(strict)
        schema = {"$schema": "http://json-schema.org/draft-07/schema#", "$ref": f"{base}#/definitions/{definition}"}
        errors += _errors(schema, document, registry)
    return errors


def _yaml(files: dict[str, str], path: str) -> dict:
    return yaml.safe_load(files[path])


# --- schema validity -------------------------------------------------------------------------


def test_compose_validates(case):
    spec, files = case
    assert not _errors(_schema_file("compose-spec.json"), _yaml(files, "compose.sandbox.yaml"))


def test_devcontainer_validates(case):
    spec, files = case
    document = json.loads(files[".devcontainer/devcontainer.json"])
    assert not _errors(_schema_file("devContainer.base.schema.json"), document)


def test_k8s_job_validates(case):
    spec, files = case
    assert not _k8s_errors("io.k8s.api.batch.v1.Job", _yaml(files, "k8s/agent-job.yaml"))


def test_k8s_networkpolicy_validates(case):
    spec, files = case
    document = _yaml(files, "k8s/agent-networkpolicy.yaml")
    assert not _k8s_errors("io.k8s.api.networking.v1.NetworkPolicy", document)


def test_strict_k8s_check_catches_typos():
    document = _yaml(render_configs(CLAUDE), "k8s/agent-job.yaml")
    document["spec"]["activeDeadlineSecond"] = 5
    assert _k8s_errors("io.k8s.api.batch.v1.Job", document)


def test_workflow_validates(case):
    spec, files = case
    assert not _errors(_schema_file("github-workflow.json"), _yaml(files, "github-actions-job.yml"))


def test_claude_settings_validate_and_only_for_claude(case):
    spec, files = case
    if "claude-code" not in spec.agents:
        assert ".claude/settings.json" not in files
        return
    settings = json.loads(files[".claude/settings.json"])
    assert not _errors(_schema_file("claude-code-settings.json"), settings)
    sandbox = settings["sandbox"]
    assert sandbox["enabled"] is True
    assert sandbox["allowUnsandboxedCommands"] is False
    assert sandbox["failIfUnavailable"] is True
    assert sandbox["network"]["allowedDomains"] == list(spec.endpoints)
    assert settings["permissions"]["disableBypassPermissionsMode"] == "disable"
    assert "Read(~/.ssh/**)" in settings["permissions"]["deny"]
    assert "Read(~/.aws/**)" in settings["permissions"]["deny"]
    assert {"~/.ssh", "~/.aws"} <= set(sandbox["filesystem"]["denyRead"])


def test_codex_config_only_for_codex(case):
    spec, files = case
    if "codex" not in spec.agents:
        assert ".codex/config.toml" not in files
        return
    config = tomllib.loads(files[".codex/config.toml"])
    assert config["sandbox_mode"] in ("workspace-write", "read-only")
    assert config["approval_policy"] == "on-request"
    assert config["sandbox_workspace_write"]["network_access"] is False
    assert config["shell_environment_policy"]["inherit"] == "core"


# --- shell outputs -----------------------------------------------------------------------------


def _shell_files(files: dict[str, str], tmp_path: Path) -> list[Path]:
    report = write_configs(tmp_path, files)
    return [tmp_path / name for name in report.written if name.endswith(".sh")]


def test_shell_outputs_parse(case, tmp_path):
    spec, files = case
    scripts = _shell_files(files, tmp_path)
    assert {p.name for p in scripts} == {"run-agent.sh", "agent-bwrap.sh", "init-firewall.sh"}
    for script in scripts:
        assert script.read_text().startswith("#!/usr/bin/env bash\n# ")
        assert "set -euo pipefail" in script.read_text()
        result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, f"{script.name}: {result.stderr}"


def test_shell_outputs_pass_shellcheck(case, tmp_path):
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed")
    spec, files = case
    for script in _shell_files(files, tmp_path):
        result = subprocess.run(
            [shellcheck, "--shell=bash", "--severity=info", str(script)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, f"{script.name}:\n{result.stdout}{result.stderr}"


# --- what each config enforces -----------------------------------------------------------------


def test_run_agent_script_contract(case):
    spec, files = case
    text = files["run-agent.sh"]
    for flag in (
        "run --rm",
        "--read-only",
        "--tmpfs /tmp:",
        "--tmpfs /home/agent:",
        '"$TARGET_ABS:/workspace:ro"',
        "--cap-drop ALL",
        "--security-opt no-new-privileges",
        f"--user {spec.user}",
        f"--memory {spec.memory}",
        f"--cpus {spec.cpus}",
        f"--pids-limit {spec.pids}",
        "timeout --kill-after=10",
        '"$IMAGE" "$@"',
        "podman",
    ):
        assert flag in text, flag
    assert "--env-file" not in text
    assert "--network none" in text if not spec.endpoints else "--network agent-internal" in text
    for name in spec.secrets:
        assert f"secret_args+=(--env {name})" in text
    assert re.findall(r"secret_args\+=\(--env ([A-Za-z0-9_]+)\)", text) == list(spec.secrets) + list(spec.pass_env)


def test_run_agent_refuses_unpinned_image(tmp_path):
    script = tmp_path / "run-agent.sh"
    script.write_text(render_configs(CLAUDE)["run-agent.sh"])
    result = subprocess.run(["bash", str(script), "true"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "pin the agent image by digest" in result.stderr


def test_bwrap_profile_contract(case):
    spec, files = case
    text = files["agent-bwrap.sh"]
    for flag in ("--unshare-all", "--die-with-parent", "--new-session", "--clearenv", "--cap-drop ALL",
                 "--ro-bind /usr /usr", "--tmpfs /tmp", "--tmpfs /home/agent",
                 '--ro-bind "$TARGET_ABS" /workspace', "BLASTWALL_TARGET", "BLASTWALL_TIMEOUT",
                 '"$TIMEOUT"', '-- "$@"'):
        assert flag in text, flag
    assert "--bind " not in text and "--dev-bind" not in text
    assert "--ro-bind / /" not in text
    assert ("--share-net" in text) == bool(spec.endpoints)


def test_compose_contract(case):
    spec, files = case
    compose = _yaml(files, "compose.sandbox.yaml")
    agent = compose["services"]["agent"]
    assert agent["read_only"] is True
    assert agent["cap_drop"] == ["ALL"]
    assert agent["security_opt"] == ["no-new-privileges:true"]
    assert agent["user"] == spec.user
    assert agent["mem_limit"] == spec.memory and agent["pids_limit"] == spec.pids
    assert str(agent["cpus"]) == spec.cpus
    assert any(t.startswith("/tmp") for t in agent["tmpfs"])
    [volume] = agent["volumes"]
    assert volume["read_only"] is True and volume["target"] == "/workspace"
    assert [arg.replace("$$", "$") for arg in agent["command"]] == list(spec.command)
    assert agent["entrypoint"][0] == "timeout" and agent["entrypoint"][-1] == str(spec.timeout_seconds)
    secrets = {k for k, v in agent["environment"].items() if v is None}
    assert secrets == set(spec.secrets) | set(spec.pass_env)
    assert "env_file" not in agent and "privileged" not in agent
    if not spec.endpoints:
        assert agent["network_mode"] == "none"
        assert set(compose["services"]) == {"agent"}
        return
    assert agent["networks"] == ["agent-internal"]
    assert compose["networks"]["agent-internal"]["internal"] is True
    assert compose["networks"]["agent-egress"].get("internal") is not True
    on_both = [name for name, svc in compose["services"].items()
               if {"agent-internal", "agent-egress"} <= set(svc.get("networks", []))]
    assert on_both == ["agent-egress-proxy"]
    squid = files["egress-proxy/squid.conf"]
    [acl] = [line for line in squid.splitlines() if line.startswith("acl agent_endpoints")]
    assert acl.split()[4:] == list(spec.endpoints)
    assert squid.splitlines()[-6:][0] != "http_access allow all" and "http_access deny all" in squid


def test_devcontainer_contract(case):
    spec, files = case
    dc = json.loads(files[".devcontainer/devcontainer.json"])
    assert dc["workspaceMount"].endswith(",target=/workspace,type=bind,readonly")
    assert dc["runArgs"] == ["--cap-add=NET_ADMIN", "--cap-add=NET_RAW"]
    assert dc["remoteUser"] != "root" and dc["containerUser"] != "root"
    assert dc["remoteEnv"] == {name: f"${{localEnv:{name}}}" for name in (*spec.secrets, *spec.pass_env)}
    assert "containerEnv" not in dc and "privileged" not in dc
    assert all("source=" not in m and ".ssh" not in m for m in dc["mounts"])
    assert "init-firewall.sh" in dc["postStartCommand"]
    firewall = files[".devcontainer/init-firewall.sh"]
    assert "iptables -P OUTPUT DROP" in firewall
    assert "--dport 53" in firewall
    if spec.endpoints:
        assert f"readonly ALLOWED_DOMAINS=({' '.join(spec.endpoints)})" in firewall
        assert "ipset create" in firewall
    else:
        assert "ipset" not in firewall.split("set -euo pipefail", 1)[1]
    dockerfile = files[".devcontainer/Dockerfile"]
    assert f"FROM {spec.image}\n" in dockerfile and dockerfile.rstrip().endswith("USER agent")


def test_k8s_contract(case):
    spec, files = case
    job = _yaml(files, "k8s/agent-job.yaml")
    pod = job["spec"]["template"]["spec"]
    assert job["spec"]["activeDeadlineSeconds"] == spec.timeout_seconds
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    [container] = pod["containers"]
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert set(container["resources"]["limits"]) >= {"cpu", "memory"}
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"]["key"] for e in container["env"] if "valueFrom" in e}
    assert refs == {name: name for name in spec.secrets}
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["workspace"]["readOnly"] is True
    assert mounts["workspace"].get("subPath", ".") == spec.target
    policy = _yaml(files, "k8s/agent-networkpolicy.yaml")
    assert policy["spec"]["podSelector"]["matchLabels"] == job["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    if not spec.endpoints:
        assert policy["spec"]["egress"] == []
    else:
        ports = [p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]]
        assert sorted(set(ports)) == [53, 3128]
        for host in spec.endpoints:
            assert f"#   - {host}:443" in files["k8s/agent-networkpolicy.yaml"]


def test_workflow_contract(case):
    spec, files = case
    workflow = _yaml(files, "github-actions-job.yml")
    assert workflow["permissions"] == {}
    [job] = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "read"}
    assert isinstance(job["timeout-minutes"], int) and job["timeout-minutes"] * 60 > spec.timeout_seconds
    steps = job["steps"]
    uses = [s["uses"] for s in steps if "uses" in s]
    assert all(SHA40.search(ref) for ref in uses), uses
    assert steps[0]["uses"].startswith("step-security/harden-runner@")
    harden = steps[0]["with"]
    assert harden["egress-policy"] == "block"
    allowed = harden["allowed-endpoints"].split()
    setup = ["github.com:443"] + (["registry.npmjs.org:443"] if spec.packages else [])
    assert allowed == [f"{host}:443" for host in spec.endpoints] + setup
    [checkout] = [s for s in steps if s.get("uses", "").startswith("actions/checkout@")]
    assert checkout["with"]["persist-credentials"] is False
    with_secrets = [s for s in steps if "secrets." in json.dumps(s)]
    runner = steps[-1]
    assert runner["run"] == "./agent-bwrap.sh " + " ".join(shlex.quote(a) for a in spec.command) + ' "$PROMPT"'
    assert runner["env"]["PROMPT"] == "${{ inputs.prompt }}"
    assert workflow["on"]["workflow_dispatch"]["inputs"]["prompt"]["required"] is True
    if spec.secrets:
        assert with_secrets == [runner]
        assert {k for k, v in runner["env"].items() if "secrets." in v} == set(spec.secrets)
    else:
        assert with_secrets == []
    assert "env" not in job and "env" not in workflow


# --- cross-cutting -----------------------------------------------------------------------------


def test_every_file_explains_itself(case):
    spec, files = case
    for path, text in files.items():
        if path.endswith(".json"):
            continue  # explained in README.md
        if path == "README.md":
            assert "## What you must still decide" in text
            continue
        head = "\n".join(text.splitlines()[:40])
        assert "must still decide" in head, path
    readme = files["README.md"]
    for path in files:
        if path != "README.md":
            assert f"`{path}`" in readme, path


def test_deterministic_and_free_of_machine_paths(case):
    spec, files = case
    assert render_configs(spec) == files
    assert list(files) == sorted(files)
    for path, text in files.items():
        for needle in ("/tmp/", "/work/", "/root", "/Users/"):
            assert needle not in text, (path, needle)
        assert not re.search(r"20\d\d-\d\d-\d\d", text), path
        assert "--env-file" not in text and "env_file" not in text, path


def test_secret_values_never_embedded(monkeypatch):
    for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.setenv(name, "sk-test-do-not-leak-1234")
    for spec in SPECS.values():
        for text in render_configs(spec).values():
            assert "do-not-leak" not in text


def test_spec_normalises_and_validates():
    assert CODEX.endpoints == ("api.openai.com",)
    assert CLAUDE.endpoints == tuple(sorted(CLAUDE.endpoints))
    assert CLAUDE.secrets == ("ANTHROPIC_API_KEY",)
    assert not CLAUDE.image_pinned and "<pin-me>" in CLAUDE.image
    for bad in (
        dict(secrets=("sk-ant-api03-abc",)),
        dict(secrets=("ANTHROPIC_API_KEY=abc",)),
        dict(endpoints=("https://api.anthropic.com",)),
        dict(endpoints=("*.anthropic.com",)),
        dict(target="../elsewhere"),
        dict(target="/abs"),
        dict(target="a,b"),
        dict(user="0:0"),
        dict(memory="lots"),
        dict(timeout_seconds=0),
        dict(command=()),
        dict(agents="claude-code"),
    ):
        with pytest.raises(SpecError):
            SandboxSpec(**{"agents": ("claude-code",), "command": ("claude",), **bad})
    with pytest.raises(Exception):
        CLAUDE.target = "x"  # frozen


def test_argv_stays_literal_where_formats_expand_variables():
    argv = ("claude", "-p", "${{ github.event.comment.body }} $(HOME) $USER")
    files = render_configs(SandboxSpec(agents=("claude-code",), command=argv))
    workflow = files["github-actions-job.yml"]
    assert "github.event" not in workflow
    assert _yaml(files, "github-actions-job.yml")["jobs"]["agent"]["steps"][-1]["run"] == "./agent-bwrap.sh"
    assert "github.event.comment.body" in files["agent-bwrap.sh"]  # the default argv, single-quoted
    compose = _yaml(files, "compose.sandbox.yaml")["services"]["agent"]["command"]
    assert compose[2] == "$${{ github.event.comment.body }} $$(HOME) $$USER"
    job = _yaml(files, "k8s/agent-job.yaml")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert job[2] == "${{ github.event.comment.body }} $$(HOME) $USER"


def test_config_dir_and_target_paths_are_relative_to_where_files_live():
    spec = SandboxSpec(agents=("codex",), command=("codex", "exec", "x"), target="src/app",
                       endpoints=("api.openai.com",), secrets=("OPENAI_API_KEY",),
                       config_dir=".blastwall/sandbox")
    files = render_configs(spec)
    volume = _yaml(files, "compose.sandbox.yaml")["services"]["agent"]["volumes"][0]
    assert volume["source"] == "${BLASTWALL_TARGET:-../../src/app}"
    steps = _yaml(files, "github-actions-job.yml")["jobs"]["agent"]["steps"]
    assert steps[-1]["run"] == './.blastwall/sandbox/agent-bwrap.sh codex exec x "$PROMPT"'
    assert 'TARGET="${BLASTWALL_TARGET:-$PWD/src/app}"' in files["agent-bwrap.sh"]
    assert json.loads(files[".devcontainer/devcontainer.json"])["workspaceMount"].startswith(
        "source=${localWorkspaceFolder}/src/app,")


def test_templates_dir_is_the_repo_reports_folder():
    folder = templates_dir()
    assert folder.name == "sandbox" and folder.parent.name == "reports"
    assert (folder / "agent-bwrap.sh.j2").is_file()


# --- write_configs -----------------------------------------------------------------------------


def test_write_configs_never_overwrites_without_force(tmp_path):
    files = render_configs(CLAUDE)
    existing = tmp_path / ".claude" / "settings.json"
    existing.parent.mkdir()
    existing.write_text('{"mine": true}\n')
    report = write_configs(tmp_path, files)
    assert report.skipped == (".claude/settings.json",)
    assert set(report.written) == set(files) - {".claude/settings.json"}
    assert existing.read_text() == '{"mine": true}\n'
    again = write_configs(tmp_path, files)
    assert again.written == () and set(again.skipped) == set(files)
    forced = write_configs(tmp_path, files, force=True)
    assert set(forced.written) == set(files) and forced.skipped == ()
    assert existing.read_text() == files[".claude/settings.json"]


def test_write_configs_marks_scripts_executable(tmp_path):
    report = write_configs(tmp_path / "new" / "dir", render_configs(OFFLINE))
    for name in report.written:
        mode = (report.out_dir / name).stat().st_mode
        assert bool(mode & stat.S_IXUSR) == name.endswith(".sh"), name


@pytest.mark.parametrize("bad", ["../escape.sh", "/abs/file", "a/../../b", "", "a\\b"])
def test_write_configs_refuses_escaping_paths(tmp_path, bad):
    out = tmp_path / "out"
    with pytest.raises(UnsafePathError):
        write_configs(out, {"ok.txt": "fine", bad: "nope"})
    assert not (out / "ok.txt").exists()  # nothing written when any path is unsafe
    assert not (tmp_path / "escape.sh").exists()


def test_write_configs_refuses_symlinked_folder(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "k8s").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePathError):
        write_configs(out, {"k8s/agent-job.yaml": "x"})
    assert list(outside.iterdir()) == []


def test_schema_checks_are_not_vacuous():
    files = render_configs(CLAUDE)
    compose = _yaml(files, "compose.sandbox.yaml")
    compose["services"]["agent"]["read_onyl"] = True
    assert _errors(_schema_file("compose-spec.json"), compose)
    devcontainer = json.loads(files[".devcontainer/devcontainer.json"])
    devcontainer["runArg"] = []
    assert _errors(_schema_file("devContainer.base.schema.json"), devcontainer)
    workflow = _yaml(files, "github-actions-job.yml")
    workflow["jobs"]["agent"]["timeout-minute"] = 5
    assert _errors(_schema_file("github-workflow.json"), workflow)
    settings = json.loads(files[".claude/settings.json"])
    settings["sandbox"]["enable"] = True
    assert _errors(_schema_file("claude-code-settings.json"), settings)
    policy = _yaml(files, "k8s/agent-networkpolicy.yaml")
    policy["spec"]["policyTypes"] = "Egress"
    assert _k8s_errors("io.k8s.api.networking.v1.NetworkPolicy", policy)


# --- per agent: install, endpoints, key names, validity ------------------------------------------

# What each agent's generated configs must say: how the CI job installs it (never npm for a Python
# agent), which hosts every allow-list opens (its own model endpoint is never forbidden), and the
# key it is handed by name.
AGENT_CASES = {
    "claude-code": dict(install="npm install --global @anthropic-ai/claude-code",
                        endpoints={"api.anthropic.com"}, keys={"ANTHROPIC_API_KEY"}, argv="claude -p"),
    "codex": dict(install="npm install --global @openai/codex",
                  endpoints={"api.openai.com"}, keys={"OPENAI_API_KEY"}, argv="codex exec"),
    "gemini-cli": dict(install="npm install --global @google/gemini-cli",
                       endpoints={"generativelanguage.googleapis.com"}, keys={"GEMINI_API_KEY"}, argv="gemini -p"),
    "aider": dict(install="pipx install aider-chat", endpoints={"api.openai.com"}, keys={"OPENAI_API_KEY"},
                  argv="aider --message"),
    "opencode": dict(install="npm install --global opencode-ai", endpoints={"opencode.ai", "api.anthropic.com"},
                     keys={"ANTHROPIC_API_KEY"}, argv="opencode run"),
    "openhands": dict(install="pipx install --python python3.12 openhands",
                      endpoints={"api.anthropic.com", "api.openai.com"}, keys={"LLM_API_KEY"},
                      argv="openhands --headless -t"),
    "goose": dict(install="download_cli.sh", endpoints={"api.anthropic.com"}, keys={"ANTHROPIC_API_KEY"},
                  argv="goose run -t"),
}


@pytest.fixture(params=sorted(AGENT_CASES))
def agent_case(request):
    agent = request.param
    spec = spec_from_catalog([agent], config_dir="sandbox")
    return agent, AGENT_CASES[agent], spec, render_configs(spec)


def test_agent_install_command_is_the_agents_own(agent_case):
    agent, want, spec, files = agent_case
    steps = _yaml(files, "github-actions-job.yml")["jobs"]["agent"]["steps"]
    installs = [s for s in steps if s.get("name", "").startswith("Install")]
    assert len(installs) == 1, [s.get("name") for s in steps]
    run = installs[0]["run"]
    assert want["install"] in run
    method = spec.installs[0].method
    if method != "npm":
        assert "npm install" not in files["github-actions-job.yml"]  # a Python agent is no npm package
    if method == "pipx":
        assert "BLASTWALL_EXTRA_RO: /opt/pipx" in files["github-actions-job.yml"]
        assert "PIPX_BIN_DIR=/usr/local/bin" in run
    if method == "script":
        assert run.startswith("curl --proto '=https' --tlsv1.2 -fsSL https://")
    assert "Install" in files["github-actions-job.yml"] and spec.installs[0].binary in installs[0]["name"]


def test_agent_endpoints_are_allowed_everywhere(agent_case):
    agent, want, spec, files = agent_case
    assert want["endpoints"] <= set(spec.endpoints)
    readme = files["README.md"]
    assert "none: no network" not in readme
    for host in spec.endpoints:
        assert f"`{host}`" in readme
    harden = _yaml(files, "github-actions-job.yml")["jobs"]["agent"]["steps"][0]["with"]["allowed-endpoints"].split()
    for host in (*spec.endpoints, *spec.installs[0].download_hosts):
        assert f"{host}:443" in harden, host
    squid = files["egress-proxy/squid.conf"]
    bwrap = files["agent-bwrap.sh"]
    firewall = files[".devcontainer/init-firewall.sh"]
    for host in spec.endpoints:
        assert host in squid.split("acl agent_endpoints dstdomain -n ", 1)[1].splitlines()[0]
        assert host in bwrap.split("ALLOWED_HOSTS=(", 1)[1].split(")", 1)[0]
        assert host in firewall
    assert "egress-proxy.py" in files


def test_agent_key_names_are_its_own(agent_case):
    agent, want, spec, files = agent_case
    assert set(spec.secrets) == want["keys"]
    runner = _yaml(files, "github-actions-job.yml")["jobs"]["agent"]["steps"][-1]
    assert {k for k, v in runner["env"].items() if "secrets." in str(v)} == want["keys"]
    compose = _yaml(files, "compose.sandbox.yaml")["services"]["agent"]["environment"]
    assert want["keys"] <= {k for k, v in compose.items() if v is None}
    job = _yaml(files, "k8s/agent-job.yaml")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert want["keys"] == {e["name"] for e in job if "valueFrom" in e}
    for other in {"ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "LLM_API_KEY"} - want["keys"]:
        assert other not in files["agent-bwrap.sh"] and other not in files["github-actions-job.yml"], other


def test_agent_default_argv_runs_headless(agent_case):
    agent, want, spec, files = agent_case
    assert " ".join(spec.command) == want["argv"]
    run = _yaml(files, "github-actions-job.yml")["jobs"]["agent"]["steps"][-1]["run"]
    assert run == f'./sandbox/agent-bwrap.sh {want["argv"]} "$PROMPT"'


def test_agent_configs_validate(agent_case):
    agent, want, spec, files = agent_case
    assert not _errors(_schema_file("github-workflow.json"), _yaml(files, "github-actions-job.yml"))
    assert not _errors(_schema_file("compose-spec.json"), _yaml(files, "compose.sandbox.yaml"))
    assert not _errors(_schema_file("devContainer.base.schema.json"),
                       json.loads(files[".devcontainer/devcontainer.json"]))
    assert not _k8s_errors("io.k8s.api.batch.v1.Job", _yaml(files, "k8s/agent-job.yaml"))
    compile(files["egress-proxy.py"], "egress-proxy.py", "exec")


def test_agent_scripts_pass_shellcheck(agent_case, tmp_path):
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed")
    agent, want, spec, files = agent_case
    scripts = _shell_files(files, tmp_path)
    # the workflow's own run steps are shell too
    for i, step in enumerate(_yaml(files, "github-actions-job.yml")["jobs"]["agent"]["steps"]):
        if "run" in step:
            script = tmp_path / f"step-{i}.sh"
            script.write_text("#!/usr/bin/env bash\nset -euo pipefail\n" + step["run"] + "\n")
            scripts.append(script)
    for script in scripts:
        result = subprocess.run([shellcheck, "--shell=bash", "--severity=info", str(script)],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"{script.name}:\n{result.stdout}{result.stderr}"


def test_agent_workflow_is_zizmor_clean_where_it_goes(agent_case, tmp_path):
    agent, want, spec, files = agent_case
    zizmor = shutil.which("zizmor") or str(Path(sys.executable).parent / "zizmor")
    if not Path(zizmor).is_file():
        pytest.skip("zizmor is not installed (test extras, Python 3.11+)")
    target = tmp_path / ".github" / "workflows" / "agent-sandbox.yml"  # where its README says to put it
    target.parent.mkdir(parents=True)
    target.write_text(files["github-actions-job.yml"])
    proc = subprocess.run([zizmor, "--offline", "--no-progress", "--format", "json", str(target)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 10, 11, 12, 13, 14), proc.stderr
    assert json.loads(proc.stdout or "[]") == []
    # every path the job uses starts at the repository root, where a step runs
    runner = _yaml(files, "github-actions-job.yml")["jobs"]["agent"]["steps"][-1]["run"].split()[0]
    assert runner == "./sandbox/agent-bwrap.sh"
