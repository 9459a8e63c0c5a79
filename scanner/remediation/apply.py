"""Rewrite launch sites so the agent starts through the generated sandbox runner.

Only shapes whose rewrite is mechanical and keeps the program's meaning are touched:

- Python `subprocess.run/call/check_call/check_output/Popen` with an argv list or list variable
  (not `shell=True`): the runner goes in front of the argv, the environment becomes an explicit
  minimal mapping plus the agent's key by name, and a timeout is added.
- JavaScript/TypeScript `child_process` `spawn/spawnSync/execFile/execFileSync`: the same, with the
  original options spread first and `env`/`timeout` overriding them.
- A shell command line (scripts, Makefile recipes, workflow `run:` steps) and `package.json`
  scripts whose command starts with the agent (or a package runner of it): the runner is put in
  front.

Everything else is reported back as manual, with the reason.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from scanner.model import LaunchSite, ScanResult

_PY_LAUNCHERS = {"subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output", "subprocess.Popen"}
_JS_LAUNCHERS = {"child_process.spawn", "child_process.spawnSync", "child_process.execFile", "child_process.execFileSync"}
_SHELL_SURFACES = {"shell", "makefile", "github-workflow"}
MINIMAL_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True)
class Manual:
    path: str
    line: int
    reason: str


@dataclass
class ApplyPlan:
    edits: dict[str, tuple[str, str]] = field(default_factory=dict)  # path -> (before, after)
    rewritten: list[LaunchSite] = field(default_factory=list)
    manual: list[Manual] = field(default_factory=list)

    def diff(self) -> str:
        out = []
        for path, (before, after) in sorted(self.edits.items()):
            out.extend(difflib.unified_diff(before.splitlines(True), after.splitlines(True), f"a/{path}", f"b/{path}"))
        return "".join(out)


def plan_apply(root: Path, result: ScanResult, runner: str, key_names: dict[str, tuple[str, ...]]) -> ApplyPlan:
    """Work out every rewrite for the sites that need one; nothing is written here."""
    plan = ApplyPlan()
    needs = {f.site_id for f in result.findings if not f.suppressed and f.severity.rank >= 3}
    by_file: dict[str, list[LaunchSite]] = {}
    for site in result.launch_sites:
        if site.site_id in needs:
            by_file.setdefault(site.location.path, []).append(site)
    for path, sites in sorted(by_file.items()):
        file = root / path if root.is_dir() else root
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            plan.manual.extend(Manual(path, s.location.line, f"cannot read the file: {exc}") for s in sites)
            continue
        new = text
        # Bottom-up, so earlier offsets stay valid.
        for site in sorted(sites, key=lambda s: (s.location.line, s.location.column), reverse=True):
            if site.surface == "compose":
                mine = [f for f in result.findings if f.site_id == site.site_id and not f.suppressed]
                rewritten, reason = _rewrite_compose(new, mine)
            elif site.surface == "kubernetes":
                rewritten, reason = _rewrite_kubernetes(new)
            else:
                rewritten, reason = _rewrite(new, site, runner, key_names.get(site.agent, ()))
            if rewritten is None:
                plan.manual.append(Manual(path, site.location.line, reason))
            else:
                new = rewritten
                plan.rewritten.append(site)
        if new != text:
            plan.edits[path] = (text, new)
    plan.manual.sort(key=lambda m: (m.path, m.line))
    return plan


def write_plan(root: Path, plan: ApplyPlan) -> list[str]:
    written = []
    for path, (_before, after) in sorted(plan.edits.items()):
        target = root / path if root.is_dir() else root
        target.write_text(after, encoding="utf-8")
        written.append(path)
    return written


def _offset(text: str, line: int, column: int) -> int:
    lines = text.split("\n")
    return sum(len(l) + 1 for l in lines[: line - 1]) + column - 1


def _rewrite(text: str, site: LaunchSite, runner: str, keys: tuple[str, ...]) -> tuple[str | None, str]:
    if site.surface == "python":
        if site.launcher not in _PY_LAUNCHERS:
            return None, f"{site.launcher} is not a shape blastwall rewrites; route it through {runner} by hand"
        return _rewrite_call(text, site, runner, keys, "python")
    if site.surface == "javascript":
        if site.launcher not in _JS_LAUNCHERS:
            return None, f"{site.launcher} is not a shape blastwall rewrites; route it through {runner} by hand"
        return _rewrite_call(text, site, runner, keys, "javascript")
    if site.surface in _SHELL_SURFACES:
        return _rewrite_shell(text, site, runner)
    if site.surface == "package-json":
        return _rewrite_package_json(text, site, runner)
    if site.location.path.endswith((".claude/settings.json", ".claude/settings.local.json")):
        return _rewrite_claude_settings(text)
    if site.surface == "semgrep":
        return None, f"launches found by the semgrep pack are not rewritten; route them through {runner} by hand"
    return None, f"{site.surface} launch sites are configuration; apply the generated config for it by hand"


def _rewrite_shell(text: str, site: LaunchSite, runner: str) -> tuple[str | None, str]:
    start = _offset(text, site.location.line, site.location.column)
    head = text[start:].split(None, 1)[0] if text[start:].strip() else ""
    if runner in text[start : start + len(runner) + 4]:
        return None, "already goes through the runner"
    words = site.command.split()
    if not words or words[0] != head.strip("\"'"):
        return None, "the command line starts with a wrapper or variable; put the runner in front of the agent by hand"
    if any(w in ("docker", "podman", "bwrap", "sudo", "firejail", "nsjail") for w in words[:1]):
        return None, "the agent already runs inside a wrapper; fix that wrapper's flags instead"
    return text[:start] + runner + " " + text[start:], ""


def _rewrite_package_json(text: str, site: LaunchSite, runner: str) -> tuple[str | None, str]:
    try:
        doc = json.loads(text)
    except ValueError:
        return None, "package.json does not parse"
    scripts = doc.get("scripts") if isinstance(doc, dict) else None
    name = site.launcher.removeprefix("npm script `").removesuffix("`")
    if not isinstance(scripts, dict) or not isinstance(scripts.get(name), str):
        return None, "script not found"
    body = scripts[name]
    first = site.command.split()[0] if site.command else ""
    if not body.lstrip().startswith(first):
        return None, "the script runs other commands before the agent; put the runner in front of the agent by hand"
    old = json.dumps(body)
    new = json.dumps(f"{runner} {body.lstrip()}")
    if text.count(old) != 1:
        return None, "the script text is not unique in package.json"
    return text.replace(old, new), ""


def _rewrite_call(text: str, site: LaunchSite, runner: str, keys: tuple[str, ...], lang: str) -> tuple[str | None, str]:
    from scanner.parsing import parse

    data = text.encode("utf-8")
    tree = parse(lang if lang == "python" else _js_dialect(site.location.path), data)
    start = len(text[: _offset(text, site.location.line, site.location.column)].encode("utf-8"))
    node = tree.root_node.descendant_for_byte_range(start, start)
    while node is not None and node.type not in ("call", "call_expression"):
        node = node.parent
    if node is None or node.start_byte != start:
        return None, "could not find the call again"
    args = node.child_by_field_name("arguments")
    if args is None:
        return None, "no arguments"
    src = lambda n: data[n.start_byte : n.end_byte].decode("utf-8")  # noqa: E731
    positional = [c for c in args.named_children if c.type not in ("keyword_argument", "comment")]
    if lang == "python":
        keywords = {src(c.child_by_field_name("name")): c for c in args.named_children if c.type == "keyword_argument"}
        if "shell" in keywords and src(keywords["shell"].child_by_field_name("value")) == "True":
            return None, "shell=True: split the command into an argv list first"
        if not positional or positional[0].type not in ("list", "identifier", "tuple"):
            return None, "the argv is not a list or a list variable"
        argv = positional[0]
        new_argv = (f'["{runner}", {src(argv)[1:-1]}]' if argv.type in ("list", "tuple")
                    else f'["{runner}", *{src(argv)}]')
        env_items = [f'"PATH": "{MINIMAL_PATH}"'] + [f'"{k}": os.environ["{k}"]' for k in keys]
        kept = [src(c) for c in args.named_children if c.type == "keyword_argument"
                and src(c.child_by_field_name("name")) not in ("env", "timeout", "args")]
        rest = [src(c) for c in positional[1:]]
        timeout = [] if site.launcher == "subprocess.Popen" else ["timeout=1800"]
        call = f"{src(node.child_by_field_name('function'))}({', '.join([new_argv, *rest, *kept, 'env={' + ', '.join(env_items) + '}', *timeout])})"
        new_text = (data[: node.start_byte] + call.encode() + data[node.end_byte :]).decode("utf-8")
        if keys and not re.search(r"^\s*import os\b|^\s*import os,|^\s*from os import", new_text, re.M):
            new_text = _add_python_import(new_text)
        return new_text, ""
    # JavaScript: spawn(file, args?, options?)
    if not positional:
        return None, "no program argument"
    file_node = positional[0]
    rest = positional[1:]
    args_text = "[]"
    if rest and rest[0].type in ("array", "identifier") and rest[0].type != "object":
        args_text = src(rest[0])
        rest = rest[1:]
    spread_args = f"...{args_text}" if not args_text.startswith("[") else args_text[1:-1]
    new_args = f"[{src(file_node)}{', ' + spread_args if spread_args.strip() else ''}]"
    env_items = [f'PATH: "{MINIMAL_PATH}"'] + [f"{k}: process.env.{k}" for k in keys]
    opts = src(rest[0]) if rest else ""
    options = "{ " + (f"...{opts}, " if opts else "") + "env: { " + ", ".join(env_items) + " }, timeout: 1_800_000 }"
    call = f"{src(node.child_by_field_name('function'))}(\"{runner}\", {new_args}, {options})"
    return (data[: node.start_byte] + call.encode() + data[node.end_byte :]).decode("utf-8"), ""


def _js_dialect(path: str) -> str:
    if path.endswith(".tsx"):
        return "tsx"
    if path.endswith((".ts", ".mts", ".cts")):
        return "typescript"
    return "javascript"


def _add_python_import(text: str) -> str:
    lines = text.split("\n")
    insert = 0
    for i, line in enumerate(lines):
        if line.startswith(("import ", "from ")):
            insert = i + 1
    if insert == 0:
        # after a module docstring, if any
        for i, line in enumerate(lines):
            if line.strip() and not line.startswith(("#", '"""', "'''")):
                insert = i
                break
    lines.insert(insert, "import os")
    return "\n".join(lines)


_BYPASS_MODES = {"bypassPermissions", "dontAsk", "auto", "acceptEdits"}


def _rewrite_claude_settings(text: str) -> tuple[str | None, str]:
    """Approvals back on, Bash no longer blanket-allowed, the sandbox on and required."""
    try:
        doc = json.loads(text)
    except ValueError:
        return None, "settings file does not parse as plain JSON"
    if not isinstance(doc, dict):
        return None, "settings file is not a JSON object"
    perms = doc.setdefault("permissions", {})
    if not isinstance(perms, dict):
        return None, "`permissions` is not an object"
    if perms.get("defaultMode") in _BYPASS_MODES:
        perms["defaultMode"] = "default"
    if isinstance(perms.get("allow"), list):
        perms["allow"] = [r for r in perms["allow"] if r not in ("Bash", "Bash(*)", "Bash(**)")]
    perms["disableBypassPermissionsMode"] = "disable"
    if doc.get("enableAllProjectMcpServers") is True:
        doc["enableAllProjectMcpServers"] = False
    sandbox = doc.setdefault("sandbox", {})
    if not isinstance(sandbox, dict):
        return None, "`sandbox` is not an object"
    sandbox.update({"enabled": True, "allowUnsandboxedCommands": False, "failIfUnavailable": True})
    new = json.dumps(doc, indent=2) + "\n"
    if new == text:
        return None, "already hardened"
    return new, ""


def fix_snippets(root: Path, result: ScanResult, runner: str = "./sandbox/agent-bwrap.sh") -> dict[str, tuple[str, str]]:
    """site_id -> (before, after) lines of the site's own rewrite, for the report's FIX section."""
    from scanner.catalog import load_catalog

    catalog = load_catalog()
    keys = {}
    for site in result.launch_sites:
        try:
            keys[site.agent] = catalog.agent(site.agent).api_keys[:1]
        except KeyError:
            keys[site.agent] = ()
    out: dict[str, tuple[str, str]] = {}
    needs = {f.site_id for f in result.findings if not f.suppressed and f.severity.rank >= 3}
    for site in result.launch_sites:
        if site.site_id not in needs:
            continue
        file = root / site.location.path if root.is_dir() else root
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        new, _reason = _rewrite(text, site, runner, keys.get(site.agent, ()))
        if new is None:
            continue
        old_lines, new_lines = text.split("\n"), new.split("\n")
        # Diff only the changed middle: SequenceMatcher is quadratic on long runs of equal lines.
        lo, shortest = 0, min(len(old_lines), len(new_lines))
        while lo < shortest and old_lines[lo] == new_lines[lo]:
            lo += 1
        hi = 0
        while hi < shortest - lo and old_lines[-1 - hi] == new_lines[-1 - hi]:
            hi += 1
        matcher = difflib.SequenceMatcher(a=old_lines[lo : len(old_lines) - hi], b=new_lines[lo : len(new_lines) - hi],
                                          autojunk=False)
        blocks = [op for op in matcher.get_opcodes() if op[0] != "equal"]
        if not blocks:
            continue
        a0, a1 = lo + min(b[1] for b in blocks), lo + max(b[2] for b in blocks)
        b0, b1 = lo + min(b[3] for b in blocks), lo + max(b[4] for b in blocks)
        before = "\n".join(old_lines[a0:a1]).strip("\n")
        after = "\n".join(new_lines[b0:b1]).strip("\n")
        if len(before) < 4000 and len(after) < 4000:
            out[site.site_id] = (_dedent(before), _dedent(after))
    return out


def _dedent(block: str) -> str:
    import textwrap

    return textwrap.dedent(block)


# Compose keys whose flagged line is removed outright: what they hand the agent is the hazard.
_COMPOSE_DROP = {"agent-docker-socket", "agent-credential-files-exposed", "agent-operator-credentials-passed",
                 "agent-host-network", "agent-writable-host-path", "agent-privileged-sandbox"}
_SIMPLE_ITEM = re.compile(r"^\s*-\s+[^\s{\[#][^#]*$")
_SIMPLE_KEY = re.compile(r"^\s*[\w.-]+:\s+[^\s{\[|>#][^#]*$")


def _rewrite_compose(text: str, findings) -> tuple[str | None, str]:  # type: ignore[no-untyped-def]
    """Line edits for a compose service: drop escapes and operator credentials, mount the target :ro."""
    lines = text.split("\n")
    drop: set[int] = set()
    for f in findings:
        i = f.location.line - 1
        if not 0 <= i < len(lines):
            continue
        line = lines[i]
        if f.rule_id in _COMPOSE_DROP:
            if not (_SIMPLE_ITEM.match(line) or _SIMPLE_KEY.match(line)):
                return None, f"line {i + 1} is not a one-line entry; change it by hand"
            drop.add(i)
        elif f.rule_id == "agent-writable-target":
            item = re.match(r"^(\s*-\s+)([\"']?)([^\"'#]+?)\2\s*$", line)
            if item is None or item.group(3).count(":") != 1:
                return None, f"line {i + 1}: mount the target read-only by hand"
            lines[i] = f"{item.group(1)}{item.group(2)}{item.group(3)}:ro{item.group(2)}"
    kept = [line for i, line in enumerate(lines) if i not in drop]
    # A key left with no entries under it goes too (`volumes:` with nothing below).
    out: list[str] = []
    for i, line in enumerate(kept):
        stripped = line.rstrip()
        if stripped.endswith(":") and not stripped.lstrip().startswith("-"):
            indent = len(line) - len(line.lstrip())
            nxt = next((l for l in kept[i + 1 :] if l.strip()), "")
            if len(nxt) - len(nxt.lstrip()) <= indent and not nxt.lstrip().startswith("-"):
                continue
        out.append(line)
    new = "\n".join(out)
    if new == text:
        return None, "nothing on the flagged lines can be changed safely"
    return new, ""


_WORKLOADS = {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}
_ESCAPE_CAPS = {"ALL", "SYS_ADMIN", "SYS_PTRACE", "SYS_MODULE", "DAC_READ_SEARCH", "DAC_OVERRIDE", "SYS_RAWIO", "BPF"}


def _pod_spec(doc):  # type: ignore[no-untyped-def]
    kind = doc.get("kind")
    spec = doc.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return (spec.get("template") or {}).get("spec")


def _rewrite_kubernetes(text: str) -> tuple[str | None, str]:
    """The pod spec's escape hatches closed: host namespaces, privileged containers, added escape
    capabilities, hostPath volumes, bulk secrets (envFrom) and the service-account token."""
    import io

    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yaml = YAML()  # round-trip: comments, quotes and key order survive
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    try:
        docs = list(yaml.load_all(text))
    except YAMLError:
        return None, "the manifest does not parse"
    changed = False
    for doc in docs:
        if not hasattr(doc, "get") or doc.get("kind") not in _WORKLOADS:
            continue
        pod = _pod_spec(doc)
        if not hasattr(pod, "get"):
            continue
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.get(key) is True:
                pod[key] = False
                changed = True
        if pod.get("automountServiceAccountToken") is not False:
            pod["automountServiceAccountToken"] = False
            changed = True
        host_volumes = {v.get("name") for v in pod.get("volumes") or [] if hasattr(v, "get") and "hostPath" in v}
        if host_volumes:
            pod["volumes"] = [v for v in pod["volumes"] if not (hasattr(v, "get") and v.get("name") in host_volumes)]
            if not pod["volumes"]:
                del pod["volumes"]
            changed = True
        for container in [*(pod.get("containers") or []), *(pod.get("initContainers") or [])]:
            if not hasattr(container, "get"):
                continue
            mounts = container.get("volumeMounts")
            if mounts and host_volumes:
                kept = [m for m in mounts if not (hasattr(m, "get") and m.get("name") in host_volumes)]
                if kept:
                    container["volumeMounts"] = kept
                else:
                    del container["volumeMounts"]
            env_from = container.get("envFrom")
            if env_from:
                kept = [e for e in env_from if not (hasattr(e, "get") and "secretRef" in e)]
                if len(kept) != len(env_from):
                    changed = True
                    if kept:
                        container["envFrom"] = kept
                    else:
                        del container["envFrom"]
            sc = container.get("securityContext")
            if hasattr(sc, "get"):
                for key in ("privileged", "allowPrivilegeEscalation"):
                    if sc.get(key) is True:
                        sc[key] = False
                        changed = True
                caps = sc.get("capabilities")
                if hasattr(caps, "get") and caps.get("add"):
                    kept = [c for c in caps["add"] if str(c).upper().removeprefix("CAP_") not in _ESCAPE_CAPS]
                    if len(kept) != len(caps["add"]):
                        changed = True
                        if kept:
                            caps["add"] = kept
                        else:
                            del caps["add"]
    if not changed:
        return None, "nothing in the pod spec can be tightened safely; see the generated k8s/ files"
    out = io.StringIO()
    yaml.dump_all(docs, out)
    return out.getvalue(), ""
