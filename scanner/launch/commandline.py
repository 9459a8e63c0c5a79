"""Read a command line the way the OS will run it: look through wrappers to find the agent.

Every language front end (Python lists, JS arrays, shell words, YAML strings) turns a launch into
a sequence of `Word`s; this module peels `sudo`, `env`, `timeout`, `npx`, `docker run`, `bwrap`,
`sh -c` and friends off the front and records each as a `Layer`, until it reaches an agent
binary from the catalog (or decides there is none).
"""

from __future__ import annotations

import posixpath
import re
from functools import lru_cache
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from scanner.catalog import AgentSpec, Catalog
from scanner.model import Location


@dataclass(frozen=True)
class Word:
    """One argv element. `text` is the literal spelling; `dynamic` marks unresolved parts."""

    text: str
    location: Location
    dynamic: bool = False


# A path spelled from the repository's root, as CI and scripts do: the rest is repo-relative.


@lru_cache(maxsize=8)
def _root_anchored(variables: tuple[str, ...]) -> re.Pattern[str]:
    """A path spelled from the repository root: `$(git rev-parse --show-toplevel)/…` or one of
    the root variables (rules/containment.yaml `root_variables`)."""
    names = "|".join(re.escape(v) for v in variables)
    return re.compile(rf"^(?:\$\(git rev-parse --show-toplevel\)|\$\{{?(?:{names})\}}?)/(?P<rest>[^$`\s]+)$")
# A path spelled from the script's own folder (`"$(dirname "$0")/run.sh"`, `${BASH_SOURCE%/*}/…`,
# `"$(cd "$(dirname "$0")" && pwd)/…"`): the rest is relative to the file the command is in.
_SELF = r"""\$(?:0|\{0\}|\{BASH_SOURCE(?:\[0\])?\})"""
_DIRNAME = rf"""\$\(dirname\s+(?:--\s+)?"?{_SELF}"?\)"""
_SCRIPT_ANCHORED = re.compile(
    rf"""^(?:{_DIRNAME}|\$\(cd\s+(?:--\s+)?"?{_DIRNAME}"?\s*&&\s*pwd(?:\s+-P)?\)"""
    r"""|\$\{(?:0|BASH_SOURCE(?:\[0\])?)%/\*\})/(?P<rest>[^$`\s]+)$""")
# The folder expression alone, as a variable holds it (`SCRIPT_DIR="$(cd "$(dirname "$0")" && pwd)"`).
SCRIPT_FOLDER = re.compile(
    rf"""^(?:{_DIRNAME}|\$\(cd\s+(?:--\s+)?"?{_DIRNAME}"?\s*&&\s*pwd(?:\s+-P)?\)|\$\{{(?:0|BASH_SOURCE(?:\[0\])?)%/\*\}})$""")
_SCRIPT_SUFFIXES = (".sh", ".bash", ".zsh", ".ksh", ".bats")


@dataclass(frozen=True)
class Layer:
    """A wrapper in front of the agent: its tool name and its own words."""

    tool: str  # "docker run", "bwrap", "sudo", "timeout", "env", "npx", "sh -c", ...
    kind: str  # "container", "vm", "os-sandbox", "identity", "timeout", "passthrough", "runner", "shell"
    words: tuple[Word, ...]
    head: Word  # the word that names the tool


@dataclass(frozen=True)
class Invocation:
    agent: AgentSpec
    agent_word: Word
    args: tuple[Word, ...]
    layers: tuple[Layer, ...]
    assignments: tuple[Word, ...] = ()  # VAR=value prefixes

    @property
    def all_words(self) -> tuple[Word, ...]:
        words: list[Word] = []
        for layer in self.layers:
            words.append(Word(layer.tool, layer.head.location))
            words.extend(layer.words)
        words.append(self.agent_word)
        words.extend(self.args)
        return tuple(words)

    def command_text(self) -> str:
        return " ".join(w.text for w in self.all_words)


@dataclass(frozen=True)
class Unresolved:
    """An agent that appears in the command line, behind a part this scan cannot resolve."""

    reason: str
    word: Word
    agent: AgentSpec | None = None


ShellSplitter = Callable[[Word], list[list[Word]]]

_SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "ash", "fish"}


def default_shell_splitter(word: Word) -> list[list[Word]]:
    """Split a shell string into commands; every sub-word keeps the string's location."""
    commands: list[list[Word]] = []
    current: list[Word] = []
    try:
        lexer = shlex.shlex(word.text, posix=True, punctuation_chars=";&|()")
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        tokens = word.text.split()
    # A string with interpolated parts (an f-string, a template literal) spells each part as `$...`:
    # its literal words stay literal. A wholly unresolved expression (`$expr`) stays opaque.
    opaque = word.dynamic and word.text.lstrip().startswith("$")
    for token in tokens:
        if token and set(token) <= set(";&|()"):
            if current:
                commands.append(current)
            current = []
            continue
        current.append(Word(token, word.location, opaque or "$" in token))
    if current:
        commands.append(current)
    return commands


def basename(text: str) -> str:
    return posixpath.basename(text.rstrip("/")) if "/" in text else text


def split_flag(text: str) -> tuple[str, str | None]:
    if text.startswith("-") and "=" in text:
        flag, _, value = text.partition("=")
        return flag, value
    return text, None


def _is_assignment(text: str) -> bool:
    name, eq, _ = text.partition("=")
    return bool(eq) and name.replace("_", "a").isalnum() and not name[:1].isdigit()


class CommandReader:
    """Resolve words to an `Invocation` using the catalog's wrapper and agent tables."""

    def __init__(self, catalog: Catalog, split_shell: ShellSplitter = default_shell_splitter):
        self.catalog = catalog
        self.split_shell = split_shell
        # Set per file by the engine: the commands of a repo script that pass "$@" on, so a
        # launch through `./run-agent.sh claude ...` is read through the script's own wrappers.
        self.scripts: Callable[[str], list[list[Word]]] | None = None
        # Every command of a repository script that is not read as a file of its own.
        self.unread_scripts: Callable[[str], list[list[Word]]] | None = None
        c = catalog.containment
        self.passthrough = c.section("passthrough")
        self.timeouts = c.section("timeouts")
        self.runners = c.section("package_runners")
        self.identity = c.section("identity")
        self.root_anchored = _root_anchored(tuple(c.list("root_variables")))
        self.engines = set(c.list("container_engines"))
        self.run_value_flags = set(c.section("container_run_flags").get("value") or ())
        self.bwrap_arity: dict[str, int] = dict(c.section("bwrap_flags").get("arity") or {})
        self.os_sandboxes = c.section("os_sandboxes")
        self.runs_nothing = set(c.list("runs_nothing"))
        self.multiplexers = c.section("multiplexers")
        # Set by `read(..., program=)`: the program the words start, when it is not an agent.
        self._program: AgentSpec | None = None

    # -- entry points -------------------------------------------------------------------

    def read(self, words: Sequence[Word], depth: int = 0, program: AgentSpec | None = None) -> Invocation | Unresolved | None:
        """The agent the words start, behind which wrappers. With `program`, the words start that
        program (an MCP server, say) wherever the wrappers end, agent or not."""
        self._program = program
        try:
            return self._read(list(words), [], [], depth)
        finally:
            self._program = None

    def read_shell(self, word: Word, depth: int = 0) -> list[Invocation | Unresolved]:
        out: list[Invocation | Unresolved] = []
        for command in self.split_shell(word):
            found = self._read(command, [], [], depth + 1)
            if found is not None:
                out.append(found)
        return out

    def agent_for(self, word: Word, rest: Sequence[Word]) -> AgentSpec | None:
        if word.dynamic:
            return None
        name = basename(word.text)
        spec = self.catalog.by_binary.get(name)
        if spec is None:
            return None
        required = spec.requires_any.get(name)
        if required:
            texts = {split_flag(w.text)[0] for w in rest} | {w.text for w in rest}
            if not texts & set(required):
                return None
        return spec

    def package_agent(self, text: str) -> AgentSpec | None:
        name = text
        if name.startswith("@"):
            scope, _, rest = name[1:].partition("/")
            name = "@" + scope + "/" + rest.split("@", 1)[0]
        else:
            name = name.split("@", 1)[0].split("==", 1)[0]
        return self.catalog.by_package.get(name)

    # -- the reader ---------------------------------------------------------------------

    def _read(
        self, words: list[Word], layers: list[Layer], assigns: list[Word], depth: int
    ) -> Invocation | Unresolved | None:
        if depth > 8:
            return None
        i = 0
        while i < len(words):
            word = words[i]
            if not word.dynamic and _is_assignment(word.text):
                assigns.append(word)
                i += 1
                continue
            break
        words = words[i:]
        if not words:
            return None
        head, rest = words[0], words[1:]
        if self.scripts is not None and head.text.startswith("$"):
            anchored = self.root_anchored.match(head.text)
            local = _from_script_folder(head) if not anchored else head
            if anchored:  # `"$(git rev-parse --show-toplevel)/sandbox/run.sh"`: a repository script
                head = Word(anchored.group("rest"), head.location)
            elif local is not head and self.scripts(local.text):
                # `"$(dirname "$0")/sandbox.sh"`, read through when the repository has the script and
                # it hands "$@" on; otherwise the program stays one this scan cannot see.
                head = local
            elif not head.dynamic:  # a folder variable folded in (`"$SCRIPT_DIR/x.sh"`): still unseen
                head = Word(head.text, head.location, True)
        if head.dynamic:
            return self._dynamic_head(head, rest, layers, assigns, depth)
        name = basename(head.text)

        spec = self.agent_for(head, rest)
        if spec is not None:
            if self._housekeeping(rest):
                return None
            return Invocation(spec, head, tuple(rest), tuple(layers), tuple(assigns))

        if name in _SHELLS:
            return self._shell(head, rest, layers, assigns, depth)
        if name in self.passthrough:
            return self._skip_flags(head, rest, layers, assigns, depth, "passthrough", self.passthrough[name])
        if name in self.timeouts:
            return self._timeout(head, rest, layers, assigns, depth, self.timeouts[name])
        if name in self.identity:
            return self._identity(head, rest, layers, assigns, depth, self.identity[name])
        if name in self.engines:
            return self._engine(head, rest, layers, assigns, depth)
        if name in self.multiplexers:
            return self._multiplexer(head, rest, layers, assigns, depth, self.multiplexers[name])
        if name == "sbx":
            return self._microvm(head, rest[1:] if rest and rest[0].text == "run" else rest, layers, assigns, "sbx run")
        if name == "bwrap":
            return self._bwrap(head, rest, layers, assigns, depth)
        two = f"{name} {rest[0].text}" if rest else ""
        if two in self.os_sandboxes:
            return self._os_sandbox(head, rest[1:], layers, assigns, depth, two)
        if name in self.os_sandboxes:
            return self._os_sandbox(head, rest, layers, assigns, depth, name)
        if name in self.runners:
            return self._runner(head, rest, layers, assigns, depth, name)
        if two in self.runners:
            return self._runner(head, rest[1:], layers, assigns, depth, two)
        three = f"{two} {rest[1].text}" if len(rest) > 1 else ""
        if three in self.runners:
            return self._runner(head, rest[2:], layers, assigns, depth, three)
        if self.scripts is not None and rest and ("/" in head.text or head.text.endswith(".sh")):
            found = self._script(head, rest, layers, assigns, depth)
            if found is not None or self._program is None:
                return found
        if self._program is not None and name not in self.runs_nothing:
            return Invocation(self._program, head, tuple(rest), tuple(layers), tuple(assigns))
        return None

    def _script(self, head, rest, layers, assigns, depth):
        layer = Layer(f"script {head.text}", "passthrough", (), head)
        for command in self.scripts(head.text) if self.scripts else ():
            for i, word in enumerate(command):
                if word.dynamic and word.text in ("$@", "${@}", "$*"):
                    found = self._read([*command[:i], *rest, *command[i + 1 :]], [*layers, layer], list(assigns), depth + 1)
                    if isinstance(found, Invocation):
                        return found
        return None

    def _dynamic_head(self, head: Word, rest: list[Word], layers: list[Layer], assigns: list[Word], depth: int):
        if rest and rest[0].text == "=":
            # PowerShell (`shell: pwsh` steps): `$out = claude -p ...` assigns a command's output.
            return self._read(rest[1:], layers, assigns, depth + 1)
        # A command from a variable matters only when an agent is visibly involved.
        for i, word in enumerate(rest):
            spec = None if word.dynamic else self.agent_for(word, [])
            if spec is not None:
                if self._housekeeping(rest[i + 1 :]):
                    return None
                return Unresolved(f"the program in `{head.text}` that receives `{word.text}`", head, spec)
        return None

    def _housekeeping(self, args: Sequence[Word]) -> bool:
        """`claude --version`, `gemini extensions install x`: no agent session starts."""
        return bool(args) and not args[0].dynamic and args[0].text in self.catalog.non_session_args

    def _continue(self, layer: Layer, rest: list[Word], layers: list[Layer], assigns: list[Word], depth: int):
        return self._read(rest, [*layers, layer], assigns, depth + 1)

    def _skip_flags(self, head, rest, layers, assigns, depth, kind, table):
        value_flags = set(table.get("value_flags") or ())
        if rest and rest[0].text in set(table.get("no_run_flags") or ()):
            return None  # `command -v claude` looks the program up; it does not run it
        env = basename(head.text) == "env"
        _, i = leading_options(rest, value_flags, is_option=lambda w: w.text.startswith("-") and not w.dynamic,
                               passes=lambda w: env and _is_assignment(w.text))
        layer = Layer(basename(head.text), kind, tuple(rest[:i]), head)
        return self._continue(layer, rest[i:], layers, assigns, depth)

    def _timeout(self, head, rest, layers, assigns, depth, table):
        value_flags = set(table.get("value_flags") or ())
        i = 0
        while i < len(rest) and rest[i].text.startswith("-"):
            flag, value = split_flag(rest[i].text)
            i += 2 if (flag in value_flags and value is None) else 1
        i += 1  # the duration
        layer = Layer("timeout", "timeout", tuple(rest[:i]), head)
        return self._continue(layer, rest[i:], layers, assigns, depth)

    def _identity(self, head, rest, layers, assigns, depth, table):
        options, i = leading_options(rest, set(table.get("value_flags") or ()))
        for at, flag, value in options:
            if flag in ("-c", "--command") and basename(head.text) in ("su", "runuser"):
                inner = rest[at + 1] if value is None and at + 1 < len(rest) else None
                layer = Layer(basename(head.text), "identity", tuple(rest[:at]), head)
                if inner is not None:
                    return self._first(self.read_shell(inner, depth), layer, layers, assigns)
                return None
        name = basename(head.text)
        if name == "su" and i < len(rest) and not rest[i].text.startswith("-"):
            i += 1  # the target user
        layer = Layer(name, "identity", tuple(rest[:i]), head)
        return self._continue(layer, rest[i:], layers, assigns, depth)

    def _first(self, found, layer, layers, assigns):
        for item in found:
            if isinstance(item, Invocation):
                return Invocation(item.agent, item.agent_word, item.args, (*layers, layer, *item.layers), (*assigns, *item.assignments))
            return item
        return None

    def _shell(self, head, rest, layers, assigns, depth):
        i = 0
        while i < len(rest):
            text = rest[i].text
            if text == "-c" or (text.startswith("-") and not text.startswith("--") and text.endswith("c")):
                if i + 1 < len(rest):
                    layer = Layer(f"{basename(head.text)} -c", "shell", tuple(rest[: i + 1]), head)
                    return self._first(self.read_shell(rest[i + 1], depth), layer, layers, assigns)
                return None
            if not text.startswith("-"):
                # `bash script.sh` is read on its own; a script whose name blastwall does not read
                # (`sh run.txt`) is read here, so a file name cannot hide a launch.
                layer = Layer(f"{basename(head.text)} {text}", "passthrough", (), head)
                for command in self.unread_scripts(text) if self.unread_scripts else ():
                    found = self._read(list(command), [*layers, layer], list(assigns), depth + 1)
                    if isinstance(found, Invocation):
                        return found
                return None
            i += 1
        return None

    def _engine(self, head, rest, layers, assigns, depth):
        # docker [global flags] run|create [flags] IMAGE [CMD...]
        i = 0
        while i < len(rest) and rest[i].text.startswith("-"):
            i += 1
        if i >= len(rest):
            return None
        sub = rest[i].text
        if sub == "sandbox" and i + 1 < len(rest) and rest[i + 1].text == "run":
            return self._microvm(head, rest[i + 2 :], layers, assigns, f"{basename(head.text)} sandbox run")
        if sub == "container" and i + 1 < len(rest):
            i += 1
            sub = rest[i].text
        if sub in ("exec",):
            return self._engine_exec(head, rest[i + 1 :], layers, assigns, depth)
        if sub not in ("run", "create"):
            return None
        j = i + 1
        while j < len(rest):
            text = rest[j].text
            if text == "--":
                j += 1
                break
            if not text.startswith("-") or rest[j].dynamic and not text.startswith("-"):
                break
            flag, value = split_flag(text)
            j += 2 if (flag in self.run_value_flags and value is None) else 1
        if j >= len(rest):
            return None
        image = rest[j]
        layer = Layer(f"{basename(head.text)} run", "container", tuple(rest[i + 1 : j + 1]), head)
        inner = rest[j + 1 :]
        found = self._read(inner, [*layers, layer], assigns, depth + 1) if inner else None
        if found is not None:
            return found
        # No command: the image's entrypoint runs. An agent-named image is an agent launch.
        for spec in self.catalog.agents:
            if any(_image_mentions(image.text, b) for b in spec.binaries if b not in spec.requires_any):
                return Invocation(spec, image, (), (*layers, layer), tuple(assigns))
        if image.dynamic and any(self.agent_for(w, []) for w in inner):
            return Unresolved(f"the image `{image.text}`", image)
        return None

    def _engine_exec(self, head, rest, layers, assigns, depth):
        j = 0
        while j < len(rest) and rest[j].text.startswith("-"):
            flag, value = split_flag(rest[j].text)
            j += 2 if (flag in ("-e", "--env", "-u", "--user", "-w", "--workdir", "--env-file") and value is None) else 1
        if j >= len(rest):
            return None
        layer = Layer(f"{basename(head.text)} exec", "container-exec", tuple(rest[: j + 1]), head)
        return self._read(rest[j + 1 :], [*layers, layer], assigns, depth + 1)

    def _microvm(self, head, rest, layers, assigns, tool):
        if not rest:
            return None
        layer = Layer(tool, "vm", (), head)
        spec = self.agent_for(rest[0], rest[1:])
        if spec is None:
            for agent in self.catalog.agents:
                if rest[0].text in (agent.id, *agent.binaries):
                    spec = agent
        if spec is None:
            return None
        return Invocation(spec, rest[0], tuple(rest[1:]), (*layers, layer), tuple(assigns))

    def _multiplexer(self, head, rest, layers, assigns, depth, table):
        """`tmux new-session -d "claude ..."`, `tmux send-keys -t pane "claude ..." Enter`: the
        command runs in a pane as the same user; tmux hands it to a shell, so it is read as one."""
        if table.get("value_letters"):
            return self._screen(head, rest, layers, assigns, depth, table)
        _, i = leading_options(rest, set(table.get("global_value_flags") or ()))
        if i >= len(rest):
            return None
        sub = rest[i].text
        runs, keys = table.get("run") or {}, table.get("keys") or {}
        if sub not in runs and sub not in keys:
            return None
        value_flags = set((runs.get(sub) if sub in runs else keys.get(sub)) or ())
        _, j = leading_options(rest[i + 1 :], value_flags)
        words = list(rest[i + 1 + j :])
        if sub in keys:
            names = set(table.get("key_names") or ())
            words = [w for w in words if w.text not in names]
        if not words:
            return None
        layer = Layer(f"{basename(head.text)} {sub}", "passthrough", (*rest[:i], *rest[i + 1 : i + 1 + j]), head)
        line = Word(" ".join(w.text for w in words), words[0].location, any(w.dynamic for w in words))
        return self._first(self.read_shell(line, depth), layer, layers, assigns)

    def _screen(self, head, rest, layers, assigns, depth, table):
        """`screen -dmS name claude ...` runs its operands as a program; `screen -S name -X stuff
        "claude ...^M"` types a command line into the session's shell."""
        letters = str(table.get("value_letters") or "")
        typed = table.get("keys") or {}
        i = 0
        while i < len(rest) and rest[i].text.startswith("-") and not rest[i].dynamic:
            flag = rest[i].text
            if flag in typed and i + 2 < len(rest) and rest[i + 1].text == typed[flag]:
                text = rest[i + 2].text.replace("^M", " ").replace("\\n", " ").replace("\n", " ")
                layer = Layer(basename(head.text), "passthrough", tuple(rest[: i + 2]), head)
                line = Word(text, rest[i + 2].location, rest[i + 2].dynamic)
                return self._first(self.read_shell(line, depth), layer, layers, assigns)
            takes = flag in typed or (not flag.startswith("--") and flag[-1:] in letters)
            i += 2 if takes else 1
        if i >= len(rest):
            return None
        return self._continue(Layer(basename(head.text), "passthrough", tuple(rest[:i]), head), rest[i:], layers, assigns, depth)

    def _bwrap(self, head, rest, layers, assigns, depth):
        _, i = leading_options(rest, lambda text: self.bwrap_arity.get(text, 0),
                               is_option=lambda w: w.text.startswith("--"))
        layer = Layer("bwrap", "os-sandbox", tuple(rest[:i]), head)
        return self._continue(layer, rest[i:], layers, assigns, depth)

    def _os_sandbox(self, head, rest, layers, assigns, depth, tool):
        table = self.os_sandboxes[tool]
        separator = table.get("separator")
        value_flags = set(table.get("value_flags") or ())
        i = 0
        if separator:
            for k, word in enumerate(rest):
                if word.text == separator:
                    i = k + 1
                    break
            else:
                i = len(rest)
        else:
            while i < len(rest) and rest[i].text.startswith("-"):
                flag, value = split_flag(rest[i].text)
                i += 2 if (flag in value_flags and value is None) else 1
        layer = Layer(tool, "os-sandbox", tuple(rest[: i]), head)
        return self._continue(layer, rest[i:], layers, assigns, depth)

    def _runner(self, head, rest, layers, assigns, depth, tool):
        value_flags = set(self.runners[tool].get("value_flags") or ())
        package_flag_value: Word | None = None
        options, i = leading_options(rest, value_flags)
        for at, flag, value in options:
            if flag in value_flags and flag in ("-p", "--package", "--from", "--spec"):
                package_flag_value = rest[at + 1] if value is None and at + 1 < len(rest) else Word(value or "", rest[at].location)
        if i >= len(rest):
            return None
        package = rest[i]
        layer = Layer(tool, "runner", tuple(rest[: i + 1]), head)
        spec = self.package_agent(package.text)
        if spec is None and package_flag_value is not None:
            spec = self.package_agent(package_flag_value.text)
        if spec is None:
            spec = self.agent_for(package, rest[i + 1 :])
        if spec is None:
            spec = self._program
        elif self._housekeeping(rest[i + 1 :]):
            return None
        if spec is not None:
            return Invocation(spec, package, tuple(rest[i + 1 :]), (*layers, layer), tuple(assigns))
        return None


def _from_script_folder(head: Word) -> Word:
    """`"$(dirname "$0")/sandbox.sh"` in a shell script: the repository path it names (only a
    script's `$0` is its own path; elsewhere the word stays as it is)."""
    found = _SCRIPT_ANCHORED.match(head.text)
    path = head.location.path
    base = path.rsplit("/", 1)[-1]
    if found is None or not (path.endswith(_SCRIPT_SUFFIXES) or "." not in base):
        return head
    rel = posixpath.normpath(posixpath.join(posixpath.dirname(path), found.group("rest")))
    return head if rel.startswith(("../", "/")) or rel == ".." else Word(rel, head.location)


def leading_options(
    rest: Sequence[Word],
    value_flags: set[str] | Callable[[str], int],
    *,
    is_option: Callable[[Word], bool] = lambda w: w.text.startswith("-"),
    passes: Callable[[Word], bool] = lambda w: False,
) -> tuple[list[tuple[int, str, str | None]], int]:
    """The options before a wrapper's operand: (index, flag, inline value) for each, and the
    index of the first operand (past a `--`). `value_flags` names the flags that take the next
    word, or says for an option word how many words it takes; a word that `passes` (`env`'s
    `NAME=value`) is stepped over."""
    options: list[tuple[int, str, str | None]] = []
    i = 0
    while i < len(rest):
        text = rest[i].text
        if text == "--":
            return options, i + 1
        if not is_option(rest[i]):
            if passes(rest[i]):
                i += 1
                continue
            break
        flag, value = split_flag(text)
        options.append((i, flag, value))
        if callable(value_flags):
            i += 1 + value_flags(text)
        else:
            i += 2 if (flag in value_flags and value is None) else 1
    return options, i


def _image_mentions(image: str, binary: str) -> bool:
    name = image.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0]
    parts = name.replace("_", "-").split("-")
    return binary in parts or name == binary
