"""The action and the project's own workflows: schema-valid, hash-pinned, injection-free, zizmor-clean."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = Path(__file__).resolve().parent / "schemas"  # vendored: see schemas/README.md
ACTION = ROOT / "action.yml"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
PRE_COMMIT_HOOKS = ROOT / ".pre-commit-hooks.yaml"
SHA_PINNED = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[^@\s]+)?@[0-9a-f]{40}$")


class _ActionsLoader(yaml.SafeLoader):
    """YAML 1.2 booleans only: GitHub reads `on:` as a key, PyYAML's YAML 1.1 reads it as True."""


_ActionsLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ActionsLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _load(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_ActionsLoader)  # noqa: S506 - safe subclass


def _schema(name: str) -> dict[str, Any]:
    path = SCHEMAS / name
    return json.loads(path.read_text(encoding="utf-8"))


def _steps(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every step of a composite action or of every job of a workflow."""
    if "runs" in document:
        return list(document["runs"].get("steps") or [])
    steps: list[dict[str, Any]] = []
    for job in (document.get("jobs") or {}).values():
        steps.extend(job.get("steps") or [])
    return steps


def _all_uses(document: dict[str, Any]) -> list[str]:
    uses = [step["uses"] for step in _steps(document) if "uses" in step]
    for job in (document.get("jobs") or {}).values():
        if "uses" in job:  # reusable workflow call
            uses.append(job["uses"])
    return uses


DOCUMENTS = [ACTION, *WORKFLOWS]
IDS = [p.relative_to(ROOT).as_posix() for p in DOCUMENTS]


def test_the_project_ships_an_action_and_workflows() -> None:
    assert ACTION.is_file()
    names = {p.name for p in WORKFLOWS}
    assert {"ci.yml", "selftest.yml"} <= names


def test_action_matches_the_action_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = _schema("github-action.json")
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(_load(ACTION)), key=str)
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_workflow_matches_the_workflow_schema(workflow: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = _schema("github-workflow.json")
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(_load(workflow)), key=str)
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


@pytest.mark.parametrize("path", DOCUMENTS, ids=IDS)
def test_every_uses_is_pinned_to_a_full_commit_sha(path: Path) -> None:
    for uses in _all_uses(_load(path)):
        if uses == "./" or uses.startswith("./"):
            continue
        assert SHA_PINNED.match(uses), f"{path.name}: `uses: {uses}` is not pinned to a 40-hex commit SHA"


@pytest.mark.parametrize("path", DOCUMENTS, ids=IDS)
def test_pinned_actions_name_their_tag_in_a_comment(path: Path) -> None:
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.search(r"uses:\s*([^\s#]+@[0-9a-f]{40})\s*(#.*)?$", line)
        if match:
            assert match.group(2) and re.search(r"#\s*v\d+(\.\d+)*", match.group(2)), (
                f"{path.name}: `{line.strip()}` needs a `# vX.Y.Z` comment naming the pinned tag"
            )


@pytest.mark.parametrize("path", DOCUMENTS, ids=IDS)
def test_no_expression_inside_run(path: Path) -> None:
    for step in _steps(_load(path)):
        if "run" in step:
            assert "${{" not in step["run"], (
                f"{path.name}: step {step.get('name', step.get('id', '?'))!r} has `${{{{` inside `run:`; "
                "pass the value through `env:` instead"
            )


def test_action_steps_are_named_and_use_bash() -> None:
    for step in _steps(_load(ACTION)):
        assert step.get("name"), f"unnamed step: {step}"
        if "run" in step:
            assert step.get("shell") == "bash"
            match = re.fullmatch(r'bash "\$GITHUB_ACTION_PATH/(action/[a-z-]+\.sh)"', step["run"].strip())
            assert match, f"scripts are called as bash \"$GITHUB_ACTION_PATH/action/<name>.sh\": {step['run']!r}"
            assert (ROOT / match.group(1)).is_file(), match.group(1)


def test_action_inputs_reach_scripts_only_through_env() -> None:
    action = _load(ACTION)
    declared = set(action["inputs"])
    used: set[str] = set()
    for step in _steps(action):
        for value in (step.get("env") or {}).values():
            used.update(re.findall(r"inputs\.([A-Za-z0-9_-]+)", str(value)))
        for value in (step.get("with") or {}).values():
            used.update(re.findall(r"inputs\.([A-Za-z0-9_-]+)", str(value)))
    assert used <= declared, f"undeclared inputs used: {used - declared}"
    assert declared - {"token"} <= used, f"inputs never passed to a step: {declared - used}"


def test_workflows_start_with_no_permissions_and_grant_per_job() -> None:
    for path in WORKFLOWS:
        workflow = _load(path)
        assert workflow.get("permissions") == {}, f"{path.name}: top-level `permissions: {{}}` is missing"
        for name, job in workflow["jobs"].items():
            assert isinstance(job.get("permissions"), dict), f"{path.name}:{name} grants no explicit permissions"
            assert job.get("timeout-minutes"), f"{path.name}:{name} has no timeout-minutes"
            for step in job.get("steps") or []:
                if str(step.get("uses", "")).startswith("actions/checkout@"):
                    assert (step.get("with") or {}).get("persist-credentials") is False, (
                        f"{path.name}:{name}: actions/checkout must set persist-credentials: false"
                    )


def test_pre_commit_hook_scans_the_repository_once() -> None:
    hooks = yaml.safe_load(PRE_COMMIT_HOOKS.read_text(encoding="utf-8"))
    (hook,) = [h for h in hooks if h["id"] == "blastwall"]
    assert hook["entry"].startswith("blastwall scan")
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False
    assert hook["always_run"] is False
    files = re.compile(hook["files"])
    for path in ("src/agent.py", "scripts/run.sh", "Makefile", "docker/Dockerfile", ".mcp.json",
                 ".claude/settings.json", ".github/workflows/ci.yml", "web/package.json", "bin/agent"):
        assert files.search(path), path
    for path in ("README.md", "docs/logo.png", "notes/design.txt"):
        assert not files.search(path), path


def _zizmor() -> str | None:
    found = shutil.which("zizmor")
    if found:
        return found
    beside = Path(sys.executable).parent / "zizmor"
    return str(beside) if beside.is_file() else None


def test_zizmor_reports_no_findings() -> None:
    zizmor = _zizmor()
    if zizmor is None:
        pytest.skip("zizmor is not installed")
    targets = ["action.yml", ".github/workflows/", ".pre-commit-hooks.yaml"]
    proc = subprocess.run(
        [zizmor, "--offline", "--no-progress", "--format", "json", *targets],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode not in (0, 10, 11, 12, 13, 14):  # 10-14: findings, by highest severity
        pytest.fail(f"zizmor failed ({proc.returncode}):\n{proc.stderr}")
    findings = json.loads(proc.stdout or "[]")
    assert findings == [], "\n".join(_describe(f) for f in findings)


def _describe(finding: dict[str, Any]) -> str:
    where = []
    for location in finding.get("locations", []):
        try:
            local = location["symbolic"]["key"]["Local"]
            path = local.get("verbatim_path") or local.get("given_path")
            row = location["concrete"]["location"]["start_point"]["row"] + 1
        except (KeyError, TypeError):
            continue
        where.append(f"{path}:{row}")
    return f"{finding.get('ident')}: {finding.get('desc')} at {', '.join(where) or '?'}"


def test_selftest_scans_fixtures_that_exist() -> None:
    selftest = _load(ROOT / ".github" / "workflows" / "selftest.yml")
    paths = [
        step["with"]["path"]
        for step in _steps(selftest)
        if str(step.get("uses", "")).startswith("./") and "path" in (step.get("with") or {})
    ]
    assert paths, "the selftest runs the action on no fixture"
    if not any((ROOT / "fixtures" / "repos").glob("*")):
        pytest.skip("fixtures/repos/ is empty in this checkout")
    for path in paths:
        assert (ROOT / path).is_dir(), f"selftest scans {path}, which does not exist"
