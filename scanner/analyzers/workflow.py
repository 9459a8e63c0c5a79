"""GitHub Actions workflows and composite actions: agent actions (`uses:`) and agent CLIs in
`run:` steps, judged with what the job hands them on the runner.

A hosted-runner job is the operator's context (DESIGN §2): the agent shares every secret in
the workflow, job and step `env:`, the job's token (persisted by actions/checkout unless
`persist-credentials: false`) and its write permissions. It is contained only when the job is
least-privilege and the agent is sandboxed (codex-action's sandbox, a job `container:`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from scanner.analyzers.base import Analysis
from scanner.analyzers.cfgjudge import (agent_by_name, catalog, make_site, read, secret_fact, split_words,
                                        undecided_site)
from scanner.analyzers.cfgtree import Node, load_json, load_yaml
from scanner.analyzers.shell import embedded_shell, shell_launches
from scanner.commandline import Invocation, Unresolved, Word
from scanner.findings import new_finding
from scanner.model import Boundary, Confidence, Egress, EnvMode, Fact, Finding, LaunchSite, Location
from scanner.parsing import SourceFile

SURFACE = "github-workflow"

# Triggers whose payload (comment, issue, fork code) comes from people outside the repository.
UNTRUSTED_TRIGGERS = ("pull_request_target", "issue_comment", "issues", "pull_request_review_comment",
                      "pull_request_review", "discussion", "discussion_comment")
# Inputs of agent actions that open the trigger to everyone.
OPEN_GATE_INPUTS = ("allowed_non_write_users", "allowed_bots", "allow-users", "allowed-users", "allow_users",
                    "allowed_users", "allow-bots", "allowed-bots")
_GATE_WORDS = ("author_association", "github.actor", "github.triggering_actor", "sender.login",
               "permission", "collaborator")

# Agent actions by repository; what each does with the job's token and its own sandbox.
ACTIONS = {
    "anthropics/claude-code-action": "claude-code",
    "anthropics/claude-code-base-action": "claude-code",
    "openai/codex-action": "codex",
    "google-github-actions/run-gemini-cli": "gemini-cli",
    "google-gemini/gemini-cli-action": "gemini-cli",
    "sst/opencode/github": "opencode",
    "anomalyco/opencode/github": "opencode",
}
# Actions that use the job's GitHub token themselves (to comment, push, review).
TOKEN_USERS = {"claude-code", "gemini-cli", "opencode", "aider"}
_AGENT_WORDS = {"claude": "claude-code", "codex": "codex", "gemini": "gemini-cli", "aider": "aider",
                "opencode": "opencode", "qwen": "qwen-code", "crush": "crush", "openhands": "openhands",
                "goose": "goose", "cline": "cline", "droid": "factory-droid", "copilot": "copilot-cli"}
_SECRET_REF = re.compile(r"secrets\.([A-Za-z0-9_]+)|secrets\[['\"]([A-Za-z0-9_]+)['\"]\]")


@dataclass
class Job:
    key: str
    node: Node
    key_line: int
    is_action: bool
    facts: list[Fact] = field(default_factory=list)  # secrets and settings every step shares
    boundary: Boundary | None = None
    tool: str = ""
    egress: Egress = Egress.OPEN
    token_reach: list[Location] = field(default_factory=list)
    write_scopes: list[tuple[str, Location]] = field(default_factory=list)
    default_token: bool = False
    timeout: Location | None = None
    gated: bool = False


class WorkflowReader:
    def __init__(self, analysis: Analysis):
        self.analysis = analysis
        self.src: SourceFile = analysis.source
        self.cat = catalog()
        self.root = load_yaml(self.src.text, analysis.notes)
        self.triggers: dict[str, Location] = {}
        self.wf_env: list[Fact] = []
        self.wf_perms: Node | None = None

    def loc(self, node: Node | int) -> Location:
        line = node if isinstance(node, int) else node.anchor
        return self.src.loc(line)

    # -- entry ------------------------------------------------------------------------------

    def run(self) -> Iterator[tuple[LaunchSite, tuple[Finding, ...]]]:
        jobs = self.root.get("jobs") if self.root is not None and self.root.is_map else None
        if jobs is not None and jobs.is_map:
            for job in self.jobs():
                yield from self._job(job)
            return
        self._workflow_context()
        runs = self.root.get("runs") if self.root is not None and self.root.is_map else None
        if runs is not None and runs.is_map:  # a composite action.yml
            yield from self._job(Job("runs", runs, runs.key_line or runs.line, True))

    def _workflow_context(self) -> bool:
        """Read the workflow-level triggers, env and permissions; False when there is no document."""
        root = self.root
        if root is None or not root.is_map:
            return False
        self._triggers(root.get("on") or root.get("true"))
        self.wf_env = self._env_facts(root.get("env"))
        self.wf_perms = root.get("permissions")
        return True

    def _triggers(self, on: Node | None) -> None:
        if on is None:
            return
        if on.is_map:
            for name, node in on.items():
                self.triggers[name] = self.loc(node.key_line or node.line)
        else:
            for node in (on.seq() if on.is_seq else [on]):
                self.triggers[node.text()] = self.loc(node)

    def _env_facts(self, env: Node | None) -> list[Fact]:
        out: list[Fact] = []
        if env is None or not env.is_map:
            return out
        for name, value in env.items():
            fact = self._secret(name, value)
            if fact is not None:
                out.append(fact)
        return out

    def _secret(self, name: str, value: Node) -> Fact | None:
        text = value.text()
        loc = self.loc(value)
        if "github.token" in text or "secrets.GITHUB_TOKEN" in text:
            return Fact("job-token", name, loc)
        refs = [a or b for a, b in _SECRET_REF.findall(text)]
        if refs:
            return secret_fact(name.upper().replace("-", "_"), loc, secret_ref=refs[0])
        if "${{" not in text and self.cat.credential_kind(name) and text.strip():
            return secret_fact(name, loc)
        return None

    # -- jobs -------------------------------------------------------------------------------

    def jobs(self) -> Iterator[Job]:
        if not self._workflow_context():
            return
        jobs = self.root.get("jobs")
        for key, job in (jobs.items() if jobs is not None and jobs.is_map else []):
            if job.is_map:
                yield Job(key, job, job.key_line or job.line, False)

    def steps(self, job: Job) -> Iterator[Node]:
        """The job's steps in order, with checkouts and egress policy applied as they come."""
        self._prepare(job)
        steps = job.node.get("steps")
        for step in (steps.seq() if steps is not None and steps.is_seq else []):
            if not step.is_map:
                continue
            uses = step.get("uses")
            name = uses.text().split("@", 1)[0].strip().lower() if uses is not None else ""
            if name.startswith("actions/checkout"):
                self._checkout(job, step, uses)
            elif name.startswith("step-security/harden-runner"):
                self._harden(job, step)
            yield step

    def script_context(self, job: Job, step: Node) -> tuple[list[Fact], list[Location], Location | None]:
        """What a script started by `step` receives: secrets, where the token is reachable, a timeout."""
        facts = [*job.facts, *self._env_facts(step.get("env"))]
        reach = list(job.token_reach) + [f.location for f in facts if f.kind == "job-token"]
        return [f for f in facts if f.kind != "job-token"], reach, self._timeout(job, step)

    def _prepare(self, job: Job) -> None:
        node = job.node
        job.facts = [*self.wf_env, *self._env_facts(node.get("env"))]
        tm = node.get("timeout-minutes")
        if tm is not None:
            job.timeout = self.loc(tm)
        cond = node.get("if")
        job.gated = cond is not None and any(w in cond.text() for w in _GATE_WORDS)
        self._permissions(job)
        self._container(job)

    def _job(self, job: Job) -> Iterator[tuple[LaunchSite, tuple[Finding, ...]]]:
        self._prepare(job)
        node = job.node
        steps = node.get("steps")
        if steps is None or not steps.is_seq:
            return
        for step in steps.seq():
            if not step.is_map:
                continue
            uses = step.get("uses")
            if uses is not None:
                name = uses.text().split("@", 1)[0].strip().lower()
                if name.startswith("actions/checkout"):
                    self._checkout(job, step, uses)
                    continue
                if name.startswith("step-security/harden-runner"):
                    self._harden(job, step)
                    continue
                agent = self._agent_action(name, step)
                if agent is not None:
                    yield from self._action_site(job, step, uses, agent)
            run = step.get("run")
            if run is not None and run.is_scalar and isinstance(run.value, str):
                yield from self._run_sites(job, step, run)

    def _permissions(self, job: Job) -> None:
        perms = job.node.get("permissions") if not job.is_action else None
        if perms is None and not job.is_action:
            perms = self.wf_perms
        if job.is_action:
            return
        if perms is None:
            job.default_token = True
            return
        if perms.is_scalar:
            if perms.text().strip() == "write-all":
                job.write_scopes.append(("write-all", self.loc(perms)))
            return
        for scope, value in perms.items():
            if value.text().strip() == "write":
                job.write_scopes.append((scope, self.loc(value)))

    def _container(self, job: Job) -> None:
        cont = job.node.get("container")
        if cont is None or job.is_action:
            return
        from scanner.analyzers.containers import docker_option_facts, image_facts, volume_fact

        image = cont if cont.is_scalar else cont.get("image")
        if image is None:
            return
        job.boundary, job.tool = Boundary.CONTAINER, "job container"
        facts = image_facts(image.text(), self.loc(image))
        facts.append(Fact("network-default", "the job container's default network", self.loc(image)))
        facts.append(Fact("ephemeral", "job containers are removed after the job", self.loc(image)))
        if cont.is_map:
            opts = cont.get("options")
            if opts is not None:
                facts.extend(docker_option_facts(opts.text(), self.loc(opts)))
            for vol in (cont.get("volumes").seq() if cont.get("volumes") is not None else []):
                fact = volume_fact(vol.text(), self.loc(vol))
                if fact is not None:
                    facts.append(fact)
            job.facts.extend(self._env_facts(cont.get("env")))
        job.facts.extend(facts)
        if any(f.kind == "network-host" for f in facts):
            job.egress = Egress.HOST
        elif any(f.kind == "network-none" for f in facts):
            job.egress = Egress.NONE

    def _checkout(self, job: Job, step: Node, uses: Node) -> None:
        with_ = step.get("with")
        persist = with_.get("persist-credentials") if with_ is not None else None
        if persist is None or persist.truthy():
            job.token_reach.append(self.loc(uses).with_label("actions/checkout persists the job token in .git/config"))
        ref = with_.get("ref") if with_ is not None else None
        if ref is not None and re.search(r"pull_request\.head|github\.head_ref|refs/pull/", ref.text()):
            job.facts.append(Fact("checkout-head", ref.text(), self.loc(ref)))

    def _harden(self, job: Job, step: Node) -> None:
        with_ = step.get("with")
        policy = with_.get("egress-policy") if with_ is not None else None
        allowed = with_.get("allowed-endpoints") if with_ is not None else None
        if policy is not None and policy.text().strip() == "block" and job.egress is not Egress.HOST:
            job.egress = Egress.ALLOW_LIST if allowed is not None and allowed.text().strip() else Egress.NONE
            job.facts.append(Fact("egress-allow-list", "harden-runner egress-policy: block", self.loc(policy)))

    # -- agent actions ----------------------------------------------------------------------

    def _agent_action(self, name: str, step: Node) -> str | None:
        for prefix, agent in ACTIONS.items():
            if name == prefix or name.startswith(prefix + "/"):
                return agent
        repo = name.split("/", 2)[1] if "/" in name else name
        if repo.startswith(("setup-", "install-")) or "setup" in repo.split("-"):
            return None  # installs the CLI; the run: step that starts it is the launch
        for part in re.split(r"[-_./]", repo):
            if part in _AGENT_WORDS:
                return _AGENT_WORDS[part]
        return None

    def _action_site(self, job: Job, step: Node, uses: Node, agent_id: str):
        spec = agent_by_name(agent_id)
        if spec is None:
            return
        uses_loc = self.loc(uses)
        with_ = step.get("with")
        inputs = dict(with_.items()) if with_ is not None and with_.is_map else {}
        facts = [*job.facts, *self._env_facts(step.get("env"))]
        token_reach = list(job.token_reach)
        if agent_id in TOKEN_USERS:
            token_reach.append(uses_loc.with_label(f"{uses.text().split('@', 1)[0]} uses the job token"))
        args: list[Word] = []
        boundary, tool, egress = job.boundary, job.tool, job.egress
        env, env_detail = EnvMode.INHERITED, "an action step runs in the job's environment on the runner"
        if boundary is Boundary.CONTAINER:
            env, env_detail = EnvMode.MINIMAL, "the job container gets only the env the workflow sets"
        skip_inputs: set[str] = set()

        if agent_id == "claude-code":
            for key in ("claude_args", "claude-args"):
                if key in inputs:
                    args.extend(self._arg_words(inputs[key]))
            for key in ("allowed_tools", "allowedTools", "allowed-tools"):
                if key in inputs:
                    args.extend([Word("--allowedTools", self.loc(inputs[key])), Word(inputs[key].text(), self.loc(inputs[key]))])
            settings = inputs.get("settings")
            if settings is not None:
                s_facts, sandboxed = self._claude_settings(settings)
                facts.extend(s_facts)
                if sandboxed and boundary is None:
                    boundary, tool, egress = Boundary.AGENT_SANDBOX, "Claude Code sandbox", Egress.ALLOW_LIST
        elif agent_id == "codex":
            skip_inputs.update({"openai-api-key", "openai_api_key", "responses-api-endpoint"})
            sandbox = inputs.get("sandbox")
            strategy = inputs.get("safety-strategy")
            sandbox_mode = sandbox.text().strip() if sandbox is not None else "workspace-write"
            strategy_mode = strategy.text().strip() if strategy is not None else "drop-sudo"
            if sandbox is not None:
                args.extend([Word("--sandbox", self.loc(sandbox)), Word(sandbox_mode, self.loc(sandbox))])
            for key in ("codex-args", "codex_args"):
                if key in inputs:
                    args.extend(self._arg_words(inputs[key]))
            arg_text = " ".join(w.text for w in args)
            full_access = "danger-full-access" in arg_text or "--dangerously-bypass" in arg_text or "--yolo" in arg_text
            env, env_detail = EnvMode.MINIMAL, "codex-action keeps the API key in its proxy, outside the agent's environment"
            if strategy_mode == "unsafe":
                facts.append(Fact("privileged", "safety-strategy: unsafe (the agent keeps passwordless sudo)",
                                  self.loc(strategy) if strategy is not None else uses_loc))
            if not full_access and boundary is None:
                boundary, tool = Boundary.OS_SANDBOX, f"codex-action sandbox ({sandbox_mode}, {strategy_mode})"
                net = re.search(r"network_access\s*=\s*\"?true", arg_text)
                egress = Egress.OPEN if net else Egress.NONE
                if net:
                    facts.append(Fact("network-default", "network_access=true", args[0].location if args else uses_loc))
            elif full_access and boundary is None:
                env = EnvMode.INHERITED
                env_detail = "with the sandbox off the agent runs in the job's environment on the runner"
        elif agent_id == "gemini-cli":
            facts.append(Fact("bypass-default", "run-gemini-cli always runs Gemini CLI with --yolo", uses_loc))
            settings = inputs.get("settings")
            if settings is not None:
                doc = load_json(settings.text(), [])
                sandbox = doc.path("tools", "sandbox") if doc is not None else None
                if sandbox is not None and sandbox.text() not in ("", "false") and boundary is None:
                    line = self._line_in(settings, '"sandbox"')
                    boundary, tool, egress = Boundary.CONTAINER, f"Gemini CLI sandbox ({sandbox.text()})", Egress.OPEN
                    facts.append(Fact("network-default", "the Gemini sandbox's default network", self.loc(line)))
        for key, value in inputs.items():
            if key in skip_inputs or key in ("github_token", "github-token"):
                if key in ("github_token", "github-token"):
                    fact = self._secret(key, value)
                    if fact is not None and fact.kind == "job-token":
                        token_reach.append(self.loc(value))
                    elif fact is not None:
                        facts.append(fact)
                continue
            fact = self._secret(key, value)
            if fact is not None and fact.kind != "job-token":
                facts.append(fact)
            elif fact is not None:
                token_reach.append(self.loc(value))
        timeout = self._timeout(job, step)
        site = make_site(agent=spec, location=uses_loc, surface=SURFACE, launcher=f"action `{uses.text()}`",
                         command=f"uses: {uses.text()}", boundary=boundary, tool=tool, env=env,
                         env_detail=env_detail, env_location=self.loc(step.get("env")) if step.get("env") is not None else uses_loc,
                         egress=egress, facts=[f for f in facts if f.kind != "job-token"],
                         args=args, timeout=timeout)
        site = self.with_unknowns(site, job, token_reach)
        extra = self.job_findings(site, job, step, token_reach, inputs, raw_cli=False)
        yield site, tuple(extra)

    def _arg_words(self, node: Node) -> list[Word]:
        """Flags in a (possibly multi-line) input, each anchored at the line that holds it."""
        words: list[Word] = []
        first = node.line + (1 if node.style in ("|", ">") else 0)
        for offset, line in enumerate(node.text().split("\n")):
            if not line.strip() or line.strip().startswith("#"):
                continue
            number = first + offset if node.style in ("|", ">") else node.line
            words.extend(split_words(line, self.src.loc(number)))
        return words

    def _line_in(self, node: Node, needle: str) -> int:
        start = node.line
        end = start + node.text().count("\n") + 2
        for number in range(start, min(end, len(self.src.lines)) + 1):
            if needle in self.src.lines[number - 1]:
                return number
        return node.anchor

    def _claude_settings(self, settings: Node) -> tuple[list[Fact], bool]:
        doc = load_json(settings.text(), [])
        if doc is None or not doc.is_map:
            return [], False
        facts: list[Fact] = []
        mode = doc.path("permissions", "defaultMode")
        if mode is not None and mode.text() in ("bypassPermissions", "dontAsk", "auto", "acceptEdits"):
            facts.append(Fact("bypass-flag", f"defaultMode: {mode.text()}", self.loc(self._line_in(settings, "defaultMode"))))
        for rule in (doc.path("permissions", "allow").seq() if doc.path("permissions", "allow") is not None else []):
            if rule.text() in ("Bash", "Bash(*)", "Bash(**)"):
                facts.append(Fact("bypass-flag", f"allow {rule.text()}", self.loc(self._line_in(settings, rule.text()))))
        enabled = doc.path("sandbox", "enabled")
        return facts, enabled is not None and enabled.truthy()

    # -- run steps --------------------------------------------------------------------------

    def _run_sites(self, job: Job, step: Node, run: Node):
        src = self.src
        first, indent = run.line, 0
        if run.style in ("|", ">"):
            first += 1
            if 1 <= first <= len(src.lines):
                text = src.lines[first - 1]
                indent = len(text) - len(text.lstrip(" "))
        else:
            raw = src.lines[run.line - 1] if 1 <= run.line <= len(src.lines) else ""
            pos = raw.find(run.value.split("\n", 1)[0][:20]) if run.value else -1
            indent = max(0, pos)
        data = embedded_shell(src, run.value, first, indent)
        step_env = self._env_facts(step.get("env"))
        run_loc = self.loc(run.key_line or run.line)
        for found in shell_launches(src, data, SURFACE, "workflow run step", ""):
            for item in read(list(found.words)):
                if isinstance(item, Unresolved):
                    site = undecided_site(f"{item.reason}", found.location, SURFACE, "workflow run step", item.word.text)
                    yield site, ()
                    continue
                if not isinstance(item, Invocation):
                    continue
                env = EnvMode.MINIMAL if job.boundary is Boundary.CONTAINER else EnvMode.INHERITED
                token_reach = list(job.token_reach)
                facts = [*job.facts, *step_env]
                token_reach.extend(f.location for f in facts if f.kind == "job-token")
                site = make_site(agent=item.agent, location=found.location, surface=SURFACE,
                                 launcher="workflow run step", command=" ".join(w.text for w in item.all_words),
                                 boundary=job.boundary, tool=job.tool, env=env,
                                 env_detail="a run step on a hosted runner inherits the job's environment, secrets and token",
                                 env_location=run_loc, egress=job.egress,
                                 facts=[f for f in facts if f.kind != "job-token"],
                                 invocation=item, timeout=self._timeout(job, step))
                site = self.with_unknowns(site, job, token_reach)
                yield site, tuple(self.job_findings(site, job, step, token_reach, {}, raw_cli=True))

    # -- shared judgement -------------------------------------------------------------------

    def _timeout(self, job: Job, step: Node) -> Location | None:
        tm = step.get("timeout-minutes")
        return self.loc(tm) if tm is not None else job.timeout

    def with_unknowns(self, site: LaunchSite, job: Job, token_reach: list[Location]) -> LaunchSite:
        if not (job.default_token and token_reach):
            return site
        from dataclasses import replace

        fact = Fact("unknown", "the repository's default GITHUB_TOKEN permissions (the workflow sets no `permissions:`)",
                    self.loc(job.key_line))
        return replace(site, containment=replace(site.containment, unknowns=(*site.containment.unknowns, fact)))

    def job_findings(self, site: LaunchSite, job: Job, step: Node, token_reach: list[Location],
                      inputs: dict[str, Node], raw_cli: bool) -> list[Finding]:
        out: list[Finding] = []
        cat = self.cat
        agent = site.agent_name
        if job.write_scopes and token_reach:
            scopes = ", ".join(s for s, _ in job.write_scopes)
            out.append(new_finding(
                cat, "workflow-agent-write-token", job.write_scopes[0][1], site_id=site.site_id,
                message=f"{agent} shares the job's GitHub token, which can write ({scopes}).",
                related=[site.location, *token_reach[:3]]))
        for key in OPEN_GATE_INPUTS:
            node = inputs.get(key)
            if node is not None and "*" in node.text():
                out.append(new_finding(
                    cat, "workflow-agent-untrusted-trigger", self.loc(node), site_id=site.site_id,
                    message=f"`{key}: {node.text()}` lets anyone on GitHub drive {agent} in this job.",
                    related=[site.location]))
        head = [f for f in job.facts if f.kind == "checkout-head"]
        if "pull_request_target" in self.triggers and head:
            out.append(new_finding(
                cat, "workflow-agent-untrusted-trigger", head[0].location, site_id=site.site_id,
                message=f"The job runs on pull_request_target and checks out the pull request's code, which then reaches {agent} with the base repository's token and secrets.",
                related=[self.triggers["pull_request_target"], site.location]))
        elif raw_cli and not job.gated:
            cond = step.get("if")
            gated = cond is not None and any(w in cond.text() for w in _GATE_WORDS)
            untrusted = [t for t in UNTRUSTED_TRIGGERS if t in self.triggers and t != "pull_request_target"]
            if untrusted and not gated:
                trig = untrusted[0]
                out.append(new_finding(
                    cat, "workflow-agent-untrusted-trigger", self.triggers[trig], site_id=site.site_id,
                    message=f"Anyone who can open an issue or comment triggers {agent} through `{trig}`; nothing checks who they are.",
                    confidence=Confidence.MEDIUM, related=[site.location]))
        return out


def analyze_workflow(analysis: Analysis):
    yield from WorkflowReader(analysis).run()
