"""GitHub Actions workflows and composite actions: agent actions (`uses:`) and agent CLIs in
`run:` steps, judged with what the job hands them on the runner.

A hosted-runner job is the operator's context (DESIGN §2): the agent shares every secret in
the workflow, job and step `env:`, the job's token (persisted by actions/checkout unless
`persist-credentials: false`, or a PAT the checkout was given) and its write permissions. It is
contained when it is least-privilege — no scope that can push, no secrets beyond the model key
or an OIDC exchange (`id-token: write` is not a write scope), the agent's tools gated (its
default permissions or a tool allow-list, no bypass) — or sandboxed (codex-action's sandbox, a
job `container:`). Each condition that fails is its own finding, at the line that breaks it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from scanner.launch.base import Analysis
from scanner.launch.gh_conditions import jobs_open, open_triggers
from scanner.launch.cfgjudge import split_words, undecided_site
from scanner.parse.cfgtree import Node, load_json, load_yaml
from scanner.catalog import AgentSpec, Catalog
from scanner.launch.shell import embedded_shell, shell_launches
from scanner.launch.commandline import Invocation, Unresolved, Word
from scanner.findings import new_finding
from scanner.containment.reader import network_egress
from scanner.model import Boundary, Confidence, Egress, EnvMode, Fact, FactKind, Finding, LaunchSite, Location
from scanner.parse.trees import SourceFile

SURFACE = "github-workflow"

# What GitHub Actions mean is data (rules/actions.yaml): the agent actions and what their inputs
# mean, the triggers whose payload comes from outside the repository, the conditions that let only
# known people start a job, the token scopes that can push. An agent action not listed there, or a
# CLI in a run step, is gated only by an explicit tool allow-list; actions that force
# auto-approval (the Gemini CLI actions' --yolo) say so as a `bypass-default` fact unless their
# core tools are an allow-list.


def _github(cat: Catalog, key: str) -> tuple[str, ...]:
    """rules/actions.yaml `github`: untrusted_triggers, gate_words, push_scopes, oidc_scopes."""
    return tuple(cat.actions.section("github").get(key) or ())


def _any_inputs(cat: Catalog, key: str) -> tuple[str, ...]:
    """rules/actions.yaml `inputs`: inputs any agent action may take."""
    return tuple(cat.actions.section("inputs").get(key) or ())


def _agent_inputs(cat: Catalog, agent_id: str) -> dict:
    """rules/actions.yaml `agents`: what the actions of one agent do and what their inputs mean."""
    return dict(cat.actions.section("agents").get(agent_id) or {})


def _turns_off_sandbox(spec: AgentSpec, args: list[Word]) -> bool:
    """Whether the agent's arguments switch its own sandbox off (rules/agents.yaml `own_sandbox.disable`)."""
    for i, word in enumerate(args):
        flag, eq, value = word.text.partition("=")
        for switch in spec.sandbox_disable:
            if flag != switch.flag:
                continue
            given = value if eq else (args[i + 1].text if i + 1 < len(args) else None)
            if not switch.takes_value or switch.matches_value(given):
                return True
    return False


def _args_input(cat: Catalog, key: str) -> bool:
    """An input that carries extra command-line arguments (`aider_args`, `extra-args`, `cli_args`)."""
    name = key.lower()
    for suffix in _any_inputs(cat, "args_suffixes"):
        if name == suffix or (name.endswith(suffix) and re.fullmatch(r"(?:[a-z0-9]+[-_])+", name[: -len(suffix)])):
            return True
    return False


_SECRET_REF = re.compile(r"secrets\.([A-Za-z0-9_-]+)|secrets\[['\"]([A-Za-z0-9_-]+)['\"]\]")
_BYPASS_KINDS = ("bypass-flag", "bypass-default", "self-declared-sandbox")
_OPERATOR_KINDS = ("secret-operator", "env-file")
_ISOLATING = (Boundary.CONTAINER, Boundary.VM, Boundary.OS_SANDBOX)

# `${{ expr }}` is not shell: the runner substitutes it before bash sees the script. It is
# masked with a same-width shell variable before parsing (so one expression cannot derail the
# parse of every command after it) and put back in the words afterwards.
_EXPR = re.compile(r"\$\{\{.*?\}\}")


def mask_expressions(script: str) -> tuple[str, dict[str, str]]:
    """`script` with each `${{ ... }}` replaced by a unique shell variable of the same width."""
    originals: dict[str, str] = {}
    out: list[str] = []
    pos = 0
    for match in _EXPR.finditer(script):
        raw = match.group(0)
        stand = f"$GHE{len(originals)}"
        if len(stand) > len(raw) or not raw.isascii():
            continue
        stand += "_" * (len(raw) - len(stand))
        originals[stand] = raw
        out.append(script[pos:match.start()])
        out.append(stand)
        pos = match.end()
    out.append(script[pos:])
    return "".join(out), originals


def unmask(text: str, originals: dict[str, str]) -> str:
    if not originals or "$GHE" not in text:
        return text
    for stand in sorted(originals, key=len, reverse=True):
        if stand in text:
            text = text.replace(stand, originals[stand])
    return text


def unmask_words(words: tuple[Word, ...] | list[Word], originals: dict[str, str]) -> list[Word]:
    return [replace(w, text=unmask(w.text, originals)) if "$GHE" in w.text else w for w in words]


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
    # The untrusted triggers that let anyone start the job (its condition and its needs).
    open_triggers: frozenset[str] = frozenset()
    workdir: str = ""
    push_names: tuple[str, ...] = ()  # the scopes that can push (rules/actions.yaml), set with write_scopes

    @property
    def push_scopes(self) -> list[tuple[str, Location]]:
        return [(s, loc) for s, loc in self.write_scopes if s in self.push_names]


class WorkflowReader:
    def __init__(self, analysis: Analysis):
        self.analysis = analysis
        self.src: SourceFile = analysis.source
        self.tools = analysis.tools
        self.cat = analysis.catalog
        # The link stage reads the same workflow again to follow its steps: one parse for both.
        self.root = analysis.shared("yaml", lambda: load_yaml(self.src.text, analysis.notes), keep=True)
        self.triggers: dict[str, Location] = {}
        self.wf_env: list[Fact] = []
        self.wf_perms: Node | None = None
        self.wf_workdir = ""
        self._open: dict[str, frozenset[str]] | None = None

    def loc(self, node: Node | int) -> Location:
        line = node if isinstance(node, int) else node.anchor
        return self.src.loc(line)

    # -- entry ------------------------------------------------------------------------------

    def run(self) -> Iterator[tuple[LaunchSite, tuple[Finding, ...]]]:
        for job in self.all_jobs():
            yield from self._job(job)

    def all_jobs(self) -> Iterator[Job]:
        """The workflow's jobs, or the one `runs:` block of a composite action.yml."""
        jobs = self.root.get("jobs") if self.root is not None and self.root.is_map else None
        if jobs is not None and jobs.is_map:
            yield from self.jobs()
            return
        self._workflow_context()
        runs = self.root.get("runs") if self.root is not None and self.root.is_map else None
        if runs is not None and runs.is_map:  # a composite action.yml
            yield Job("runs", runs, runs.key_line or runs.line, True)

    def _workflow_context(self) -> bool:
        """Read the workflow-level triggers, env and permissions; False when there is no document."""
        root = self.root
        if root is None or not root.is_map:
            return False
        self.triggers = {}
        self._open = None
        self._triggers(root.get("on") or root.get("true"))
        self.wf_env = self._env_facts(root.get("env"))
        self.wf_perms = root.get("permissions")
        self.wf_workdir = _workdir(root.get("defaults"))
        return True

    def _open_triggers(self) -> dict[str, frozenset[str]]:
        """Per job, the triggers that let anyone start it (see `gh_conditions`); read once."""
        if self._open is None:
            jobs = self.root.get("jobs") if self.root is not None and self.root.is_map else None
            table: dict[str, tuple[str | None, tuple[str, ...]]] = {}
            for key, job in (jobs.items() if jobs is not None and jobs.is_map else []):
                if not job.is_map:
                    continue
                cond, needs = job.get("if"), job.get("needs")
                names = [n.text() for n in needs.seq()] if needs is not None and needs.is_seq else \
                    [needs.text()] if needs is not None and needs.is_scalar else []
                table[key] = (cond.text() if cond is not None else None, tuple(n.strip() for n in names))
            after = _github(self.cat, "runs_after_skipped")
            self._open = jobs_open(table, self.triggers, _github(self.cat, "gate_words"),
                                   lambda cond: any(word in cond for word in after))
        return self._open

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
            return Fact(FactKind.JOB_TOKEN, name, loc)
        refs = [a or b for a, b in _SECRET_REF.findall(text)]
        if refs:
            fact = self.tools.secret_fact(name.upper().replace("-", "_"), loc, secret_ref=refs[0])
            if fact is not None and fact.kind == FactKind.SECRET_MODEL_KEY and self.cat.credential_kind(refs[0]) == "model-key":
                fact = Fact(fact.kind, refs[0], loc)  # the model key by its own name, not the input's
            return fact
        if "${{" not in text and self.cat.credential_kind(name) and text.strip():
            return self.tools.secret_fact(name, loc)
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

    def step_workdir(self, job: Job, step: Node) -> str:
        own = step.get("working-directory")
        return own.text().strip() if own is not None else job.workdir

    def step_context(self, job: Job, step: Node | None, extra: list[Fact] = ()) -> tuple[list[Fact], list[Location]]:
        """What the agent a step starts receives (secrets and settings) and where the job token is
        within its reach. The job token handed over by name counts as an operator credential
        when it can push; otherwise it only widens the token's reach."""
        facts = [*job.facts, *(self._env_facts(step.get("env")) if step is not None else []), *extra]
        reach = list(job.token_reach)
        out: list[Fact] = []
        for fact in facts:
            if fact.kind != FactKind.JOB_TOKEN:
                out.append(fact)
                continue
            reach.append(fact.location.with_label(f"the job token handed on as `{fact.value}`"))
            if job.push_scopes:
                out.append(Fact(FactKind.SECRET_OPERATOR, fact.value, fact.location))
        return out, reach

    def _prepare(self, job: Job) -> None:
        node = job.node
        job.facts = [*self.wf_env, *self._env_facts(node.get("env"))]
        job.token_reach, job.write_scopes, job.default_token = [], [], False
        job.push_names = _github(self.cat, "push_scopes")
        job.boundary, job.tool, job.egress = None, "", Egress.OPEN
        job.workdir = _workdir(node.get("defaults")) or self.wf_workdir
        tm = node.get("timeout-minutes")
        if tm is not None:
            job.timeout = self.loc(tm)
        job.open_triggers = self._open_triggers().get(job.key, frozenset(self.triggers)) if not job.is_action else frozenset()
        if "schedule" in self.triggers:
            job.facts.append(Fact(FactKind.UNATTENDED, "starts on a schedule: no person starts or watches the run",
                                  self.triggers["schedule"]))
        self._permissions(job)
        self._container(job)

    def _job(self, job: Job) -> Iterator[tuple[LaunchSite, tuple[Finding, ...]]]:
        for step in self.steps(job):
            uses = step.get("uses")
            if uses is not None:
                name = uses.text().split("@", 1)[0].strip().lower()
                agent = None if name.startswith(("actions/checkout", "step-security/harden-runner", "./", "docker://")) \
                    else self._agent_action(name, step)
                if agent is not None:
                    yield from self._action_site(job, step, uses, agent)
            run = step.get("run")
            if run is not None and run.is_scalar and isinstance(run.value, str):
                yield from self._run_sites(job, step, run)

    def _permissions(self, job: Job) -> None:
        if job.is_action:
            return
        perms = job.node.get("permissions")
        if perms is None:
            perms = self.wf_perms
        if perms is None:
            job.default_token = True
            return
        if perms.is_scalar:
            if perms.text().strip() == "write-all":
                job.write_scopes.append(("write-all", self.loc(perms)))
            return
        for scope, value in perms.items():
            if value.text().strip() != "write":
                continue
            if scope in _github(self.cat, "oidc_scopes"):
                job.facts.append(Fact(FactKind.OIDC, f"{scope}: write mints a short-lived OIDC credential", self.loc(value)))
                continue
            job.write_scopes.append((scope, self.loc(value)))

    def _container(self, job: Job) -> None:
        cont = job.node.get("container")
        if cont is None or job.is_action:
            return
        from scanner.launch.containers import docker_option_facts, image_facts, volume_fact

        image = cont if cont.is_scalar else cont.get("image")
        if image is None:
            return
        job.boundary, job.tool = Boundary.CONTAINER, "job container"
        facts = image_facts(image.text(), self.loc(image))
        facts.append(Fact(FactKind.NETWORK_DEFAULT, "the job container's default network", self.loc(image)))
        facts.append(Fact(FactKind.EPHEMERAL, "job containers are removed after the job", self.loc(image)))
        if cont.is_map:
            opts = cont.get("options")
            if opts is not None:
                facts.extend(docker_option_facts(self.tools, opts.text(), self.loc(opts)))
            for vol in (cont.get("volumes").seq() if cont.get("volumes") is not None else []):
                fact = volume_fact(self.tools, vol.text(), self.loc(vol))
                if fact is not None:
                    facts.append(fact)
            job.facts.extend(self._env_facts(cont.get("env")))
        job.facts.extend(facts)
        egress = network_egress(facts)
        if egress in (Egress.HOST, Egress.NONE):
            job.egress = egress

    def _checkout(self, job: Job, step: Node, uses: Node) -> None:
        with_ = step.get("with")
        persist = with_.get("persist-credentials") if with_ is not None else None
        persisted = persist is None or persist.truthy()
        token = with_.get("token") if with_ is not None else None
        if persisted:
            job.token_reach.append(self.loc(uses).with_label("actions/checkout persists the job token in .git/config"))
            fact = self._secret("token", token) if token is not None else None
            if fact is not None and fact.kind != FactKind.JOB_TOKEN:
                # A personal access token or app token, left in .git/config for every later step.
                refs = [a or b for a, b in _SECRET_REF.findall(token.text())]
                job.facts.append(Fact(FactKind.SECRET_OPERATOR, refs[0] if refs else token.text().strip(), self.loc(token)))
        ref = with_.get("ref") if with_ is not None else None
        if ref is not None and re.search(r"pull_request\.head|github\.head_ref|refs/pull/", ref.text()):
            job.facts.append(Fact(FactKind.CHECKOUT_HEAD, ref.text(), self.loc(ref)))

    def _harden(self, job: Job, step: Node) -> None:
        with_ = step.get("with")
        policy = with_.get("egress-policy") if with_ is not None else None
        allowed = with_.get("allowed-endpoints") if with_ is not None else None
        if policy is not None and policy.text().strip() == "block" and job.egress is not Egress.HOST:
            job.egress = Egress.ALLOW_LIST if allowed is not None and allowed.text().strip() else Egress.NONE
            job.facts.append(Fact(FactKind.EGRESS_ALLOW_LIST, "harden-runner egress-policy: block", self.loc(policy)))

    # -- agent actions ----------------------------------------------------------------------

    def _agent_action(self, name: str, step: Node) -> str | None:
        actions = self.cat.actions
        known = self.cat.agent_action(name)
        if known is not None:
            return known.agent
        repo = name.split("/", 2)[1] if "/" in name else name
        if repo.startswith(actions.list("installer_prefixes")) or set(actions.list("installer_words")) & set(repo.split("-")):
            return None  # installs the CLI; the run: step that starts it is the launch
        words = actions.section("agent_words")
        for part in re.split(r"[-_./]", repo):
            if part in words:
                return words[part]
        return None

    def _action_site(self, job: Job, step: Node, uses: Node, agent_id: str):
        spec = self.tools.agent_by_name(agent_id)
        if spec is None:
            return
        uses_loc = self.loc(uses)
        with_ = step.get("with")
        inputs = dict(with_.items()) if with_ is not None and with_.is_map else {}
        facts, token_reach = self.step_context(job, step)
        meaning = _agent_inputs(self.cat, agent_id)
        if meaning.get("uses_job_token"):
            token_reach.append(uses_loc.with_label(f"{uses.text().split('@', 1)[0]} uses the job token"))
        args: list[Word] = []
        boundary, tool, egress = job.boundary, job.tool, job.egress
        env, env_detail = EnvMode.INHERITED, "an action step runs in the job's environment on the runner"
        if boundary is Boundary.CONTAINER:
            env, env_detail = EnvMode.MINIMAL, "the job container gets only the env the workflow sets"
        skip_inputs: set[str] = set()
        job_token_inputs = _any_inputs(self.cat, "job_token")
        allow_list: Location | None = None  # where an explicit tool allow-list is set

        if agent_id == "claude-code":
            for key in meaning.get("args_inputs") or ():
                if key in inputs:
                    args.extend(self._arg_words(inputs[key]))
                    skip_inputs.add(key)
            for key in meaning.get("allowed_tools") or ():
                if key in inputs:
                    args.extend([Word("--allowedTools", self.loc(inputs[key])), Word(inputs[key].text(), self.loc(inputs[key]))])
                    allow_list = self.loc(inputs[key])
            settings = next((inputs[k] for k in meaning.get("settings_inputs") or () if k in inputs), None)
            if settings is not None:
                s_facts, sandboxed = self._claude_settings(settings)
                facts.extend(s_facts)
                if sandboxed and boundary is None:
                    boundary, tool, egress = Boundary.AGENT_SANDBOX, "Claude Code sandbox", Egress.ALLOW_LIST
        elif agent_id == "codex":
            skip_inputs.update(meaning.get("proxied_inputs") or ())
            sandbox_in, strategy_in = meaning.get("sandbox") or {}, meaning.get("safety_strategy") or {}
            sandbox = next((inputs[k] for k in sandbox_in.get("inputs") or () if k in inputs), None)
            strategy = next((inputs[k] for k in strategy_in.get("inputs") or () if k in inputs), None)
            sandbox_mode = sandbox.text().strip() if sandbox is not None else str(sandbox_in.get("default", ""))
            strategy_mode = strategy.text().strip() if strategy is not None else str(strategy_in.get("default", ""))
            if sandbox is not None:
                args.extend([Word("--sandbox", self.loc(sandbox)), Word(sandbox_mode, self.loc(sandbox))])
            for key in meaning.get("args_inputs") or ():
                if key in inputs:
                    args.extend(self._arg_words(inputs[key]))
                    skip_inputs.add(key)
            arg_text = " ".join(w.text for w in args)
            full_access = _turns_off_sandbox(spec, args)
            env, env_detail = EnvMode.MINIMAL, "codex-action keeps the API key in its proxy, outside the agent's environment"
            if strategy_mode in (strategy_in.get("keeps_sudo") or ()):
                facts.append(Fact(FactKind.PRIVILEGED, "safety-strategy: unsafe (the agent keeps passwordless sudo)",
                                  self.loc(strategy) if strategy is not None else uses_loc))
            if not full_access and boundary is None:
                boundary, tool = Boundary.OS_SANDBOX, f"codex-action sandbox ({sandbox_mode}, {strategy_mode})"
                net = re.search(r"network_access\s*=\s*\"?true", arg_text)
                egress = Egress.OPEN if net else Egress.NONE
                if net:
                    facts.append(Fact(FactKind.NETWORK_DEFAULT, "network_access=true", args[0].location if args else uses_loc))
            elif full_access and boundary is None:
                env = EnvMode.INHERITED
                env_detail = "with the sandbox off the agent runs in the job's environment on the runner"
        elif agent_id == "gemini-cli":
            yolo = Fact(FactKind.BYPASS_DEFAULT, str(meaning.get("forced_bypass") or ""), uses_loc)
            listed = False
            for key in meaning.get("settings_inputs") or ():
                settings = inputs.get(key)
                if settings is None:
                    continue
                skip_inputs.add(key)
                s_facts, listed_here, sandbox = self._gemini_settings(settings)
                facts.extend(s_facts)
                if listed_here:
                    listed = True
                    allow_list = allow_list or self.loc(settings)
                if sandbox is not None and boundary is None:
                    boundary, tool, egress = Boundary.CONTAINER, f"Gemini CLI sandbox ({sandbox[0]})", Egress.OPEN
                    facts.append(Fact(FactKind.NETWORK_DEFAULT, "the Gemini sandbox's default network", sandbox[1]))
            if not listed and yolo.value:
                facts.append(yolo)  # --yolo with every built-in tool, the shell included
        # Extra command-line arguments any agent action passes on (`aider_args`, `cli_args`, ...).
        for key, value in inputs.items():
            if key not in skip_inputs and _args_input(self.cat, key) and value.is_scalar:
                args.extend(self._arg_words(value))
                skip_inputs.add(key)
        for key, value in inputs.items():
            if key in skip_inputs or key in job_token_inputs:
                if key in job_token_inputs:
                    fact = self._secret(key, value)
                    if fact is not None and fact.kind == FactKind.JOB_TOKEN:
                        token_reach.append(self.loc(value).with_label(f"the job token as the `{key}` input"))
                    elif fact is not None:
                        facts.append(fact)
                continue
            fact = self._secret(key, value)
            if fact is not None and fact.kind != FactKind.JOB_TOKEN:
                facts.append(fact)
            elif fact is not None:
                token_reach.append(self.loc(value).with_label(f"the job token as the `{key}` input"))
        timeout = self._timeout(job, step, inputs)
        site = self.tools.make_site(agent=spec, location=uses_loc, surface=SURFACE, launcher=f"action `{uses.text()}`",
                         command=f"uses: {uses.text()}", boundary=boundary, tool=tool, env=env,
                         env_detail=env_detail, env_location=self.loc(step.get("env")) if step.get("env") is not None else uses_loc,
                         egress=egress, facts=[f for f in facts if f.kind != FactKind.JOB_TOKEN],
                         args=args, timeout=timeout)
        action = uses.text().split("@", 1)[0].strip().lower()
        site = self.gate(site, job, allow_list, action)
        site = self.with_unknowns(site, job, token_reach)
        known = self.cat.agent_action(action)
        checks_actor = known is not None and known.checks_actor
        extra = self.job_findings(site, job, step, token_reach, inputs, raw_cli=not checks_actor)
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
        enabled = doc.path("sandbox", "enabled")
        sandboxed = enabled is not None and enabled.truthy()
        mode = doc.path("permissions", "defaultMode")
        meaning = self.cat.approval_mode("claude-code", mode.text()) if mode is not None else None
        if meaning is not None and meaning.approvals_off(confined=sandboxed):
            facts.append(Fact(FactKind.BYPASS_FLAG, f"defaultMode: {mode.text()}", self.loc(self._line_in(settings, "defaultMode"))))
        for rule in (doc.path("permissions", "allow").seq() if doc.path("permissions", "allow") is not None else []):
            if self.cat.allows_any_shell("claude-code", rule.text()):
                facts.append(Fact(FactKind.BYPASS_FLAG, f"allow {rule.text()}", self.loc(self._line_in(settings, f'"{rule.text()}"'))))
        return facts, sandboxed

    def _gemini_settings(self, settings: Node) -> tuple[list[Fact], bool, tuple[str, Location] | None]:
        """Gemini CLI settings given as a JSON string: its core tool list (an allow-list unless it
        holds the unrestricted shell tool) and its sandbox."""
        doc = load_json(settings.text(), [])
        if doc is None or not doc.is_map:
            return [], False, None
        facts: list[Fact] = []
        tools = doc.get("coreTools")
        if tools is None:
            tools = doc.path("tools", "core")
        listed = tools is not None and tools.is_seq
        for entry in (tools.seq() if listed else []):
            name = entry.text().strip()
            if self.cat.allows_any_shell("gemini-cli", name):
                line = self._line_in(settings, f'"{name}"')
                facts.append(Fact(FactKind.BYPASS_FLAG, f"core tool {name}: any shell command, approved by --yolo", self.loc(line)))
        sandbox = doc.path("tools", "sandbox")
        if sandbox is None:
            sandbox = doc.get("sandbox")
        box = None
        if sandbox is not None and sandbox.is_scalar and sandbox.text() not in ("", "false", "none"):
            box = (sandbox.text(), self.loc(self._line_in(settings, '"sandbox"')))
        return facts, listed, box

    # -- run steps --------------------------------------------------------------------------

    def run_shell(self, run: Node) -> tuple[bytes, dict[str, str]]:
        """A run step's script padded onto its lines in this file, GitHub expressions masked."""
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
        masked, originals = mask_expressions(run.value)
        return embedded_shell(src, masked, first, indent), originals

    def _run_sites(self, job: Job, step: Node, run: Node):
        src = self.src
        data, originals = self.run_shell(run)
        run_loc = self.loc(run.key_line or run.line)
        for found in shell_launches(src, data, SURFACE, "workflow run step", ""):
            for item in self.tools.read(unmask_words(found.words, originals)):
                if isinstance(item, Unresolved):
                    site = undecided_site(f"{item.reason}", found.location, SURFACE, "workflow run step", item.word.text)
                    yield site, ()
                    continue
                if not isinstance(item, Invocation):
                    continue
                allow_flags = self.cat.permissions.list("tool_allow_list_flags")
                allow = next((w.location for w in item.args if w.text.split("=", 1)[0] in allow_flags), None)
                site, extra = self.ci_site(job, step, agent=item.agent, location=found.location,
                                           launcher="workflow run step", command=" ".join(w.text for w in item.all_words),
                                           env_location=run_loc, invocation=item, allow_list=allow)
                yield site, tuple(extra)

    def ci_site(self, job: Job, step: Node | None, *, agent, location: Location, launcher: str, command: str,
                env_location: Location, invocation: Invocation | None = None, extra_facts: list[Fact] = (),
                reached: tuple[Boundary, str] | None = None, allow_list: Location | None = None,
                inputs: dict[str, Node] | None = None, agent_name: str = "",
                raw_cli: bool = True) -> tuple[LaunchSite, list[Finding]]:
        """A launch on the job's runner (a CLI in a run step, or a step that starts a repository
        script or action which launches an agent), judged with everything the job hands it.
        `invocation` is the CLI's command line; without one the site stands for what the step
        starts, and `reached` is the agent's own gate there when every launch it reaches keeps one."""
        env = EnvMode.MINIMAL if job.boundary is Boundary.CONTAINER else EnvMode.INHERITED
        facts, token_reach = self.step_context(job, step, list(extra_facts))
        site = self.tools.make_site(agent=agent, location=location, surface=SURFACE, launcher=launcher, command=command,
                         boundary=job.boundary, tool=job.tool, env=env,
                         env_detail="a run step on a hosted runner inherits the job's environment, secrets and token",
                         env_location=env_location, egress=job.egress, facts=facts,
                         invocation=invocation, timeout=self._timeout(job, step) if step is not None else job.timeout)
        if invocation is not None:
            site = self.gate(site, job, allow_list)
        else:
            c = site.containment
            # The agent's own switches were judged where it is launched, not at this step.
            kept = tuple(f for f in c.facts if not (f.kind in ("agent-sandbox", "bypass-default") and f.location == location))
            if job.boundary is not None:
                c = replace(c, facts=kept)
            elif reached is not None:
                c = replace(c, facts=kept, boundary=reached[0], boundary_tool=reached[1], egress=job.egress)
            else:
                c = replace(c, facts=kept, boundary=Boundary.NONE, boundary_tool="", egress=Egress.OPEN)
            site = replace(site, containment=c)
        if agent_name:
            site = replace(site, agent_name=agent_name)
        site = self.with_unknowns(site, job, token_reach)
        return site, self.job_findings(site, job, step, token_reach, inputs or {}, raw_cli=raw_cli)

    # -- shared judgement -------------------------------------------------------------------

    def _timeout(self, job: Job, step: Node | None, inputs: dict[str, Node] | None = None) -> Location | None:
        tm = step.get("timeout-minutes") if step is not None else None
        if tm is not None:
            return self.loc(tm)
        for key in _any_inputs(self.cat, "timeout"):
            if inputs and key in inputs and inputs[key].text().strip():
                return self.loc(inputs[key])
        return job.timeout

    def gate(self, site: LaunchSite, job: Job, allow_list: Location | None, action: str = "") -> LaunchSite:
        """On a hosted runner with no other boundary, an agent whose tools stay gated — an agent
        action's restricted default tools, or an explicit tool allow-list, with nothing that
        bypasses them — acts only through those tools: that gate is its boundary (DESIGN §2)."""
        c = site.containment
        if c.boundary is not Boundary.NONE or c.has(*_BYPASS_KINDS):
            return site
        known = self.cat.agent_action(action) if action else None  # its default tools may be the gate
        if allow_list is not None:
            tool, fact = f"{site.agent_name}'s tool allow-list", Fact(FactKind.TOOL_ALLOW_LIST, "an explicit tool allow-list", allow_list)
        elif known is not None and known.repo == action and known.gated_by_default:
            tool, fact = known.gated_by_default, Fact(FactKind.TOOL_GATE, known.gated_by_default, site.location)
        else:
            return site
        return replace(site, containment=replace(c, boundary=Boundary.AGENT_SANDBOX, boundary_tool=tool,
                                                 egress=job.egress, facts=(*c.facts, fact)))

    def with_unknowns(self, site: LaunchSite, job: Job, token_reach: list[Location]) -> LaunchSite:
        if not (job.default_token and token_reach):
            return site
        fact = Fact(FactKind.UNKNOWN, "the repository's default GITHUB_TOKEN permissions (the workflow sets no `permissions:`)",
                    self.loc(job.key_line))
        return replace(site, containment=replace(site.containment, unknowns=(*site.containment.unknowns, fact)))

    def least_privilege(self, site: LaunchSite, job: Job) -> bool:
        """Whether the site is contained apart from who may trigger it: gated or sandboxed tools,
        no scope that can push, no operator credential, a known token."""
        c = site.containment
        gated = c.boundary is Boundary.AGENT_SANDBOX or c.boundary in _ISOLATING
        return (gated and not c.has(*_BYPASS_KINDS, *_OPERATOR_KINDS, "privileged")
                and not job.push_scopes and not (job.default_token and not job.is_action))

    def job_findings(self, site: LaunchSite, job: Job, step: Node | None, token_reach: list[Location],
                     inputs: dict[str, Node], raw_cli: bool) -> list[Finding]:
        """The job's hazards for one site. `raw_cli`: nothing in front of the agent checks who
        triggered the run (a CLI, a script, an action that does not check the actor)."""
        out: list[Finding] = []
        cat = self.cat
        agent = site.agent_name
        unattended = " It starts on a schedule, with no person watching." if site.containment.has(FactKind.UNATTENDED) else ""
        if job.write_scopes and token_reach:
            scopes = ", ".join(s for s, _ in job.write_scopes)
            push = job.push_scopes
            if push:
                anchor = next((loc for s, loc in push if s in ("contents", "write-all")), push[0][1])
                out.append(new_finding(
                    cat, "workflow-agent-write-token", anchor, site_id=site.site_id, category="writable-mount",
                    message=f"{agent} shares the job's GitHub token, which can push to the repository ({scopes}).{unattended}",
                    related=[site.location.with_label("launch site"), *token_reach[:3]]))
            else:
                out.append(new_finding(
                    cat, "workflow-agent-write-token", job.write_scopes[0][1], site_id=site.site_id,
                    category="inherited-credentials", contained=True,
                    message=f"{agent} shares the job's GitHub token, which can write ({scopes}) but not push code.",
                    related=[site.location.with_label("launch site"), *token_reach[:3]]))
        contained = self.least_privilege(site, job)
        for key in _any_inputs(cat, "open_gate"):
            node = inputs.get(key)
            if node is not None and "*" in node.text():
                limit = " Its tools and token are limited, so this is hardening." if contained else ""
                out.append(new_finding(
                    cat, "workflow-agent-untrusted-trigger", self.loc(node), site_id=site.site_id, contained=contained,
                    message=f"`{key}: {node.text()}` lets anyone on GitHub drive {agent} in this job.{limit}",
                    related=[site.location.with_label("launch site")]))
        head = [f for f in job.facts if f.kind == FactKind.CHECKOUT_HEAD]
        if "pull_request_target" in self.triggers and head:
            out.append(new_finding(
                cat, "workflow-agent-untrusted-trigger", head[0].location, site_id=site.site_id, contained=contained,
                message=f"The job runs on pull_request_target and checks out the pull request's code, which then reaches {agent} with the base repository's token and secrets.",
                related=[self.triggers["pull_request_target"].with_label("trigger"), site.location.with_label("launch site")]))
        elif raw_cli:
            cond = step.get("if") if step is not None else None
            # The step's own condition narrows the job's.
            reach = open_triggers(cond.text() if cond is not None else None, job.open_triggers, _github(cat, "gate_words"))
            untrusted = [t for t in _github(cat, "untrusted_triggers") if t in reach and t != "pull_request_target"]
            if untrusted:
                trig = untrusted[0]
                out.append(new_finding(
                    cat, "workflow-agent-untrusted-trigger", self.triggers[trig], site_id=site.site_id, contained=contained,
                    # The job named: a workflow that dispatches several agent jobs has one finding each on this line.
                    message=f"Anyone who can open an issue or comment triggers {agent} in job `{job.key}` through `{trig}`; "
                            "nothing checks who they are.",
                    confidence=Confidence.MEDIUM, related=[site.location.with_label("launch site")]))
        return out


def _workdir(defaults: Node | None) -> str:
    node = defaults.path("run", "working-directory") if defaults is not None and defaults.is_map else None
    return node.text().strip() if node is not None else ""


def analyze_workflow(analysis: Analysis):
    yield from WorkflowReader(analysis).run()
