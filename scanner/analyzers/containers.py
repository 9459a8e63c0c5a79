"""Containers: Dockerfile, compose files and devcontainer.json.

Each surface is translated into the judge's fact vocabulary (mount-<kind>-<ro|rw>, network-*,
privileged, cap-add, user-root, image, image-digest, env-file, secret-*), anchored at the exact
line of the key or value, and judged as a container boundary.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator

from scanner.analyzers.base import Analysis
from scanner.analyzers.cfgjudge import (agent_by_name, agent_in_image, catalog, make_site, read, read_shell, secret_fact,
                                        split_words, tools)
from scanner.analyzers.cfgtree import Node, load_json, load_yaml, strings
from scanner.commandline import Invocation, Unresolved, Word
from scanner.model import Boundary, Egress, EnvMode, Fact, Location

_PROXY = re.compile(r"proxy|squid|tinyproxy|envoy|privoxy|mitm|egress|smokescreen|gateway", re.I)


# -- shared helpers ----------------------------------------------------------------------------


def image_facts(image: str, loc: Location) -> list[Fact]:
    facts = [Fact("image", image, loc)]
    if "@sha256:" in image:
        facts.append(Fact("image-digest", image, loc))
    return facts


def host_kind(src: str) -> str:
    """Classify the host side of a mount with the shared containment vocabulary."""
    judge = tools()[2]
    norm = (src.replace("${localEnv:HOME}", "$HOME").replace("${localEnv:USERPROFILE}", "$HOME")
            .replace("${env:HOME}", "$HOME").replace("${localWorkspaceFolder}", ".")
            .replace("${containerWorkspaceFolder}", "."))
    if norm.startswith("./") and norm.rstrip("/") == ".":
        norm = "."
    return judge._classify_host_path(norm)


def volume_fact(spec: str, loc: Location, readonly: bool | None = None) -> Fact | None:
    """`src:dst[:mode]` (docker -v / compose short syntax)."""
    parts = spec.split(":")
    if len(parts) < 2:
        return None
    src = parts[0]
    ro = readonly if readonly is not None else any(p in ("ro", "readonly") or p.startswith("ro,") for p in parts[2:])
    kind = host_kind(src)
    if kind == "volume":
        return None
    return Fact(f"mount-{kind}-{'ro' if ro else 'rw'}", src, loc)


def mount_fact(spec: str, loc: Location) -> Fact | None:
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
    kind = host_kind(src)
    if kind == "volume":
        return None
    return Fact(f"mount-{kind}-{'ro' if ro else 'rw'}", src, loc)


def docker_option_facts(options: str | list[Word], loc: Location | None = None) -> list[Fact]:
    """Facts from `docker run` flags (job container options, devcontainer runArgs)."""
    words = split_words(options, loc) if isinstance(options, str) else list(options)
    facts, env_names = tools()[2].container_flag_facts(words)
    for name in env_names:
        fact = secret_fact(name.text, name.location)
        if fact is not None:
            facts.append(fact)
    return facts


def _user_fact(user: str, loc: Location) -> Fact:
    if user.split(":", 1)[0].strip() in ("0", "root"):
        return Fact("user-root", user, loc)
    return Fact("user-nonroot", user, loc)


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


def dockerfile_invocations(src, launches) -> Iterator[tuple[int, str, Invocation | Unresolved]]:
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
            found = read([*entry, *words] if name == "CMD" and entry else words)
        else:
            found = read_shell(args, loc)
        for item in found:
            if isinstance(item, Invocation) and name == "RUN":
                first = item.args[0].text if item.args else ""
                if not item.args or first in catalog().non_session_args:
                    continue
            yield line, name, item


def analyze_dockerfile(analysis: Analysis):
    src = analysis.source
    summary = dockerfile_summary(src.text)
    for line, name, item in dockerfile_invocations(src, summary["launches"]):
        if not isinstance(item, Invocation):
            continue
        loc = src.loc(line)
        facts: list[Fact] = []
        if summary["base"]:
            facts.extend(image_facts(summary["base"], src.loc(summary["base_line"])))
        if summary["user"]:
            facts.append(_user_fact(summary["user"], src.loc(summary["user_line"])))
        elif summary["base_line"]:
            facts.append(Fact("user-root", "no USER: the base image's default user, root for most images",
                              src.loc(summary["base_line"])))
        unknowns = [Fact("unknown", f"how the image built from `{src.path}` is run (its mounts, network and user)", loc)]
        site = make_site(agent=item.agent, location=loc, surface="dockerfile", launcher=f"Dockerfile {name}",
                         command=" ".join(w.text for w in item.all_words), boundary=Boundary.CONTAINER,
                         tool="container image", env=EnvMode.MINIMAL, egress=Egress.UNKNOWN,
                         facts=facts, unknowns=unknowns, invocation=item)
        yield site, ()


# -- compose -----------------------------------------------------------------------------------


def compose_service_facts(src, doc: Node, name: str, svc: Node) -> tuple[list[Fact], Egress]:
    loc = lambda n: src.loc(n.anchor if isinstance(n, Node) else n)  # noqa: E731
    facts: list[Fact] = []
    image = svc.get("image")
    if image is not None and svc.get("build") is None:
        facts.extend(image_facts(image.text(), loc(image)))
    for vol in (svc.get("volumes").seq() if svc.get("volumes") is not None else []):
        if vol.is_scalar:
            fact = volume_fact(vol.text(), loc(vol))
        elif vol.is_map:
            src_node = vol.get("source")
            if (vol.get("type").text() if vol.get("type") is not None else "volume") != "bind" or src_node is None:
                fact = None
            else:
                ro = vol.get("read_only")
                kind = host_kind(src_node.text())
                fact = None if kind == "volume" else Fact(
                    f"mount-{kind}-{'ro' if ro is not None and ro.truthy() else 'rw'}", src_node.text(), loc(src_node))
        else:
            fact = None
        if fact is not None:
            facts.append(fact)
    priv = svc.get("privileged")
    if priv is not None and priv.truthy():
        facts.append(Fact("privileged", "privileged: true", loc(priv)))
    for key in ("pid", "ipc", "uts", "userns_mode", "cgroup"):
        node = svc.get(key)
        if node is not None and node.text() == "host":
            facts.append(Fact("host-namespace", f"{key}: host", loc(node)))
    for cap in strings(svc.get("cap_add")):
        facts.append(Fact("cap-add", cap.text().upper().removeprefix("CAP_"), loc(cap)))
    for cap in strings(svc.get("cap_drop")):
        facts.append(Fact("cap-drop", cap.text().upper().removeprefix("CAP_"), loc(cap)))
    for opt in strings(svc.get("security_opt")):
        text = opt.text()
        if text.startswith("no-new-privileges") and not text.endswith("false"):
            facts.append(Fact("no-new-privileges", text, loc(opt)))
        elif "unconfined" in text:
            facts.append(Fact("unconfined", text, loc(opt)))
    user = svc.get("user")
    if user is not None:
        facts.append(_user_fact(user.text(), loc(user)))
    ro = svc.get("read_only")
    if ro is not None and ro.truthy():
        facts.append(Fact("read-only-rootfs", "read_only: true", loc(ro)))
    for env_file in strings(svc.get("env_file")) + [n.get("path") for n in (svc.get("env_file").seq() if svc.get("env_file") is not None and svc.get("env_file").is_seq else []) if n.is_map and n.get("path") is not None]:
        facts.append(Fact("env-file", env_file.text(), loc(env_file)))
    env = svc.get("environment")
    if env is not None:
        entries: list[tuple[str, Node]] = []
        if env.is_map:
            entries = list(env.items())
        else:
            entries = [(n.text().split("=", 1)[0], n) for n in env.seq() if n.is_scalar]
        for key, node in entries:
            ref = re.search(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", node.text())
            fact = secret_fact(key, loc(node), secret_ref=ref.group(1) if ref and ref.group(1) != key else "")
            if fact is not None and (fact.kind == "secret-model-key" or credential_like(key, ref.group(1) if ref else "")):
                facts.append(fact)
    for sec in (svc.get("secrets").seq() if svc.get("secrets") is not None else []):
        sname = sec.text() if sec.is_scalar else (sec.get("source").text() if sec.get("source") is not None else "")
        fact = secret_fact(sname.upper(), loc(sec))
        if fact is not None:
            facts.append(fact)
    for key in ("mem_limit", "cpus", "pids_limit", "memswap_limit"):
        node = svc.get(key)
        if node is not None:
            facts.append(Fact("limit", f"{key}: {node.text()}", loc(node)))
    limits = svc.path("deploy", "resources", "limits")
    if limits is not None and limits.is_map:
        facts.append(Fact("limit", "deploy.resources.limits", loc(limits)))
    return facts, _compose_egress(src, doc, name, svc, facts)


def credential_like(key: str, ref: str) -> bool:
    from scanner.analyzers.cfgjudge import credential_kind

    return bool(credential_kind(key) or (ref and credential_kind(ref)))


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
            facts.append(Fact("network-host", "network_mode: host", src.loc(mode.anchor)))
            return Egress.HOST
        if text == "none":
            facts.append(Fact("network-none", "network_mode: none", src.loc(mode.anchor)))
            return Egress.NONE
        facts.append(Fact("network-named", text, src.loc(mode.anchor)))
        return Egress.UNKNOWN
    nets = _networks_of(svc)
    top = doc.get("networks")
    if not nets:
        facts.append(Fact("network-default", "the project's default network", src.loc(svc.anchor)))
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
            facts.append(Fact("network-named", net, src.loc(nets[net].anchor)))
            return Egress.UNKNOWN
    open_nets = [net for net, state in states.items() if state is False]
    if open_nets:
        facts.append(Fact("network-default", f"network `{open_nets[0]}` is not internal", src.loc(nets[open_nets[0]].anchor)))
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
            facts.append(Fact("egress-allow-list", f"internal network; only exit is the proxy `{other_name}`",
                              src.loc(other.anchor)))
            return Egress.ALLOW_LIST
        facts.append(Fact("network-default", f"`{other_name}` bridges the internal network to the outside",
                          src.loc(other.anchor)))
        return Egress.OPEN
    facts.append(Fact("network-none", "internal networks only", src.loc(next(iter(nets.values())).anchor)))
    return Egress.NONE


def compose_agent(src, svc: Node) -> tuple[Invocation | None, list[Unresolved]]:
    loc = lambda n: src.loc(n.anchor if n.is_scalar and not n.key_line else n.line)  # noqa: E731
    entry = _words_of(svc.get("entrypoint"), loc)
    command = _words_of(svc.get("command"), loc)
    unresolved: list[Unresolved] = []
    for words in ([*entry, *command], command):
        for item in read(words):
            if isinstance(item, Invocation):
                return item, []
            if isinstance(item, Unresolved):
                unresolved.append(item)
    image = svc.get("image")
    if image is not None:
        spec = agent_in_image(image.text())
        if spec is not None:
            word = Word(image.text(), src.loc(image.anchor))
            return Invocation(spec, word, tuple(command), ()), []
    return None, unresolved


def compose_site(src, doc: Node, name: str, svc: Node, inv: Invocation, extra: list[Fact] = ()):
    facts, egress = compose_service_facts(src, doc, name, svc)
    facts = [*extra, *facts]
    if svc.get("user") is not None:
        facts = [f for f in facts if not (f in extra and f.kind == "user-root")]
    loc = src.loc(svc.anchor)
    return make_site(agent=inv.agent, location=loc, surface="compose", launcher=f"compose service `{name}`",
                     command=" ".join(w.text for w in inv.all_words), boundary=Boundary.CONTAINER,
                     tool=f"compose service `{name}`", env=EnvMode.MINIMAL, egress=egress, facts=facts,
                     invocation=inv)


def analyze_compose(analysis: Analysis):
    src = analysis.source
    doc = load_yaml(src.text, analysis.notes)
    services = doc.get("services") if doc is not None and doc.is_map else None
    if services is None or not services.is_map:
        return
    for name, svc in services.items():
        if not svc.is_map:
            continue
        inv, _unresolved = compose_agent(src, svc)
        if inv is None:
            continue
        yield compose_site(src, doc, name, svc, inv), ()


# -- devcontainer ------------------------------------------------------------------------------

_LIFECYCLE = ("onCreateCommand", "updateContentCommand", "postCreateCommand", "postStartCommand", "postAttachCommand",
              "initializeCommand")
_CONFIG_HINTS = {".claude": "claude-code", "CLAUDE_CONFIG_DIR": "claude-code", ".codex": "codex", "CODEX_HOME": "codex",
                 ".gemini": "gemini-cli", "GEMINI_API_KEY": "gemini-cli", "ANTHROPIC_API_KEY": "claude-code"}


def _devcontainer_agent(doc: Node, src):
    cat = tools()[0]
    features = doc.get("features")
    for key, node in (features.items() if features is not None else []):
        base = key.split(":", 1)[0] if not key.startswith("ghcr.io") else key.rsplit(":", 1)[0]
        for part in re.split(r"[/]", base):
            spec = agent_by_name(part) or cat.by_binary.get(part.split("-")[0]) if part else None
            if part in ("claude-code", "codex", "gemini-cli", "aider", "opencode", "copilot-cli"):
                spec = agent_by_name(part) or spec
            if spec is not None and part not in ("devcontainers", "features", "anthropics", "ghcr.io"):
                return spec, src.loc(node.anchor)
    for key in _LIFECYCLE:
        node = doc.get(key)
        if node is None:
            continue
        for text_node in [n for n in node.walk() if n.is_scalar and isinstance(n.value, str)]:
            for pkg, spec in cat.by_package.items():
                if pkg in text_node.text():
                    return spec, src.loc(text_node.anchor)
            for item in read_shell(text_node.text(), src.loc(text_node.anchor)):
                if isinstance(item, Invocation):
                    return item.agent, src.loc(text_node.anchor)
    for node in doc.walk():
        if node.is_scalar and isinstance(node.value, str):
            for hint, agent in _CONFIG_HINTS.items():
                if hint in node.text():
                    return agent_by_name(agent), src.loc(node.anchor)
        if node.is_map:
            for key, child in node.items():
                if key in _CONFIG_HINTS:
                    return agent_by_name(_CONFIG_HINTS[key]), src.loc(child.anchor)
    return None, None


def analyze_devcontainer(analysis: Analysis):
    src = analysis.source
    doc = load_json(src.text, analysis.notes)
    if doc is None or not doc.is_map:
        return
    spec, agent_loc = _devcontainer_agent(doc, src)
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
        fact = mount_fact(wsm.text(), loc(wsm))
        if fact is not None:
            facts.append(fact)
    elif doc.get("dockerComposeFile") is None:
        facts.append(Fact("mount-target-rw", "${localWorkspaceFolder} (the default workspace mount)", site_loc))
    for mount in (doc.get("mounts").seq() if doc.get("mounts") is not None else []):
        if mount.is_scalar:
            fact = mount_fact(mount.text(), loc(mount))
        elif mount.is_map:
            parts = [f"{k}={v.text()}" for k, v in mount.items()]
            fact = mount_fact(",".join(parts), loc(mount))
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
        facts.extend(docker_option_facts(words))
    user = doc.get("remoteUser") or doc.get("containerUser")
    if user is not None:
        facts.append(_user_fact(user.text(), loc(user)))
    for key in ("containerEnv", "remoteEnv"):
        env = doc.get(key)
        for name, value in (env.items() if env is not None else []):
            ref = re.search(r"\$\{localEnv:([A-Za-z_][A-Za-z0-9_]*)", value.text())
            if ref:
                fact = secret_fact(name, loc(value), secret_ref=ref.group(1))
                if fact is not None and (fact.kind == "secret-model-key" or credential_like(name, ref.group(1))):
                    facts.append(fact)
    egress = Egress.OPEN
    if any(f.kind == "network-host" for f in facts):
        egress = Egress.HOST
    elif any(f.kind == "network-none" for f in facts):
        egress = Egress.NONE
    else:
        firewall = _firewall_command(doc, src)
        if firewall is not None:
            facts.append(firewall)
        named = [f for f in facts if f.kind == "network-named"]
        if named:
            egress = Egress.UNKNOWN
        else:
            facts.append(Fact("network-default", "the devcontainer's default network", site_loc))
    site = make_site(agent=spec, location=site_loc, surface="devcontainer", launcher="devcontainer",
                     command=f"{spec.name} in the dev container", boundary=Boundary.CONTAINER,
                     tool="devcontainer", env=EnvMode.MINIMAL, egress=egress, facts=facts)
    yield site, ()


def _firewall_command(doc: Node, src) -> Fact | None:
    for key in _LIFECYCLE:
        node = doc.get(key)
        if node is None:
            continue
        for text_node in [n for n in node.walk() if n.is_scalar and isinstance(n.value, str)]:
            m = re.search(r"([\w./${}:-]*firewall[\w.-]*\.sh)", text_node.text())
            if m:
                return Fact("firewall-script", m.group(1), src.loc(text_node.anchor))
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
