"""Schedulers as entry points: what runs with no person in the loop.

A crontab line (`crontab`, `*.cron`, `*.crontab`, files in a `cron.d/` folder), a launchd job
(`*.plist` with `ProgramArguments` or `Program`), a systemd service (`ExecStart=`, scheduled by a
`*.timer` or started at boot) and a crontab line a shell script installs (`echo "<schedule>
<command>" >> file` then `crontab file`, `(crontab -l; echo …) | crontab -`, a heredoc into
`crontab -`) each name a command that runs on its own, as the account that installed it.

This module reads those files (cheaply: a file is parsed only when its bytes look like a
scheduler) into `Entry`s. The analyzer below reports entries whose command is an agent
itself; `workflow_links.scheduler_links` follows the others to the repository files they run
and builds their launch sites with `scheduled_sites`.
"""

from __future__ import annotations

import html
import posixpath
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, replace

from scanner.launch.base import Analysis, LaunchFound
from scanner.launch.cfgjudge import ConfigTools
from scanner.launch.commandline import Word
from scanner.containment.reader import EnvInfo
from scanner.model import Boundary, EnvMode, Fact, FactKind, Finding, LaunchSite, Location
from scanner.parse.trees import SourceFile

SURFACE = "scheduler"
_MACRO = r"@(?:reboot|yearly|annually|monthly|weekly|daily|midnight|hourly)\b"
_NUM = r"(?:\*|\?|\d{1,2}(?:-\d{1,2})?)(?:/\d{1,4})?"
_MON = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
_DOW = r"(?:sun|mon|tue|wed|thu|fri|sat)"


def _field(extra: str = "") -> str:
    one = f"(?:{_NUM}|{extra})" if extra else _NUM
    return f"{one}(?:,{one})*"


# Minute, hour and day are numbers or `*`; month and weekday may be names. Five fields, or a macro.
_SCHEDULE = (rf"(?:{_MACRO}|{_field()}[ \t]+{_field()}[ \t]+{_field()}[ \t]+{_field(_MON + '(?:-' + _MON + ')?')}"
             rf"[ \t]+{_field(_DOW + '(?:-' + _DOW + ')?')}(?=[ \t]))")
_CRON_LINE = re.compile(rf"^[ \t]*(?P<sched>{_SCHEDULE})[ \t]+(?P<cmd>\S.*)$", re.I)
# In a script: a schedule at the start of a quoted string or of a line (a heredoc body).
_CRON_IN_SCRIPT = re.compile(rf"(?:^[ \t]*|(?P<quote>[\"']))(?P<sched>{_SCHEDULE})[ \t]+(?P<cmd>\S[^\n]*)", re.I | re.M)
_INSTALLS = re.compile(rb"(?<![\w.-])crontab\b|/etc/cron\.d\b|/var/spool/cron|/etc/crontab\b")
_LAUNCHD = re.compile(rb"<key>\s*Program(?:Arguments)?\s*</key>")
_SYSTEMD = re.compile(rb"^\s*(?:ExecStart(?:Pre|Post)?|OnCalendar|OnBootSec|OnUnitActiveSec|OnActiveSec)\s*=", re.M)
_CRONTAB = re.compile(rb"^[ \t]*(?:@(?:reboot|yearly|annually|monthly|weekly|daily|midnight|hourly)|"
                      rb"[\d*][\d*/,-]*[ \t]+[\d*][\d*/,-]*[ \t])", re.M)
_SHELL_EXT = (".sh", ".bash", ".zsh", ".ksh")
_INTERPRETERS = {"cd", "bash", "sh", "zsh", "dash", "ksh", "env", "nice", "ionice", "timeout", "flock", "nohup",
                 "python", "python3", "node", "npm", "npx", "pnpm", "yarn", "bun", "deno", "uv", "poetry", "make",
                 "run-parts", "test", "source", "exec", "docker", "podman", "sudo", "su", "runuser", "cron", "true"}
_TIMER_KEYS = ("OnCalendar", "OnBootSec", "OnStartupSec", "OnActiveSec", "OnUnitActiveSec", "OnUnitInactiveSec")


@dataclass(frozen=True)
class Entry:
    """One scheduled command."""

    kind: str  # "cron", "cron-installer", "launchd", "systemd"
    location: Location  # the line that names what runs
    launcher: str  # "launchd job `com.x.agent`", "crontab entry `*/30 * * * *`", ...
    schedule: str  # when it runs, in words
    shell: str = ""  # a shell command line (crontab), the script's own variables expanded
    spelled: str = ""  # the command as written, for the report
    words: tuple[Word, ...] = ()  # a program and its arguments (launchd, systemd)
    workdir: str = ""  # the folder it starts in, as written
    user: str = ""  # the account it runs as, when the file names one

    @property
    def unattended(self) -> Fact:
        return Fact(FactKind.UNATTENDED, f"started by the {self.launcher} ({self.schedule}): no person starts or watches the run",
                    self.location)

    def tokens(self) -> list[str]:
        """The command's words, for path look-ups."""
        if self.words:
            return [w.text for w in self.words]
        try:
            return shlex.split(self.shell)
        except ValueError:
            return self.shell.split()


# -- which files ----------------------------------------------------------------------------------

def entry_file_kind(path: str) -> str | None:
    """How the link pass reads a path: launchd, systemd, crontab, script (may install a crontab)."""
    base = posixpath.basename(path)
    if base.endswith(".plist"):
        return "launchd"
    if base.endswith((".service", ".timer")):
        return "systemd"
    if base == "crontab" or base.endswith((".cron", ".crontab")) or "cron.d" in path.split("/")[:-1]:
        return "crontab"
    if base.endswith(_SHELL_EXT) or "." not in base:
        return "script"
    return None


def looks_scheduled(kind: str, data: bytes) -> bool:
    """The cheap test before any parse: a scheduler's own syntax is in the bytes."""
    if kind == "launchd":
        return bool(_LAUNCHD.search(data))
    if kind == "systemd":
        return bool(_SYSTEMD.search(data))
    if kind == "crontab":
        return bool(_CRONTAB.search(data))
    if kind == "script":
        return bool(_INSTALLS.search(data)) and (not data.startswith(b"#!") or _shell_shebang(data))
    return False


def _shell_shebang(data: bytes) -> bool:
    first = data.split(b"\n", 1)[0]
    return bool(re.match(rb"#!.*\b(?:ba|z|k|da)?sh\b", first))


# -- parsing --------------------------------------------------------------------------------------

def entries(tools: ConfigTools, kind: str, src: SourceFile,
            timers: dict[str, tuple[str, Location]] | None = None) -> list[Entry]:
    """The scheduled commands of one file (call `looks_scheduled` first)."""
    if kind == "launchd":
        return launchd_entries(src)
    if kind == "systemd":
        return systemd_entries(src, timers or {})
    if kind == "crontab":
        return crontab_entries(tools, src)
    if kind == "script":
        if "." not in posixpath.basename(src.path) and not _shell_shebang(src.data):
            return []
        return installer_entries(src)
    return []


def crontab_entries(tools: ConfigTools, src: SourceFile) -> list[Entry]:
    out = []
    for number, line in enumerate(src.lines, start=1):
        if line.lstrip().startswith("#"):
            continue
        m = _CRON_LINE.match(line)
        if not m:
            continue
        cmd, user = m.group("cmd"), ""
        first, _, rest = cmd.partition(" ")
        if rest.strip() and _is_user_field(tools, first, rest.strip()):
            user, cmd = first, rest.strip()
        sched = " ".join(m.group("sched").split())
        out.append(Entry("cron", src.loc(number, m.start("sched") + 1), f"crontab entry `{sched}`", _cron_words(sched),
                         shell=_cron_command(cmd), spelled=cmd.strip(), user=user))
        if len(out) >= MAX_ENTRIES:
            break
    return out


def _is_user_field(tools: ConfigTools, first: str, rest: str) -> bool:
    """The sixth field of a system crontab (`/etc/crontab`, `cron.d`) is the account to run as:
    a user name followed by a command."""
    if not re.fullmatch(r"[a-z_][a-z0-9_-]*\$?", first) or first in _INTERPRETERS or tools.agent_by_name(first):
        return False
    nxt = rest.split(None, 1)[0]
    return first == "root" or nxt.startswith(("/", "~", "$", "./")) or nxt in _INTERPRETERS


def _cron_command(cmd: str) -> str:
    """An unescaped `%` ends the command (the rest is its standard input)."""
    out, i = [], 0
    while i < len(cmd):
        if cmd[i] == "\\" and i + 1 < len(cmd) and cmd[i + 1] == "%":
            out.append("%")
            i += 2
            continue
        if cmd[i] == "%":
            break
        out.append(cmd[i])
        i += 1
    return "".join(out).strip()


def _cron_words(sched: str) -> str:
    if sched.startswith("@"):
        return "at boot" if sched.lower() == "@reboot" else sched[1:].lower()
    return "on a cron schedule"


def installer_entries(src: SourceFile, text=None) -> list[Entry]:  # type: ignore[no-untyped-def]
    """Crontab lines a shell script installs: a schedule at the start of a quoted string or of a
    line, in a script that runs `crontab` or writes a cron folder. Variables the script defines
    are expanded (`$RUNNER_SCRIPT` set from `$SCRIPT_DIR` becomes the repository path)."""
    if not _INSTALLS.search(src.data):
        return []
    found = []
    line, pos = 1, 0
    for m in _CRON_IN_SCRIPT.finditer(src.text):
        line += src.text.count("\n", pos, m.start("sched"))
        pos = m.start("sched")
        line_start = src.text.rfind("\n", 0, m.start()) + 1
        if src.text[line_start : m.start()].lstrip().startswith("#"):
            continue
        quote = m.group("quote")
        cmd = _until_quote(m.group("cmd"), quote) if quote else _strip_install_tail(m.group("cmd"))
        if cmd:
            found.append((m, cmd, line))
        if len(found) >= MAX_ENTRIES:
            break
    if not found:
        return []
    if text is None:
        from scanner.launch.shell import ShellText

        text = ShellText(src, src.data)
    out = []
    for m, cmd, number in found:
        column = m.start("sched") - (src.text.rfind("\n", 0, m.start("sched")) + 1) + 1
        sched = " ".join(m.group("sched").split())
        out.append(Entry("cron-installer", src.loc(number, column), f"crontab entry `{sched}` this script installs",
                         _cron_words(sched), shell=_cron_command(text.expand_known(cmd)), spelled=cmd))
    return out


def _until_quote(body: str, quote: str) -> str:
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if quote == '"' and ch == "\\" and i + 1 < len(body):
            out.append(body[i + 1])
            i += 2
            continue
        if ch == quote:
            return "".join(out).strip()
        out.append(ch)
        i += 1
    return ""  # not closed on this line: not a one-line entry


def _strip_install_tail(cmd: str) -> str:
    return re.sub(r"\s*(?:\|\s*crontab\b.*|>>?\s*\S+|\)\s*\|.*)\s*$", "", cmd).strip()


# Values hold no raw `<` (XML escapes it) and a comment is skipped to its end: no token scans the
# rest of a hostile file again and again.
_PLIST_TOKEN = re.compile(r"<(key|string|integer|real|date)>([^<]*)</\1\s*>|<(dict|array)\s*>|<(dict|array)\s*/>|"
                          r"</(dict|array)\s*>|<(true|false)\s*/>|<!--")
MAX_ENTRIES = 1000  # scheduled commands read from one file


def launchd_entries(src: SourceFile) -> list[Entry]:
    """A launchd job: `Program`/`ProgramArguments` with the keys that start it on its own."""
    top: dict[str, object] = {}
    depth, key, line, pos = 0, "", 1, 0
    array: list[Word] | None = None
    text, at = src.text, 0
    while True:
        m = _PLIST_TOKEN.search(text, at)
        if m is None:
            break
        line += text.count("\n", pos, m.start())
        pos, at = m.start(), m.end()
        if m.group(0) == "<!--":
            end = text.find("-->", m.end())
            if end < 0:
                break
            at = end + 3
            continue
        opened, closed = m.group(3), m.group(5)
        if opened:
            depth += 1
            if depth == 2 and key:
                top[key] = True
                if opened == "array" and key == "ProgramArguments":
                    array = []
            continue
        if closed:
            if depth == 2 and array is not None:
                top["ProgramArguments"] = tuple(array)
                array = None
            depth -= 1
            key = "" if depth <= 1 else key
            continue
        if m.group(4):  # <array/>, <dict/>
            if depth == 1:
                key = ""
            continue
        tag, value = m.group(1) or m.group(6), html.unescape(m.group(2) or "").strip()
        if depth == 1 and tag == "key":
            key = value
            continue
        if depth == 2 and array is not None and tag == "string":
            if len(array) >= MAX_ENTRIES:
                continue
            array.append(Word(value, src.loc(line), "$" in value))
            continue
        if depth == 1 and key:
            top[key] = (value, line) if tag != "true" and tag != "false" else tag == "true"
            key = ""
    argv = top.get("ProgramArguments")
    words = tuple(argv) if isinstance(argv, tuple) else ()
    program = top.get("Program")
    if isinstance(program, tuple):
        words = (Word(program[0], src.loc(program[1]), "$" in program[0]), *words[1:])
    if not words or not words[0].text:
        return []
    label = top.get("Label")
    name = label[0] if isinstance(label, tuple) else posixpath.basename(src.path)
    when = []
    interval = top.get("StartInterval")
    if isinstance(interval, tuple):
        when.append(f"every {interval[0]} s")
    if top.get("StartCalendarInterval"):
        when.append("on a calendar schedule")
    if top.get("RunAtLoad") is True:
        when.append("at load")
    if top.get("KeepAlive"):
        when.append("kept alive")
    for trigger in ("WatchPaths", "QueueDirectories", "StartOnMount"):
        if top.get(trigger):
            when.append(f"on {trigger}")
    workdir = top.get("WorkingDirectory")
    user = top.get("UserName")
    return [Entry("launchd", words[0].location, f"launchd job `{name}`", ", ".join(when) or "when launchd loads it",
                  words=words, workdir=workdir[0] if isinstance(workdir, tuple) else "",
                  user=user[0] if isinstance(user, tuple) else "")]


def _unit_keys(src: SourceFile) -> Iterator[tuple[str, str, str, int]]:
    """(section, key, value, line) of a systemd unit, continuation lines joined."""
    section, pending, start = "", [], 0
    for number, raw in enumerate(src.lines, start=1):
        line = raw.strip()
        if pending:
            pending.append(line.rstrip("\\").strip())
            if not line.endswith("\\") or len(pending) > 200:
                yield (section, *_split_key(" ".join(pending)), start)
                pending = []
            continue
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        if "=" not in line:
            continue
        if line.endswith("\\"):
            pending, start = [line[:-1].strip()], number
            continue
        yield (section, *_split_key(line), number)
    if pending:
        yield (section, *_split_key(" ".join(pending)), start)


def _split_key(line: str) -> tuple[str, str]:
    key, _, value = line.partition("=")
    return key.strip(), value.strip()


def timer_schedules(src: SourceFile) -> dict[str, tuple[str, Location]]:
    """The service a timer starts -> (its schedule in words, the timer's line)."""
    unit = posixpath.basename(src.path)[: -len(".timer")] + ".service"
    when: list[tuple[str, int]] = []
    for section, key, value, number in _unit_keys(src):
        if section == "Timer" and key == "Unit" and value:
            unit = value
        elif section == "Timer" and key in _TIMER_KEYS and value:
            when.append((f"{key}={value}", number))
    if not when:
        return {}
    return {unit: (f"timer {posixpath.basename(src.path)}: " + ", ".join(w for w, _ in when), src.loc(when[0][1]))}


def systemd_entries(src: SourceFile, timers: dict[str, tuple[str, Location]]) -> list[Entry]:
    if not src.path.endswith(".service"):
        return []
    name = posixpath.basename(src.path)
    execs: list[tuple[str, int]] = []
    workdir = user = ""
    boot = False
    for section, key, value, number in _unit_keys(src):
        if section == "Service" and key in ("ExecStart", "ExecStartPre", "ExecStartPost") and value:
            execs.append((value, number))
        elif section == "Service" and key == "WorkingDirectory":
            workdir = value.lstrip("-")
        elif section == "Service" and key == "User":
            user = value
        elif section == "Service" and key == "DynamicUser" and value.lower() in ("yes", "true", "1", "on"):
            user = user or "a dynamic user"
        elif section == "Install" and key == "WantedBy":
            boot = True
    timer = timers.get(name)
    schedule = timer[0] if timer else ("at boot" if boot else "as a system service")
    out = []
    for value, number in execs[:MAX_ENTRIES]:
        command = value.lstrip("-@:+!")
        command = command.replace("%h/", "$HOME/").replace("%%", "%")
        try:
            argv = shlex.split(command)
        except ValueError:
            continue
        if not argv:
            continue
        loc = src.loc(number)
        out.append(Entry("systemd", loc, f"systemd service `{name}`", schedule,
                         words=tuple(Word(a, loc, "$" in a) for a in argv), workdir=workdir, user=user))
    return out


# -- the analyzer: schedulers that start an agent themselves -------------------------------------

def analyze_scheduler(analysis: Analysis) -> Iterator[LaunchFound]:
    src = analysis.source
    path = src.path
    kind = entry_file_kind(path)
    if kind is None or kind == "script" or not looks_scheduled(kind, src.data):
        return
    yield from entry_launches(entries(analysis.tools, kind, src))


def installer_launches(src: SourceFile, text=None) -> Iterator[LaunchFound]:  # type: ignore[no-untyped-def]
    """Crontab lines a shell script installs, as launches (for those that start an agent)."""
    yield from entry_launches(installer_entries(src, text))


def installer_launches_in(analysis: Analysis) -> Iterator[LaunchFound]:
    return installer_launches(analysis.source)


def entry_launches(found: list[Entry]) -> Iterator[LaunchFound]:
    from scanner.launch.shell import REPO_ROOT

    for entry in found:
        env = EnvInfo(EnvMode.INHERITED, entry.location,
                      f"the {entry.launcher} runs as its owner, with their home directory and login credentials")
        if entry.shell:
            # A path the script resolved stays a repository path (`scripts/run.sh`), so a runner
            # script that hands "$@" to a sandbox is read like anywhere else.
            command = entry.shell.replace(REPO_ROOT, "")
            yield LaunchFound(SURFACE, entry.launcher, entry.location, env, shell=Word(command, entry.location),
                              facts=(entry.unattended,))
        elif entry.words:
            yield LaunchFound(SURFACE, entry.launcher, entry.location, env, words=entry.words, facts=(entry.unattended,))


# -- launch sites for entries that reach an agent through repository files -----------------------

def scheduled_sites(entry: Entry, reached: list[LaunchSite], via: str, existing: set[str], catalog,  # type: ignore[no-untyped-def]
                    guessed: bool = False) -> Iterator[tuple[LaunchSite, list[Finding]]]:
    """One site per agent an entry reaches, at the entry's line, carrying the reached launch's
    containment and the `unattended` fact. It is an inline launch when a launch it reaches is
    uncontained (unless the entry runs as another account); the reached launches are its
    related locations. `guessed`: a path was matched by its suffix (from another machine)."""
    from scanner.findings import new_finding, new_site, site_id_for
    from scanner.model import Confidence

    by_agent: dict[str, list[LaunchSite]] = {}
    for site in reached:
        by_agent.setdefault(site.agent, []).append(site)
    for agent, sites in sorted(by_agent.items()):
        sid = site_id_for(entry.location, agent)
        if sid in existing:
            continue  # the entry's own command launches this agent: judged where it stands
        open_ = [s for s in sites if s.containment.boundary is Boundary.NONE]
        first = (open_ or sites)[0]
        c = first.containment
        facts = (entry.unattended, *c.facts)
        other = bool(entry.user) and entry.user != "root" and c.boundary is Boundary.NONE
        if other:
            c = replace(c, boundary=Boundary.OTHER_USER, boundary_tool=f"runs as `{entry.user}`")
        site = new_site(agent=agent, agent_name=first.agent_name, surface=SURFACE,
                        launcher=f"{entry.launcher} running {via}", location=entry.location,
                        command=entry.spelled or entry.shell or " ".join(w.text for w in entry.words),
                        containment=replace(c, facts=facts))
        findings = []
        if open_ and not other:
            where = ", ".join(f"{s.location.path}:{s.location.line}" for s in open_[:3])
            findings.append(new_finding(
                catalog, "agent-inline-launch", entry.location, site_id=sid,
                message=(f"{first.agent_name} is started by the {entry.launcher} ({entry.schedule}) with no person in "
                         f"the loop, through {via}: at {where} it runs in the operator's own process tree, user and "
                         "network, with no sandbox around it."),
                confidence=Confidence.MEDIUM if guessed else None,
                related=[s.location.with_label(f"the {first.agent_name} launch it starts") for s in open_]))
        yield site, findings


def carried_facts(entry: Entry) -> tuple[Fact, ...]:
    """What a reached launch learns from the entry that starts it."""
    return (Fact(FactKind.ENTRY_POINT, f"started by the {entry.launcher} at {entry.location.path}:{entry.location.line}",
                 entry.location), entry.unattended)

