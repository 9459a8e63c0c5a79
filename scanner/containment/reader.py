"""Judge a launch's containment from its wrappers, its flags and its environment.

Input: an `Invocation` (what runs, behind which wrappers) and a `LaunchContext` (what the
language front end saw around it: the env it passes, a timeout). Output: a `Containment` whose
facts each point at the line that shows them.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field

from scanner.catalog import Catalog, FlagSpec
from scanner.launch.commandline import Invocation, Layer, Word, basename, split_flag
from scanner.model import Boundary, Containment, Egress, EnvMode, Fact, FactKind, Location


@dataclass(frozen=True)
class EnvInfo:
    """The environment a front end saw handed to the launch."""

    mode: EnvMode
    location: Location
    detail: str
    names: tuple[Word, ...] = ()  # names set explicitly (the keys of a minimal mapping, or additions)


@dataclass(frozen=True)
class LaunchContext:
    surface: str
    launcher: str
    location: Location
    env: EnvInfo
    timeout: Location | None = None
    facts: tuple[Fact, ...] = ()
    unknowns: tuple[Fact, ...] = ()


@dataclass
class _Acc:
    boundary: Boundary = Boundary.NONE
    tool: str = ""
    env: EnvMode = EnvMode.INHERITED
    env_fact: Fact | None = None
    egress: Egress = Egress.OPEN
    facts: list[Fact] = field(default_factory=list)
    unknowns: list[Fact] = field(default_factory=list)

    def add(self, kind: FactKind | str, value: str, word: Word | Location) -> None:
        loc = word.location if isinstance(word, Word) else word
        self.facts.append(Fact(kind, value, loc))

    def unknown(self, value: str, word: Word | Location) -> None:
        loc = word.location if isinstance(word, Word) else word
        self.unknowns.append(Fact(FactKind.UNKNOWN, value, loc))


def network_egress(facts: Sequence[Fact]) -> Egress | None:
    """What a container's network facts say of its egress: the host's network, none, or a network
    defined elsewhere (unknown); None when none of them was set."""
    kinds = {f.kind for f in facts}
    for kind, egress in ((FactKind.NETWORK_HOST, Egress.HOST), (FactKind.NETWORK_NONE, Egress.NONE),
                         (FactKind.NETWORK_NAMED, Egress.UNKNOWN)):
        if kind in kinds:
            return egress
    return None


class ContainmentJudge:
    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        c = catalog.containment
        self.home = c.list("home_spellings")
        self.target = set(c.list("target_spellings"))
        self.sockets = set(c.list("docker_socket"))
        self.cred_paths = c.list("credential_paths")
        self.env_files = set(c.list("env_files"))
        self.escape_caps = set(c.list("escape_caps"))
        self.identity = c.section("identity")
        self.run_value_flags = set(c.section("container_run_flags").get("value") or ())
        self.passthrough = c.section("passthrough")

    def judge(self, inv: Invocation, ctx: LaunchContext) -> Containment:
        acc = _Acc()
        acc.env = ctx.env.mode
        acc.env_fact = Fact(FactKind.env(ctx.env.mode), ctx.env.detail, ctx.env.location)
        env_names = list(ctx.env.names)
        if ctx.timeout is not None:
            acc.add(FactKind.TIMEOUT, "timeout", ctx.timeout)
        acc.facts.extend(ctx.facts)
        acc.unknowns.extend(ctx.unknowns)
        for word in inv.assignments:
            env_names.append(Word(word.text.split("=", 1)[0], word.location))
        for layer in inv.layers:
            self._layer(layer, acc, env_names)
        self._agent_flags(inv, acc)
        for word in env_names:
            kind = self.catalog.credential_kind(word.text)
            if kind:
                acc.add(FactKind.secret(kind), word.text, word)
        if acc.env_fact is not None:
            acc.facts.insert(0, Fact(FactKind.env(acc.env), acc.env_fact.value, acc.env_fact.location))
        return Containment(
            boundary=acc.boundary,
            boundary_tool=acc.tool,
            env=acc.env,
            egress=acc.egress if acc.boundary is not Boundary.NONE else Egress.OPEN,
            facts=tuple(acc.facts),
            unknowns=tuple(acc.unknowns),
        )

    def container_flag_facts(self, words: Sequence[Word]) -> tuple[list[Fact], list[Word]]:
        """Facts from bare `docker run` flags (a job container's options, a devcontainer's runArgs)
        and the environment names they pass, read exactly as a `docker run` wrapper is read."""
        if not words:
            return [], []
        acc = _Acc()
        env_names: list[Word] = []
        head = words[0]
        # The flag reader expects the image last; these flag lists have none.
        self._container(Layer("docker run", "container", (*words, Word("<image>", head.location)), head), acc, env_names)
        return [f for f in acc.facts if f.kind not in ("image", "network-default")], env_names

    # -- wrappers ----------------------------------------------------------------------

    def _set_boundary(self, acc: _Acc, boundary: Boundary, tool: str) -> None:
        # The innermost real boundary wins only if nothing stronger is already outside it.
        if boundary.strength >= acc.boundary.strength:
            acc.boundary, acc.tool = boundary, tool

    def _layer(self, layer: Layer, acc: _Acc, env_names: list[Word]) -> None:
        if layer.kind == "container":
            self._container(layer, acc, env_names)
        elif layer.kind == "container-exec":
            self._set_boundary(acc, Boundary.CONTAINER, layer.tool)
            acc.env, acc.env_fact = EnvMode.MINIMAL, None
            name = layer.words[-1] if layer.words else layer.head
            acc.unknown(f"how the container `{name.text}` was started (its mounts, network and user)", name)
            acc.egress = Egress.UNKNOWN
        elif layer.kind == "vm":
            self._set_boundary(acc, Boundary.VM, layer.tool)
            acc.env, acc.env_fact = EnvMode.MINIMAL, None
            acc.egress = Egress.ALLOW_LIST
            acc.add(FactKind.EPHEMERAL, layer.tool, layer.head)
        elif layer.kind == "os-sandbox":
            if layer.tool == "bwrap":
                self._bwrap(layer, acc, env_names)
            else:
                self._os_sandbox(layer, acc)
        elif layer.kind == "identity":
            self._identity(layer, acc)
        elif layer.kind == FactKind.TIMEOUT:
            acc.add(FactKind.TIMEOUT, layer.tool, layer.head)
        elif layer.kind == "passthrough" and layer.tool == "env":
            clears = set(self.passthrough["env"].get("clears_env") or ())
            for word in layer.words:
                if word.text in clears:
                    acc.env, acc.env_fact = EnvMode.MINIMAL, Fact(FactKind.ENV_MINIMAL, "env -i clears the environment", word.location)
                elif "=" in word.text and not word.text.startswith("-"):
                    env_names.append(Word(word.text.split("=", 1)[0], word.location))

    def _classify_host_path(self, src: str) -> str:
        if src in self.sockets or src.endswith("/docker.sock") or src.endswith("/podman.sock"):
            return "docker-socket"
        clean = src.rstrip("/") or "/"
        if clean == "/":
            return "host-root"
        for spelling in self.target:
            if clean == spelling.rstrip("/") or clean == spelling:
                return "target"
        for cred in self.cred_paths:
            for home in ("~", "$HOME", "${HOME}"):
                candidate = cred.replace("~", home, 1)
                if clean == candidate or clean.startswith(candidate + "/"):
                    return "credentials"
            tail = cred[1:]  # "/.ssh"
            if clean.endswith(tail) and (clean.startswith("/home/") or clean.startswith("/root") or clean.startswith("/Users/")):
                return "credentials"
        for home in self.home:
            if fnmatch.fnmatchcase(clean, home):
                return "home"
        if clean.startswith(("$PWD/", "${PWD}/", "./", "$(pwd)/", "${GITHUB_WORKSPACE}/")):
            return "target-part"
        if clean in self.env_files or basename(clean) in self.env_files:
            return "env-file"
        if clean.startswith("/") or clean.startswith("$") or clean.startswith("~") or clean.startswith("."):
            return "host-path"
        return "volume"  # a named volume, not a host path

    def _mount(self, acc: _Acc, word: Word, src: str, readonly: bool) -> None:
        kind = self._classify_host_path(src)
        if kind == "volume":
            return
        acc.add(FactKind.mount(kind, not readonly), src, word)

    def _container(self, layer: Layer, acc: _Acc, env_names: list[Word]) -> None:
        self._set_boundary(acc, Boundary.CONTAINER, layer.tool)
        acc.env, acc.env_fact = EnvMode.MINIMAL, None
        acc.egress = Egress.OPEN
        words = list(layer.words)
        user: Word | None = None
        network_seen = False
        i = 0
        while i < len(words) - 1:  # the last word is the image
            word = words[i]
            flag, value = split_flag(word.text)
            takes = flag in self.run_value_flags
            value_word = word
            if takes and value is None and i + 1 < len(words) - 0:
                value_word = words[i + 1]
                value = value_word.text
                i += 1
            i += 1
            if value is None:
                value = ""
            if flag in ("-v", "--volume"):
                parts = value.split(":")
                if len(parts) >= 2:
                    self._mount(acc, value_word, parts[0], "ro" in parts[2:] or "readonly" in parts[2:])
            elif flag == "--mount":
                opts = dict(p.split("=", 1) if "=" in p else (p, "true") for p in value.split(","))
                src = opts.get("source") or opts.get("src") or ""
                if opts.get("type", "volume") == "bind" and src:
                    ro = opts.get("readonly", opts.get("ro", "false")) in ("true", "1", "")
                    self._mount(acc, value_word, src, ro or "readonly" in opts or "ro" in opts)
            elif flag in ("-e", "--env"):
                env_names.append(Word(value.split("=", 1)[0], value_word.location, value_word.dynamic))
            elif flag == "--env-file":
                acc.add(FactKind.ENV_FILE, value, value_word)
            elif flag in ("--network", "--net"):
                network_seen = True
                if value_word.dynamic:
                    acc.egress = Egress.UNKNOWN
                    acc.unknown(f"the network `{value}` the container joins", value_word)
                elif value == "none":
                    acc.egress = Egress.NONE
                    acc.add(FactKind.NETWORK_NONE, value, value_word)
                elif value == "host":
                    acc.egress = Egress.HOST
                    acc.add(FactKind.NETWORK_HOST, value, value_word)
                elif value in ("bridge", "default"):
                    acc.egress = Egress.OPEN
                else:
                    acc.egress = Egress.UNKNOWN
                    acc.add(FactKind.NETWORK_NAMED, value, value_word)
            elif flag in ("-u", "--user"):
                user = value_word
            elif flag == "--cap-add":
                acc.add(FactKind.CAP_ADD, value.upper().removeprefix("CAP_"), value_word)
            elif flag == "--cap-drop":
                acc.add(FactKind.CAP_DROP, value.upper().removeprefix("CAP_"), value_word)
            elif flag == "--privileged":
                acc.add(FactKind.PRIVILEGED, "--privileged", word)
            elif flag in ("--pid", "--ipc", "--uts", "--userns", "--cgroupns") and value == "host":
                acc.add(FactKind.HOST_NAMESPACE, f"{flag}=host", value_word)
            elif flag == "--security-opt":
                if value.startswith("no-new-privileges") and not value.endswith("false"):
                    acc.add(FactKind.NO_NEW_PRIVILEGES, value, value_word)
                elif "unconfined" in value:
                    acc.add(FactKind.UNCONFINED, value, value_word)
            elif flag == "--read-only":
                acc.add(FactKind.READ_ONLY_ROOTFS, flag, word)
            elif flag == "--rm":
                acc.add(FactKind.EPHEMERAL, flag, word)
            elif flag in ("-m", "--memory", "--cpus", "--pids-limit"):
                acc.add(FactKind.LIMIT, f"{flag} {value}", value_word)
            elif flag == "--tmpfs":
                acc.add(FactKind.TMPFS, value, value_word)
            elif flag == "--device":
                acc.add(FactKind.DEVICE, value, value_word)
        if not network_seen:
            acc.add(FactKind.NETWORK_DEFAULT, "default bridge network", layer.head)
        if user is not None:
            if user.dynamic:
                acc.add(FactKind.USER_NONROOT, user.text, user)
            elif user.text.split(":", 1)[0] in ("0", "root"):
                acc.add(FactKind.USER_ROOT, user.text, user)
            else:
                acc.add(FactKind.USER_NONROOT, user.text, user)
        image = words[-1] if words else layer.head
        acc.add(FactKind.IMAGE, image.text, image)
        if "@sha256:" in image.text:
            acc.add(FactKind.IMAGE_DIGEST, image.text, image)

    def _bwrap(self, layer: Layer, acc: _Acc, env_names: list[Word]) -> None:
        self._set_boundary(acc, Boundary.OS_SANDBOX, "bwrap")
        words = list(layer.words)
        net_shared = True
        i = 0
        while i < len(words):
            text = words[i].text
            if text in ("--bind", "--bind-try", "--dev-bind", "--dev-bind-try") and i + 2 < len(words) + 1:
                if i + 1 < len(words):
                    self._mount(acc, words[i + 1], words[i + 1].text, readonly=False)
                i += 3
                continue
            if text in ("--ro-bind", "--ro-bind-try") and i + 1 < len(words):
                self._mount(acc, words[i + 1], words[i + 1].text, readonly=True)
                i += 3
                continue
            if text in ("--unshare-all", "--unshare-net"):
                net_shared = False
                acc.add(FactKind.NETWORK_NONE, text, words[i])
            elif text == "--share-net":
                net_shared = True
                acc.add(FactKind.NETWORK_SHARED, text, words[i])
            elif text == "--clearenv":
                acc.env, acc.env_fact = EnvMode.MINIMAL, Fact(FactKind.ENV_MINIMAL, "--clearenv", words[i].location)
            elif text == "--setenv" and i + 1 < len(words):
                env_names.append(words[i + 1])
                i += 3
                continue
            elif text == "--cap-add" and i + 1 < len(words):
                acc.add(FactKind.CAP_ADD, words[i + 1].text.upper().removeprefix("CAP_"), words[i + 1])
            elif text == "--die-with-parent":
                acc.add(FactKind.EPHEMERAL, text, words[i])
            elif text == "--uid" and i + 1 < len(words) and words[i + 1].text == "0":
                acc.add(FactKind.USER_ROOT, "0", words[i + 1])
            i += 1
        acc.egress = Egress.OPEN if net_shared else Egress.NONE
        if acc.env is EnvMode.INHERITED:
            acc.add(FactKind.ENV_PASSES_THROUGH, "bwrap keeps the caller's environment without --clearenv", layer.head)

    def _os_sandbox(self, layer: Layer, acc: _Acc) -> None:
        self._set_boundary(acc, Boundary.OS_SANDBOX, layer.tool)
        texts = [w.text for w in layer.words]
        # What the sandbox gives with no network flag is rules data; the flags that change it are read here.
        acc.egress = self.catalog.sandbox_egress(layer.tool) or Egress.UNKNOWN
        if layer.tool == "firejail" and "--net=none" in texts:
            acc.egress = Egress.NONE
        elif layer.tool == "systemd-run":
            acc.env, acc.env_fact = EnvMode.MINIMAL, None
            props = " ".join(texts)
            if "PrivateNetwork=yes" in props or "PrivateNetwork=true" in props:
                acc.egress = Egress.NONE
            if "RuntimeMaxSec" in props:
                acc.add(FactKind.TIMEOUT, "RuntimeMaxSec", layer.head)
        if acc.egress is Egress.UNKNOWN:
            acc.add(FactKind.NETWORK_PROFILE, f"egress decided by the {layer.tool} profile", layer.head)

    def _identity(self, layer: Layer, acc: _Acc) -> None:
        table = self.identity.get(layer.tool) or {}
        user_flags = set(table.get("user_flags") or ())
        keeps_env = set(table.get("keeps_env") or ())
        user: Word | None = None
        keep = False
        words = list(layer.words)
        for i, word in enumerate(words):
            flag, value = split_flag(word.text)
            if flag in user_flags:
                if value is not None:
                    user = Word(value, word.location, word.dynamic)
                elif i + 1 < len(words):
                    user = words[i + 1]
            if flag in keeps_env or flag.startswith("--preserve-env"):
                keep = True
        if layer.tool == "su" and words and not words[-1].text.startswith("-"):
            user = words[-1]
        if user is None or user.text in ("root", "0"):
            acc.add(FactKind.USER_ROOT, f"{layer.tool} runs it as root", layer.head)
            return
        self._set_boundary(acc, Boundary.OTHER_USER, f"{layer.tool} -u {user.text}")
        acc.add(FactKind.OTHER_USER, user.text, user)
        if not keep and layer.tool in ("sudo", "doas", "runuser", "su"):
            acc.env, acc.env_fact = EnvMode.MINIMAL, Fact(FactKind.ENV_MINIMAL, f"{layer.tool} resets the environment", layer.head.location)

    # -- the agent's own switches --------------------------------------------------------

    def _agent_flags(self, inv: Invocation, acc: _Acc) -> None:
        spec = inv.agent
        sandbox_on = spec.sandbox_default_on
        args = list(inv.args)
        for i, word in enumerate(args):
            flag, value = split_flag(word.text)
            nxt = args[i + 1] if i + 1 < len(args) else None
            for fs in spec.bypass:
                if _flag_matches(fs, flag, value, nxt):
                    acc.add(FactKind.BYPASS_FLAG, fs.spelling() if fs.takes_value else fs.flag, word)
                    break
            for fs in spec.sandbox_disable:
                if _flag_matches(fs, flag, value, nxt):
                    sandbox_on = False
            for fs in spec.sandbox_enable:
                if _flag_matches(fs, flag, value, nxt):
                    sandbox_on = True
                    acc.add(FactKind.AGENT_SANDBOX_FLAG, word.text, word)
        for word in inv.assignments:
            if word.text.startswith("IS_SANDBOX="):
                acc.add(FactKind.SELF_DECLARED_SANDBOX, word.text, word)
        if spec.default_bypass and not any(f.kind == FactKind.BYPASS_FLAG for f in acc.facts):
            explicit_off = any(w.text in ("--auto-approve=false",) or (w.text == "--auto-approve" and i + 1 < len(args) and args[i + 1].text == "false") for i, w in enumerate(args))
            if not explicit_off:
                acc.add(FactKind.BYPASS_DEFAULT, spec.default_bypass, inv.agent_word)
        if sandbox_on:
            acc.add(FactKind.AGENT_SANDBOX, f"{spec.name}'s own sandbox is on", inv.agent_word)
            self._set_boundary(acc, Boundary.AGENT_SANDBOX, f"{spec.name} sandbox")
            if acc.boundary is Boundary.AGENT_SANDBOX:
                acc.egress = Egress.NONE if spec.id == "codex" else Egress.UNKNOWN


def _flag_matches(fs: FlagSpec, flag: str, value: str | None, nxt: Word | None) -> bool:
    if flag != fs.flag:
        return False
    if not fs.takes_value:
        return True
    if value is None and nxt is not None:
        value = nxt.text
    return fs.matches_value(value)
