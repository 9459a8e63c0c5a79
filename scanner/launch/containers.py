"""Containers: Dockerfile, compose files and devcontainer.json.

Each surface is translated into the judge's fact vocabulary (mount-<kind>-<ro|rw>, network-*,
privileged, cap-add, user-root, image, image-digest, env-file, secret-*), anchored at the exact
line of the key or value, and judged as a container boundary.

An agent runtime is recognised by what runs in it (a command, an image named for the agent), by
what its image installs (`npm i -g @anthropic-ai/claude-code`, an agent's install script: the
Dockerfile then yields an "INSTALL" launch that `scanner.project.links` joins to the compose service
built from it), by its name (`claude`, `codex-sandbox`) or by the agent config folder it mounts.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator
from dataclasses import replace

from scanner.launch.base import Analysis
from scanner.launch.cfgjudge import ConfigTools, split_words
from scanner.parse.cfgtree import Node, load_json, load_yaml, strings
from scanner.catalog import AgentSpec, Catalog
from scanner.launch.commandline import Invocation, Unresolved, Word
from scanner.containment.reader import network_egress
from scanner.model import Boundary, Egress, EnvMode, Fact, FactKind, Location

_PROXY = re.compile(r"proxy|squid|tinyproxy|envoy|privoxy|mitm|egress|smokescreen|gateway", re.I)


# -- shared helpers ----------------------------------------------------------------------------


def image_facts(image: str, loc: Location) -> list[Fact]:
    facts = [Fact(FactKind.IMAGE, image, loc)]
    if "@sha256:" in image:
        facts.append(Fact(FactKind.IMAGE_DIGEST, image, loc))
    return facts


# `${VAR:-default}` and friends: the variable is what counts.
_DEFAULTED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-=?+][^}]*)?\}")
# A host path that is one variable naming the project folder is the target being worked on.
_ONE_VAR = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/?$")
_PROJECT_WORDS = {"PROJECT", "WORKSPACE", "REPO", "REPOSITORY", "SRC", "SOURCE", "CODE", "CODEBASE", "WORKDIR", "PWD"}
# Home itself (with its dotfiles), as opposed to a folder below it.
_HOME_ROOT = re.compile(r"^(~|\$HOME|\$\{HOME\}|/root|/home/[^/]+|/Users/[^/]+|%USERPROFILE%)/?$")
# The user's runtime folder (session bus with the keyring, ssh/gpg agent sockets) and agent or
# smart-card sockets: whoever reaches them acts with the operator's keys, even read-only.
_KEY_SOCKETS = re.compile(r"^(/run/user/[^/]+|\$\{?XDG_RUNTIME_DIR\}?|\$\{?SSH_AUTH_SOCK\}?)/?$"
                          r"|/(ssh-agent[^/]*|S\.gpg-agent[^/]*|keyring[^/]*|pcscd[^/]*)(/[^/]*)?$|/run/user/[^/]+/(bus|gnupg|keyring)")


def _project_var(path: str) -> bool:
    m = _ONE_VAR.match(path)
    if not m:
        return False
    words = m.group(1).upper().split("_")
    return bool(_PROJECT_WORDS & set(words)) or "WORK_DIR" in m.group(1).upper()


def host_kind(tools: ConfigTools, src: str) -> str:
    """Classify the host side of a mount with the shared containment vocabulary."""
    judge = tools.judge
    norm = (src.replace("${localEnv:HOME}", "$HOME").replace("${localEnv:USERPROFILE}", "$HOME")
            .replace("${env:HOME}", "$HOME").replace("${localWorkspaceFolder}", ".")
            .replace("${containerWorkspaceFolder}", "."))
    norm = _DEFAULTED.sub(lambda m: "${" + m.group(1) + "}", norm)
    if norm.startswith("./") and norm.rstrip("/") == ".":
        norm = "."
    if _project_var(norm):
        norm = "."
    kind = judge._classify_host_path(norm)
    if kind in ("host-path", "home") and _KEY_SOCKETS.search(norm):
        return "credentials"
    if kind == "home" and not _HOME_ROOT.match(norm):
        return "host-path"  # a folder below home (`/home/me/src/app`), not home with its dotfiles
    return kind


def volume_fact(tools: ConfigTools, spec: str, loc: Location, readonly: bool | None = None) -> Fact | None:
    """`src:dst[:mode]` (docker -v / compose short syntax)."""
    parts = spec.split(":")
    if len(parts) < 2:
        return None
    src = parts[0]
    ro = readonly if readonly is not None else any(p in ("ro", "readonly") or p.startswith("ro,") for p in parts[2:])
    kind = host_kind(tools, src)
    if kind == "volume":
        return None
    return Fact(FactKind.mount(kind, writable=not ro), src, loc)


def mount_fact(tools: ConfigTools, spec: str, loc: Location) -> Fact | None:
    """`type=bind,source=...,target=...[,readonly]` (docker --mount / devcontainer mounts)."""
    opts: dict[str, str] = {}
    for part in spec.split(","):
        key, eq, value = part.partition("=")
        opts[key.strip()] = value.strip() if eq else "true"
    if opts.get("type", "volume") != "bind":
        return None
    src = opts.get("source") or opts.get("src") or ""
    if not src:
        return None
    ro = opts.get("readonly", opts.get("ro", "false")) in ("true", "1", "")
    kind = host_kind(tools, src)
    if kind == "volume":
        return None
    return Fact(FactKind.mount(kind, writable=not ro), src, loc)


def docker_option_facts(tools: ConfigTools, options: str | list[Word], loc: Location | None = None) -> list[Fact]:
    """Facts from `docker run` flags (job container options, devcontainer runArgs)."""
    words = split_words(options, loc) if isinstance(options, str) else list(options)
    facts, env_names = tools.judge.container_flag_facts(words)
    for name in env_names:
        fact = tools.secret_fact(name.text, name.location)
        if fact is not None:
            facts.append(fact)
    return facts


def _user_fact(user: str, loc: Location) -> Fact:
    if user.split(":", 1)[0].strip() in ("0", "root"):
        return Fact(FactKind.USER_ROOT, user, loc)
    return Fact(FactKind.USER_NONROOT, user, loc)


def _words_of(node: Node | None, src_loc) -> list[Word]:
    if node is None:
        return []
    if node.is_seq:
        return [Word(n.text(), src_loc(n), "$" in n.text()) for n in node.seq() if n.is_scalar]
    return split_words(node.text(), src_loc(node))


# -- Dockerfile --------------------------------------------------------------------------------


def dockerfile_instructions(text: str) -> list[tuple[int, str, str]]:
    """(line, INSTRUCTION, arguments) with continuation lines joined."""
    out: list[tuple[int, str, str]] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        raw = lines[i].rstrip("\r")
        start = i + 1
        i += 1
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        body = stripped
        while body.endswith("\\") and i < len(lines):
            body = body[:-1] + " "
            nxt = lines[i].rstrip("\r").strip()
            i += 1
            if nxt.startswith("#"):
                continue
            body += nxt
        name, _, args = body.partition(" ")
        out.append((start, name.upper(), args.strip()))
    return out




def dockerfile_summary(text: str) -> dict:
    """Final-stage base image, USER and agent launches of a Dockerfile (for links too)."""
    base, base_line, user, user_line = "", 0, "", 0
    launches: list[tuple[int, str, str]] = []
    for line, name, args in dockerfile_instructions(text):
        if name == "FROM":
            parts = [p for p in args.split() if not p.startswith("--")]
            base, base_line, user, user_line = (parts[0] if parts else ""), line, "", 0
            launches = [item for item in launches if item[1] == "RUN"]
        elif name == "USER":
            user, user_line = args.split()[0] if args.split() else "", line
        elif name in ("CMD", "ENTRYPOINT", "RUN"):
            launches.append((line, name, args))
    return {"base": base, "base_line": base_line, "user": user, "user_line": user_line, "launches": launches}


def image_site_id(dockerfile: str, agent: str) -> str:
    """One id for "the agent this image runs": the Dockerfile's runtime launch and a compose
    service built from that Dockerfile share it, so a service recognised on its own (by name or
    mounts) and the same service linked to its Dockerfile end up as one launch site."""
    return f"{dockerfile}:image:{agent}"


_NPM_INSTALL = re.compile(r"\b(?:npm|pnpm|yarn|bun)\s+(?:-\S+\s+)*(?:install|i|add|global\s+add)\b([^;&|\n]*)")
_PY_INSTALL = re.compile(r"\b(?:pip[0-9.]*|pipx|uv\s+pip|uv\s+tool|python[0-9.]*\s+-m\s+pip|poetry|pdm)\s+(?:install|add)\b([^;&|\n]*)")


def _package_name(token: str) -> str:
    token = token.strip("'\"")
    if token.startswith("@"):  # @scope/name@version
        scope, _, rest = token.partition("/")
        return f"{scope}/{rest.split('@', 1)[0]}"
    return re.split(r"[@=<>!~\[;]", token, maxsplit=1)[0]


def agent_installs(tools: ConfigTools, text: str) -> list[tuple[AgentSpec, str]]:
    """Agents a shell command line installs: a package manager install of an agent package, or
    the agent's install script."""
    cat = tools.catalog
    out: list[tuple[AgentSpec, str]] = []
    for pattern in (_NPM_INSTALL, _PY_INSTALL):
        for m in pattern.finditer(text):
            for token in m.group(1).split():
                if token.startswith("-"):
                    continue
                name = _package_name(token)
                spec = cat.by_package.get(name) or cat.by_package.get(name.lower())
                if spec is not None:
                    out.append((spec, f"installs {name}"))
    for agent_id, needles in cat.containment.section("agent_installers").items():
        for needle in needles or ():
            if needle in text:
                spec = tools.agent_by_name(agent_id)
                if spec is not None:
                    out.append((spec, f"runs the {spec.name} installer ({needle})"))
    return out


def dockerfile_invocations(tools: ConfigTools, src, launches) -> Iterator[tuple[int, str, Invocation | Unresolved]]:
    """Agent launches of the image, then — when nothing in it starts an agent — the agents it
    installs, as kind "INSTALL": an image that installs an agent is an agent runtime, and
    whatever runs it (a compose service, a pod) is the launch site."""
    launched = False
    for line, name, item in _dockerfile_launches(tools, src, launches):
        launched = launched or isinstance(item, Invocation)
        yield line, name, item
    if launched:
        return
    seen: set[str] = set()
    for line, name, args in launches:
        if name != "RUN":
            continue
        for spec, what in agent_installs(tools, args):
            if spec.id in seen:
                continue
            seen.add(spec.id)
            yield line, "INSTALL", Invocation(spec, Word(spec.binaries[0] if spec.binaries else spec.id, src.loc(line)), (), ())


def _dockerfile_launches(tools: ConfigTools, src, launches) -> Iterator[tuple[int, str, Invocation | Unresolved]]:
    entry: list[Word] = []
    # Only the last ENTRYPOINT and CMD of the stage take effect; they run as one command.
    last = {name: (line, name, args) for line, name, args in launches if name != "RUN"}
    if "ENTRYPOINT" in last and "CMD" in last and last["ENTRYPOINT"][2].startswith("["):
        launches = [x for x in launches if x[1] == "RUN"] + [last["ENTRYPOINT"], last["CMD"]]
    else:
        launches = [x for x in launches if x[1] == "RUN"] + list(last.values())
    for line, name, args in launches:
        loc = src.loc(line)
        if args.startswith("["):
            try:
                items = json.loads(args)
            except ValueError:
                items = None
            words = [Word(str(x), loc, "$" in str(x)) for x in items] if isinstance(items, list) else None
        else:
            words = None
        if name == "ENTRYPOINT":
            entry = words if words is not None else split_words(args, loc)
            if "CMD" in last and words is not None:
                continue  # read together with the CMD that follows
        if words is not None:
            found = tools.read([*entry, *words] if name == "CMD" and entry else words)
        else:
            found = tools.read_shell(args, loc)
        for item in found:
            if isinstance(item, Invocation) and name == "RUN":
                first = item.args[0].text if item.args else ""
                if not item.args or first in tools.catalog.non_session_args:
                    continue
            yield line, name, item


def analyze_dockerfile(analysis: Analysis):
    src, tools = analysis.source, analysis.tools
    summary = dockerfile_summary(src.text)
    for line, name, item in dockerfile_invocations(tools, src, summary["launches"]):
        if not isinstance(item, Invocation):
            continue
        loc = src.loc(line)
        if name == "INSTALL":
            # Nothing in this file runs the agent: the image is judged where it is run (a compose
            # service built from it is linked by scanner.project.links); on its own it decides nothing.
            site = tools.make_site(agent=item.agent, location=loc, surface="dockerfile", launcher="Dockerfile RUN (installs the agent)",
                             command=f"{item.agent.name} installed in the image built from {src.path}",
                             boundary=Boundary.CONTAINER, tool="container image", env=EnvMode.MINIMAL, egress=Egress.UNKNOWN,
                             facts=[Fact(FactKind.AGENT_INSTALLED, f"the image installs {item.agent.name}; nothing in it starts the agent", loc),
                                    Fact(FactKind.TIMEOUT, "decided where the image is run", loc)],
                             invocation=item)
            yield replace(site, site_id=image_site_id(src.path, item.agent.id)), ()
            continue
        facts: list[Fact] = []
        if summary["base"]:
            facts.extend(image_facts(summary["base"], src.loc(summary["base_line"])))
        if summary["user"]:
            facts.append(_user_fact(summary["user"], src.loc(summary["user_line"])))
        elif summary["base_line"]:
            facts.append(Fact(FactKind.USER_ROOT, "no USER: the base image's default user, root for most images",
                              src.loc(summary["base_line"])))
        unknowns = [Fact(FactKind.UNKNOWN, f"how the image built from `{src.path}` is run (its mounts, network and user)", loc)]
        site = tools.make_site(agent=item.agent, location=loc, surface="dockerfile", launcher=f"Dockerfile {name}",
                         command=" ".join(w.text for w in item.all_words), boundary=Boundary.CONTAINER,
                         tool="container image", env=EnvMode.MINIMAL, egress=Egress.UNKNOWN,
                         facts=facts, unknowns=unknowns, invocation=item)
        if name != "RUN":
            site = replace(site, site_id=image_site_id(src.path, item.agent.id))
        yield site, ()


# -- compose -----------------------------------------------------------------------------------


def compose_service_facts(tools: ConfigTools, src, doc: Node, name: str, svc: Node) -> tuple[list[Fact], Egress]:
    loc = lambda n: src.loc(n.anchor if isinstance(n, Node) else n)  # noqa: E731
    facts: list[Fact] = []
    image = svc.get("image")
    if image is not None and svc.get("build") is None:
        facts.extend(image_facts(image.text(), loc(image)))
    for vol in (svc.get("volumes").seq() if svc.get("volumes") is not None else []):
        if vol.is_scalar:
            fact = volume_fact(tools, vol.text(), loc(vol))
        elif vol.is_map:
            src_node = vol.get("source")
            if (vol.get("type").text() if vol.get("type") is not None else "volume") != "bind" or src_node is None:
                fact = None
            else:
                ro = vol.get("read_only")
                kind = host_kind(tools, src_node.text())
                fact = None if kind == "volume" else Fact(
                    FactKind.mount(kind, writable=not (ro is not None and ro.truthy())), src_node.text(), loc(src_node))
        else:
            fact = None
        if fact is not None:
            facts.append(fact)
    priv = svc.get("privileged")
    if priv is not None and priv.truthy():
        facts.append(Fact(FactKind.PRIVILEGED, "privileged: true", loc(priv)))
    for key in ("pid", "ipc", "uts", "userns_mode", "cgroup"):
        node = svc.get(key)
        if node is not None and node.text() == "host":
            facts.append(Fact(FactKind.HOST_NAMESPACE, f"{key}: host", loc(node)))
    for cap in strings(svc.get("cap_add")):
        facts.append(Fact(FactKind.CAP_ADD, cap.text().upper().removeprefix("CAP_"), loc(cap)))
    for cap in strings(svc.get("cap_drop")):
        facts.append(Fact(FactKind.CAP_DROP, cap.text().upper().removeprefix("CAP_"), loc(cap)))
    for opt in strings(svc.get("security_opt")):
        text = opt.text()
        if text.startswith("no-new-privileges") and not text.endswith("false"):
            facts.append(Fact(FactKind.NO_NEW_PRIVILEGES, text, loc(opt)))
        elif "unconfined" in text or text.replace("=", ":") == "label:disable":
            facts.append(Fact(FactKind.UNCONFINED, text, loc(opt)))
    for dev in strings(svc.get("devices")):
        facts.append(Fact(FactKind.DEVICE, dev.text(), loc(dev)))
    user = svc.get("user")
    if user is not None:
        facts.append(_user_fact(user.text(), loc(user)))
    ro = svc.get("read_only")
    if ro is not None and ro.truthy():
        facts.append(Fact(FactKind.READ_ONLY_ROOTFS, "read_only: true", loc(ro)))
    for env_file in strings(svc.get("env_file")) + [n.get("path") for n in (svc.get("env_file").seq() if svc.get("env_file") is not None and svc.get("env_file").is_seq else []) if n.is_map and n.get("path") is not None]:
        facts.append(Fact(FactKind.ENV_FILE, env_file.text(), loc(env_file)))
    env = svc.get("environment")
    if env is not None:
        entries: list[tuple[str, Node]] = []
        if env.is_map:
            entries = list(env.items())
        else:
            entries = [(n.text().split("=", 1)[0], n) for n in env.seq() if n.is_scalar]
        for key, node in entries:
            ref = re.search(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", node.text())
            fact = tools.secret_fact(key, loc(node), secret_ref=ref.group(1) if ref and ref.group(1) != key else "")
            if fact is not None and (fact.kind == FactKind.SECRET_MODEL_KEY or credential_like(tools, key, ref.group(1) if ref else "")):
                facts.append(fact)
    for sec in (svc.get("secrets").seq() if svc.get("secrets") is not None else []):
        sname = sec.text() if sec.is_scalar else (sec.get("source").text() if sec.get("source") is not None else "")
        fact = tools.secret_fact(sname.upper(), loc(sec))
        if fact is not None:
            facts.append(fact)
    for key in ("mem_limit", "cpus", "pids_limit", "memswap_limit"):
        node = svc.get(key)
        if node is not None:
            facts.append(Fact(FactKind.LIMIT, f"{key}: {node.text()}", loc(node)))
    limits = svc.path("deploy", "resources", "limits")
    if limits is not None and limits.is_map:
        facts.append(Fact(FactKind.LIMIT, "deploy.resources.limits", loc(limits)))
    return facts, _compose_egress(src, doc, name, svc, facts)


def credential_like(tools: ConfigTools, key: str, ref: str) -> bool:
    return bool(tools.credential_kind(key) or (ref and tools.credential_kind(ref)))


def _networks_of(svc: Node) -> dict[str, Node]:
    nets = svc.get("networks")
    if nets is None:
        return {}
    if nets.is_map:
        return dict(nets.items())
    return {n.text(): n for n in nets.seq() if n.is_scalar}


def _compose_egress(src, doc: Node, name: str, svc: Node, facts: list[Fact]) -> Egress:
    mode = svc.get("network_mode")
    if mode is not None:
        text = mode.text()
        if text == "host":
            facts.append(Fact(FactKind.NETWORK_HOST, "network_mode: host", src.loc(mode.anchor)))
            return Egress.HOST
        if text == "none":
            facts.append(Fact(FactKind.NETWORK_NONE, "network_mode: none", src.loc(mode.anchor)))
            return Egress.NONE
        facts.append(Fact(FactKind.NETWORK_NAMED, text, src.loc(mode.anchor)))
        return Egress.UNKNOWN
    nets = _networks_of(svc)
    top = doc.get("networks")
    if not nets:
        facts.append(Fact(FactKind.NETWORK_DEFAULT, "the project's default network", src.loc(svc.anchor)))
        return Egress.OPEN

    def internal(net: str) -> bool | None:
        spec = top.get(net) if top is not None else None
        if spec is None or not spec.is_map:
            return False
        ext = spec.get("external")
        if ext is not None and (ext.truthy() or ext.is_map):
            return None
        flag = spec.get("internal")
        return flag is not None and flag.truthy()

    states = {net: internal(net) for net in nets}
    for net, state in states.items():
        if state is None:
            facts.append(Fact(FactKind.NETWORK_NAMED, net, src.loc(nets[net].anchor)))
            return Egress.UNKNOWN
    open_nets = [net for net, state in states.items() if state is False]
    if open_nets:
        facts.append(Fact(FactKind.NETWORK_DEFAULT, f"network `{open_nets[0]}` is not internal", src.loc(nets[open_nets[0]].anchor)))
        return Egress.OPEN
    # Every network is internal: the only way out is a service that also sits on an outside network.
    services = doc.get("services")
    for other_name, other in (services.items() if services is not None else []):
        if other_name == name or not other.is_map:
            continue
        other_nets = _networks_of(other)
        if not set(other_nets) & set(nets):
            continue
        outside = [n for n in other_nets if internal(n) is not True] or ([] if other_nets else ["default"])
        if not outside:
            continue
        image = other.get("image").text() if other.get("image") is not None else ""
        if _PROXY.search(other_name) or _PROXY.search(image):
            facts.append(Fact(FactKind.EGRESS_ALLOW_LIST, f"internal network; only exit is the proxy `{other_name}`",
                              src.loc(other.anchor)))
            return Egress.ALLOW_LIST
        facts.append(Fact(FactKind.NETWORK_DEFAULT, f"`{other_name}` bridges the internal network to the outside",
                          src.loc(other.anchor)))
        return Egress.OPEN
    facts.append(Fact(FactKind.NETWORK_NONE, "internal networks only", src.loc(next(iter(nets.values())).anchor)))
    return Egress.NONE


def compose_agent(tools: ConfigTools, src, svc: Node, name: str = "") -> tuple[Invocation | None, list[Unresolved]]:
    """The agent a service runs: its command, its image's name, then what the service is called
    (`claude`, `codex-sandbox`) or the agent config folder it mounts (`~/.claude`)."""
    loc = lambda n: src.loc(n.anchor if n.is_scalar and not n.key_line else n.line)  # noqa: E731
    entry = _words_of(svc.get("entrypoint"), loc)
    command = _words_of(svc.get("command"), loc)
    unresolved: list[Unresolved] = []
    for words in ([*entry, *command], command):
        for item in tools.read(words):
            if isinstance(item, Invocation):
                return item, []
            if isinstance(item, Unresolved):
                unresolved.append(item)
    image = svc.get("image")
    if image is not None:
        spec = tools.agent_in_image(image.text())
        if spec is not None:
            word = Word(image.text(), src.loc(image.anchor))
            return Invocation(spec, word, tuple(command), ()), []
    if not name and svc.key_line:  # called without the service's name: read it off its key line
        name = src.quote(svc.key_line).split(":", 1)[0].strip("'\" ")
    hint = _runtime_hint(tools, src, svc, name)
    if hint is not None:
        spec, word = hint
        return Invocation(spec, word, tuple(command), ()), []
    return None, unresolved


# What names, config folders, variables and commands make a container an agent runtime is data:
# rules/config_files.yaml `runtimes`.


def _runtimes(cat: Catalog) -> dict:
    return cat.config_files.section("runtimes")


def agent_named(cat: Catalog, name: str) -> AgentSpec | None:
    """The agent a container, service or pod name designates: `claude`, `claude-code`,
    `codex_sandbox`, `aider-dev` — the agent's name plus only neutral words."""
    words = [w for w in re.split(r"[-_.\s/]+", name.lower()) if w and not w.isdigit()]
    if not words:
        return None
    runtimes = _runtimes(cat)
    neutral = set(runtimes.get("neutral_name_words") or ())
    not_a_name = set(runtimes.get("not_a_name") or ())
    for spec in cat.agents:
        aliases = {spec.id, *(b for b in spec.binaries if b not in not_a_name)}
        aliases.update(p.rsplit("/", 1)[-1] for p in spec.packages)
        for alias in aliases - not_a_name:
            parts = alias.split("-")
            for i in range(len(words) - len(parts) + 1):
                if words[i:i + len(parts)] == parts:
                    rest = words[:i] + words[i + len(parts):]
                    if all(w in neutral for w in rest):
                        return spec
    return None


def agent_of_config_path(tools: ConfigTools, path: str) -> AgentSpec | None:
    """The agent whose config folder or file a path names (`~/.claude`, `/home/node/.codex`)."""
    marks = _runtimes(tools.catalog).get("config_paths") or {}
    for part in re.split(r"[/:]", path):
        agent = marks.get(part)
        if agent is not None:
            return tools.agent_by_name(agent)
    return None


def agent_of_config_var(tools: ConfigTools, name: str) -> AgentSpec | None:
    """The agent whose config variable this is (`CLAUDE_CONFIG_DIR`, `CODEX_HOME`)."""
    agent = (_runtimes(tools.catalog).get("config_vars") or {}).get(name)
    return tools.agent_by_name(agent) if agent is not None else None


def _idle_command(cat: Catalog, svc: Node) -> bool:
    """The service only keeps the container up (`sleep infinity`, a shell): an agent runtime's
    usual command. Any other program makes the service that program, whatever its name."""
    runtimes = _runtimes(cat)
    idle, shell_args = set(runtimes.get("idle_commands") or ()), set(runtimes.get("shell_args") or ())
    for key in ("entrypoint", "command"):
        node = svc.get(key)
        words = [n.text() for n in node.seq()] if node is not None and node.is_seq else (node.text().split() if node is not None else [])
        if words and not (posixpath.basename(words[0]) in idle or words[0] in shell_args):
            return False
    return True


def _runtime_hint(tools: ConfigTools, src, svc: Node, name: str) -> tuple[AgentSpec, Word] | None:
    if _idle_command(tools.catalog, svc):
        for node in (None, svc.get("container_name"), svc.get("hostname")):
            text = name if node is None else node.text()
            spec = agent_named(tools.catalog, text) if text else None
            if spec is not None:
                return spec, Word(text, src.loc(node.anchor if node is not None else (svc.key_line or svc.line)))
    for vol in (svc.get("volumes").seq() if svc.get("volumes") is not None else []):
        text = vol.text() if vol.is_scalar else " ".join(v.text() for k, v in vol.items() if k in ("source", "target"))
        spec = agent_of_config_path(tools, text)
        if spec is not None:
            return spec, Word(text, src.loc(vol.anchor))
    env = svc.get("environment")
    entries = list(env.items()) if env is not None and env.is_map else \
        [(n.text().split("=", 1)[0], n) for n in (env.seq() if env is not None else []) if n.is_scalar]
    for key, node in entries:
        spec = agent_of_config_var(tools, key)
        if spec is not None:
            return spec, Word(key, src.loc(node.anchor))
    return None


def compose_site(tools: ConfigTools, src, doc: Node, name: str, svc: Node, inv: Invocation, extra: list[Fact] = ()):
    facts, egress = compose_service_facts(tools, src, doc, name, svc)
    facts = [*extra, *facts]
    if svc.get("user") is not None:
        facts = [f for f in facts if not (f in extra and f.kind == FactKind.USER_ROOT)]
    loc = src.loc(svc.anchor)
    return tools.make_site(agent=inv.agent, location=loc, surface="compose", launcher=f"compose service `{name}`",
                     command=" ".join(w.text for w in inv.all_words), boundary=Boundary.CONTAINER,
                     tool=f"compose service `{name}`", env=EnvMode.MINIMAL, egress=egress, facts=facts,
                     invocation=inv)


def analyze_compose(analysis: Analysis):
    src, tools = analysis.source, analysis.tools
    doc = analysis.shared("yaml", lambda: load_yaml(src.text, analysis.notes), keep=True)  # the link stage reads it too
    services = doc.get("services") if doc is not None and doc.is_map else None
    if services is None or not services.is_map:
        return
    for name, svc in services.items():
        if not svc.is_map:
            continue
        inv, _unresolved = compose_agent(tools, src, svc, name)
        if inv is None:
            continue
        site = compose_site(tools, src, doc, name, svc, inv)
        dockerfile = dockerfile_path_of(src.path, svc)
        if dockerfile is not None:  # the same launch as the image's own, when scanner.project.links joins them
            site = replace(site, site_id=image_site_id(dockerfile, inv.agent.id))
        yield site, ()


# -- devcontainer ------------------------------------------------------------------------------

def _devcontainer(cat: Catalog) -> dict:
    """rules/config_files.yaml `devcontainer`: lifecycle commands, agent features and hints."""
    return cat.config_files.section("devcontainer")


def _devcontainer_agent(tools: ConfigTools, doc: Node, src):
    cat = tools.catalog
    table = _devcontainer(cat)
    agent_features, path_words = set(table.get("agent_features") or ()), set(table.get("feature_path_words") or ())
    hints: dict[str, str] = table.get("agent_hints") or {}
    features = doc.get("features")
    for key, node in (features.items() if features is not None else []):
        base = key.split(":", 1)[0] if not key.startswith("ghcr.io") else key.rsplit(":", 1)[0]
        for part in re.split(r"[/]", base):
            spec = tools.agent_by_name(part) or cat.by_binary.get(part.split("-")[0]) if part else None
            if part in agent_features:
                spec = tools.agent_by_name(part) or spec
            if spec is not None and part not in path_words:
                return spec, src.loc(node.anchor)
    for key in table.get("lifecycle_commands") or ():
        node = doc.get(key)
        if node is None:
            continue
        for text_node in [n for n in node.walk() if n.is_scalar and isinstance(n.value, str)]:
            for pkg, spec in cat.by_package.items():
                if pkg in text_node.text():
                    return spec, src.loc(text_node.anchor)
            for item in tools.read_shell(text_node.text(), src.loc(text_node.anchor)):
                if isinstance(item, Invocation):
                    return item.agent, src.loc(text_node.anchor)
    for node in doc.walk():
        if node.is_scalar and isinstance(node.value, str):
            for hint, agent in hints.items():
                if hint in node.text():
                    return tools.agent_by_name(agent), src.loc(node.anchor)
        if node.is_map:
            for key, child in node.items():
                if key in hints:
                    return tools.agent_by_name(hints[key]), src.loc(child.anchor)
    name = doc.get("name")  # "claude-sandbox", "Codex dev container"
    spec = agent_named(cat, name.text()) if name is not None and name.is_scalar else None
    if spec is not None:
        return spec, src.loc(name.anchor)
    return None, None


def analyze_devcontainer(analysis: Analysis):
    src, tools = analysis.source, analysis.tools
    doc = load_json(src.text, analysis.notes)
    if doc is None or not doc.is_map:
        return
    spec, agent_loc = _devcontainer_agent(tools, doc, src)
    if spec is None:
        return
    loc = lambda n: src.loc(n.anchor)  # noqa: E731
    container_key = next((doc.get(k) for k in ("image", "build", "dockerFile", "dockerComposeFile") if doc.get(k) is not None), None)
    site_loc = loc(container_key) if container_key is not None else agent_loc
    facts: list[Fact] = []
    image = doc.get("image")
    if image is not None:
        facts.extend(image_facts(image.text(), loc(image)))
    wsm = doc.get("workspaceMount")
    if wsm is not None and wsm.text():
        fact = mount_fact(tools, wsm.text(), loc(wsm))
        if fact is not None:
            facts.append(fact)
    elif doc.get("dockerComposeFile") is None:
        facts.append(Fact(FactKind.MOUNT_TARGET_RW, "${localWorkspaceFolder} (the default workspace mount)", site_loc))
    for mount in (doc.get("mounts").seq() if doc.get("mounts") is not None else []):
        if mount.is_scalar:
            fact = mount_fact(tools, mount.text(), loc(mount))
        elif mount.is_map:
            parts = [f"{k}={v.text()}" for k, v in mount.items()]
            fact = mount_fact(tools, ",".join(parts), loc(mount))
        else:
            fact = None
        if fact is not None:
            facts.append(fact)
    run_args = doc.get("runArgs")
    if run_args is not None and run_args.is_seq:
        words: list[Word] = []
        for arg in run_args.seq():
            words.extend(split_words(arg.text(), loc(arg)) if " " in arg.text() and not arg.text().startswith("--") else
                         [Word(arg.text(), loc(arg))])
        facts.extend(docker_option_facts(tools, words))
    user = doc.get("remoteUser") or doc.get("containerUser")
    if user is not None:
        facts.append(_user_fact(user.text(), loc(user)))
    for key in ("containerEnv", "remoteEnv"):
        env = doc.get(key)
        for name, value in (env.items() if env is not None else []):
            ref = re.search(r"\$\{localEnv:([A-Za-z_][A-Za-z0-9_]*)", value.text())
            if ref:
                fact = tools.secret_fact(name, loc(value), secret_ref=ref.group(1))
                if fact is not None and (fact.kind == FactKind.SECRET_MODEL_KEY or credential_like(tools, name, ref.group(1))):
                    facts.append(fact)
    egress = network_egress(facts)
    if egress not in (Egress.HOST, Egress.NONE):
        firewall = _firewall_command(tools.catalog, doc, src)
        if firewall is not None:
            facts.append(firewall)
        if egress is None:
            egress = Egress.OPEN
            facts.append(Fact(FactKind.NETWORK_DEFAULT, "the devcontainer's default network", site_loc))
    site = tools.make_site(agent=spec, location=site_loc, surface="devcontainer", launcher="devcontainer",
                     command=f"{spec.name} in the dev container", boundary=Boundary.CONTAINER,
                     tool="devcontainer", env=EnvMode.MINIMAL, egress=egress, facts=facts)
    yield site, ()


def _firewall_command(cat: Catalog, doc: Node, src) -> Fact | None:
    for key in _devcontainer(cat).get("lifecycle_commands") or ():
        node = doc.get(key)
        if node is None:
            continue
        for text_node in [n for n in node.walk() if n.is_scalar and isinstance(n.value, str)]:
            m = re.search(r"([\w./${}:-]*firewall[\w.-]*\.sh)", text_node.text())
            if m:
                return Fact(FactKind.FIREWALL_SCRIPT, m.group(1), src.loc(text_node.anchor))
    return None


def dockerfile_path_of(compose_path: str, svc: Node) -> str | None:
    build = svc.get("build")
    if build is None:
        return None
    base = posixpath.dirname(compose_path)
    if build.is_scalar:
        context, dockerfile = build.text(), "Dockerfile"
    else:
        context = build.get("context").text() if build.get("context") is not None else "."
        dockerfile = build.get("dockerfile").text() if build.get("dockerfile") is not None else "Dockerfile"
    if "://" in context or context.startswith("git@"):
        return None
    return posixpath.normpath(posixpath.join(base, context, dockerfile))
