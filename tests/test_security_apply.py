"""`blastwall fix --apply` rewrites launch sites by syntax tree and never writes broken code.

Every rewrite either leaves the file as it was (the site is reported as manual, with the reason) or
produces a file that parses and still passes every original argument apart from the launch itself
(the program, its environment and its timeout). The Python rewrites are executed against a fake
`subprocess`, the JavaScript ones (when node is installed) against a fake `child_process`, so a
NameError, a TypeError or a dropped argument shows up as a failure here.
"""

from __future__ import annotations

import ast
import builtins
import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from scanner.model import LaunchSite, Location, Severity
from scanner.parse.trees import parse
from scanner.remediation.apply import MINIMAL_PATH, _rewrite, _rewrite_python_cst, plan_apply

RUNNER = "./sandbox/agent-bwrap.sh"
KEY = "ANTHROPIC_API_KEY"
KEY_VALUE = "sk-test-not-a-key"
NODE = shutil.which("node")


# --- helpers ---------------------------------------------------------------------------------


def site_at(text: str, needle: str, launcher: str, path: str, surface: str, occurrence: int = 0) -> LaunchSite:
    """A launch site where the scanner would put it: the call's first character (1-based, code points)."""
    offset = -1
    for _ in range(occurrence + 1):
        offset = text.index(needle, offset + 1)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return LaunchSite(f"site-{line}-{column}", "claude-code", "Claude Code", surface, launcher,
                      Location(path, line, column), "claude -p hi")


def py_site(text: str, needle: str = "subprocess.run(", launcher: str = "subprocess.run", occurrence: int = 0) -> LaunchSite:
    return site_at(text, needle, launcher, "tool.py", "python", occurrence)


def js_site(text: str, needle: str, launcher: str, path: str = "tool.js") -> LaunchSite:
    return site_at(text, needle, f"child_process.{launcher}", path, "javascript")


def rewrite(text: str, site: LaunchSite) -> tuple[str | None, str]:
    return _rewrite(text, site, RUNNER, (KEY,))


def rewrite_cst_only(text: str, site: LaunchSite) -> tuple[str | None, str]:
    """The path taken for files this Python cannot parse: libcst alone."""
    new, outcome = _rewrite_python_cst(text, [site], RUNNER, {site.agent: (KEY,)})
    return (None, outcome[site.site_id]) if outcome[site.site_id] else (new, "")


class Recorder:
    """A stand-in for `subprocess`: records every call instead of starting anything."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.module = types.ModuleType("subprocess")
        for name in ("run", "call", "check_call", "check_output", "Popen"):
            setattr(self.module, name, self._record(name))

    def _record(self, name: str) -> Any:
        def fake(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args, kwargs))
            return SimpleNamespace(returncode=0, stdout="", check_returncode=lambda: None)
        return fake


def run_python(code: str) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    recorder = Recorder()
    real_import = builtins.__import__

    def importer(name: str, *args: Any, **kwargs: Any) -> Any:
        return recorder.module if name == "subprocess" else real_import(name, *args, **kwargs)

    namespace = {"__builtins__": {**vars(builtins), "__import__": importer}, "__name__": "generated"}
    with mock.patch.dict(os.environ, {KEY: KEY_VALUE}):
        exec(compile(code, "generated.py", "exec"), namespace)  # noqa: S102 - our own generated program
    return recorder.calls


def expected_env() -> dict[str, str]:
    return {"PATH": MINIMAL_PATH, KEY: KEY_VALUE}


def assert_same_launch(before: str, after: str, popen: bool = False) -> None:
    """`after` starts the runner with the original argv, passes every other argument unchanged."""
    ast.parse(after)
    (name0, args0, kw0), = run_python(before)
    (name1, args1, kw1), = run_python(after)
    assert name0 == name1
    argv0 = list(args0[0]) if args0 else list(kw0["args"])
    argv1 = list(args1[0]) if args1 else list(kw1["args"])
    assert argv1 == [RUNNER, *argv0]
    assert args1[1:] == args0[1:]
    assert {k: v for k, v in kw1.items() if k not in ("env", "timeout", "args")} == \
           {k: v for k, v in kw0.items() if k not in ("env", "timeout", "args")}
    assert kw1["env"] == expected_env()
    if popen:
        assert kw1.get("timeout") == kw0.get("timeout")
    elif kw0.get("timeout") is not None:
        assert kw1["timeout"] == kw0["timeout"]  # the operator's own bound is kept
    else:
        assert kw1["timeout"] == 1800


NODE_HARNESS = r"""
const Module = require("module");
const calls = [];
globalThis.called = 0;
const fake = {};
for (const fn of ["spawn", "spawnSync", "execFile", "execFileSync"]) {
  fake[fn] = (...args) => {
    calls.push({ fn, args: args.map((a) => (typeof a === "function" ? "<callback>" : a)) });
    const last = args[args.length - 1];
    if (typeof last === "function") last(null, "out", "");
    return { on() {}, stdout: "", status: 0 };
  };
}
const original = Module.prototype.require;
Module.prototype.require = function (id) {
  return id === "child_process" || id === "node:child_process" ? fake : original.apply(this, arguments);
};
require(process.argv[2]);
process.stdout.write(JSON.stringify({ calls, called: globalThis.called }));
"""


def run_node(code: str, tmp: Path) -> dict[str, Any]:
    assert NODE is not None
    (tmp / "harness.js").write_text(NODE_HARNESS)
    (tmp / "program.js").write_text(code)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), KEY: KEY_VALUE}
    proc = subprocess.run([NODE, str(tmp / "harness.js"), str(tmp / "program.js")], capture_output=True, text=True,
                          timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def assert_same_js_launch(before: str, after: str, tmp: Path) -> None:
    old, new = run_node(before, tmp), run_node(after, tmp)
    assert new["called"] == old["called"]  # the callback still runs
    (call0,), (call1,) = old["calls"], new["calls"]
    assert call1["fn"] == call0["fn"]
    args0, args1 = call0["args"], call1["args"]
    assert args1[0] == RUNNER
    program, rest = args0[0], args0[1:]
    argv = rest.pop(0) if rest and (isinstance(rest[0], list) or rest[0] is None) else None
    assert args1[1] == [program, *(argv or [])]
    options0 = rest.pop(0) if rest and (isinstance(rest[0], dict) or rest[0] is None) else None  # undefined -> null
    options1 = args1[2]
    assert options1["env"] == expected_env()
    assert "timeout" in options1
    for key, value in (options0 or {}).items():
        if key not in ("env", "timeout"):
            assert options1[key] == value, key
    if options0 and "timeout" in options0 and options0["timeout"]:
        assert options1["timeout"] == options0["timeout"]
    assert args1[3:] == rest  # the callback, if any, is still last


def js_errors(text: str, dialect: str = "javascript") -> bool:
    return parse(dialect, text.encode()).root_node.has_error


# --- the six reported bugs -------------------------------------------------------------------


BOTH_PATHS = pytest.mark.parametrize("rewrite", [rewrite, rewrite_cst_only], ids=["ast-located", "libcst-only"])


@BOTH_PATHS
def test_import_is_not_put_inside_a_parenthesised_import(rewrite: Any) -> None:
    text = ('from typing import (\n    Any,\n)\nimport subprocess\n\n\ndef go(x: Any) -> None:\n'
            '    subprocess.run(["claude", "-p", "hi"])\n\n\ngo(1)\n')
    new, reason = rewrite(text, py_site(text))
    assert new is not None, reason
    assert "from typing import (\n    Any,\n)\n" in new
    assert "\nimport os\n" in new
    assert_same_launch(text, new)


@BOTH_PATHS
def test_import_is_not_put_inside_a_docstring(rewrite: Any) -> None:
    text = ('"""Tool.\n\nfrom here on everything is generated\nimport this or that\n"""\n'
            'import subprocess\n\nsubprocess.run(["claude", "-p", "hi"])\n')
    new, reason = rewrite(text, py_site(text))
    assert new is not None, reason
    module = ast.parse(new)
    assert ast.get_docstring(module, clean=False) == "Tool.\n\nfrom here on everything is generated\nimport this or that\n"
    assert any(isinstance(s, ast.Import) and s.names[0].name == "os" for s in module.body)
    assert_same_launch(text, new)


@BOTH_PATHS
def test_existing_os_alias_is_reused(rewrite: Any) -> None:
    text = 'import os as _os\nimport subprocess\n\nsubprocess.run(["claude", "-p", "hi"], cwd=_os.getcwd())\n'
    new, reason = rewrite(text, py_site(text))
    assert new is not None, reason
    assert f'_os.environ["{KEY}"]' in new and "import os\n" not in new
    assert_same_launch(text, new)


@BOTH_PATHS
def test_kwargs_splat_is_reported_manual_not_doubled(rewrite: Any) -> None:
    text = 'import subprocess\nopts = {"text": True}\nsubprocess.run(["claude", "-p", "hi"], **opts)\n'
    new, reason = rewrite(text, py_site(text))
    assert new is None and "**kwargs" in reason
    star = 'import subprocess\nargs = [["claude"]]\nsubprocess.run(*args)\n'
    assert rewrite(star, py_site(star))[0] is None


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_exec_file_keeps_its_callback(tmp_path: Path) -> None:
    text = ('const { execFile } = require("child_process");\n'
            "execFile('claude', ['-p', 'hi'], (err, out) => { globalThis.called += 1; });\n")
    new, reason = rewrite(text, js_site(text, "execFile('claude'", "execFile"))
    assert new is not None, reason
    assert "(err, out) => { globalThis.called += 1; }" in new and not js_errors(new)
    assert_same_js_launch(text, new, tmp_path)


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_spawn_keeps_computed_arguments_and_options(tmp_path: Path) -> None:
    text = ('const { spawn } = require("child_process");\n'
            "function buildArgs() { return ['-p', 'hi']; }\n"
            'const cwd = "/tmp", stdio = "inherit";\n'
            "spawn('claude', buildArgs(), {cwd, stdio});\n")
    new, reason = rewrite(text, js_site(text, "spawn('claude'", "spawn"))
    assert new is not None, reason
    assert "...buildArgs()" in new and "cwd, stdio" in new and not js_errors(new)
    assert_same_js_launch(text, new, tmp_path)


def test_the_six_shapes_without_node() -> None:
    """The JavaScript bugs checked on the syntax tree, for machines without node."""
    callback = ("const { execFile } = require('child_process');\n"
                "execFile('claude', ['-p'], (err, out) => { done(err, out); });\n")
    new, _ = rewrite(callback, js_site(callback, "execFile('claude'", "execFile"))
    assert new is not None and not js_errors(new)
    assert new.rstrip().endswith("(err, out) => { done(err, out); });")
    computed = "const { spawn } = require('child_process');\nspawn('claude', buildArgs(), {cwd, stdio});\n"
    new, _ = rewrite(computed, js_site(computed, "spawn('claude'", "spawn"))
    assert new is not None and not js_errors(new)
    assert "['claude', ...buildArgs()]" in new and "{cwd, stdio, env: {" in new


# --- more shapes -----------------------------------------------------------------------------


def _plan(tmp_path: Path, text: str, sites: list[LaunchSite]) -> Any:
    (tmp_path / sites[0].location.path).write_bytes(text.encode())
    findings = tuple(SimpleNamespace(site_id=s.site_id, suppressed="", severity=Severity.HIGH) for s in sites)
    result = SimpleNamespace(launch_sites=tuple(sites), findings=findings)
    return plan_apply(tmp_path, result, RUNNER, {"claude-code": (KEY,)})  # type: ignore[arg-type]


def test_two_sites_and_an_added_import_in_one_file(tmp_path: Path) -> None:
    text = ('import subprocess\n\n\ndef a():\n    subprocess.run(["claude", "-p", "a"])\n    '
            'subprocess.run(["claude", "-p", "b"], text=True)\n')
    plan = _plan(tmp_path, text, [py_site(text, occurrence=0), py_site(text, occurrence=1)])
    assert not plan.manual and len(plan.rewritten) == 2
    _before, after = plan.edits["tool.py"]
    assert after.count(RUNNER) == 2 and after.count("import os") == 1
    ast.parse(after)


def test_crlf_line_endings_survive(tmp_path: Path) -> None:
    text = 'import subprocess\r\n\r\nsubprocess.run(["claude", "-p", "hi"])\r\n'
    plan = _plan(tmp_path, text, [py_site(text)])
    _before, after = plan.edits["tool.py"]
    assert "\r\n" in after and "\n" not in after.replace("\r\n", "")


@pytest.mark.parametrize(("text", "needle", "reason"), [
    ('import subprocess\nsubprocess.run(["claude"], shell=True)\n', "subprocess.run(", "shell=True"),
    ('import subprocess\nsubprocess.run(["claude"], shell=flag)\n', "subprocess.run(", "shell="),
    ('import subprocess\nsubprocess.run(["x"], executable="/usr/bin/claude")\n', "subprocess.run(", "executable="),
    ('import subprocess\nsubprocess.run("claude -p hi")\n', "subprocess.run(", "one string"),
    ('import subprocess\nos = "linux"\nsubprocess.run(["claude"])\n', "subprocess.run(", "`os` is bound"),
    (f'import subprocess\nsubprocess.run(["{RUNNER}", "claude"])\n', "subprocess.run(", "already"),
    ('import subprocess\nsubprocess.run(["claude"]\n', "subprocess.run(", "does not parse"),
])
def test_python_shapes_reported_manual(text: str, needle: str, reason: str) -> None:
    new, why = rewrite(text, py_site(text, needle))
    assert new is None and reason in why


@pytest.mark.parametrize("deep", [
    "x = " + "(\n" * 3000 + "1" + ")\n" * 3000 + 'subprocess.run(["claude"])\n',
    "subprocess.run(\n" * 3000 + '["claude"]' + ")\n" * 3000,
])
def test_deep_nesting_is_refused_not_crashed(deep: str) -> None:
    """libcst's native parser dies of a stack overflow on a few thousand brackets: never fed them."""
    text = "import subprocess\n" + deep
    site = py_site(text)
    for attempt in (rewrite, rewrite_cst_only):
        new, reason = attempt(text, site)
        assert new is None and "too deeply" in reason


def test_python_call_laid_out_one_argument_a_line() -> None:
    text = ('from __future__ import annotations\nimport subprocess\n\nproc = subprocess.run(\n'
            '    ["claude", "-p", "hi"],  # the agent\n    text=True,\n    env=dict(FOO="1"),\n)\n')
    new, reason = rewrite(text, py_site(text))
    assert new is not None, reason
    assert new.startswith("from __future__ import annotations\nimport subprocess\nimport os\n")
    assert "# the agent" in new and new.count("# the agent") == 1
    assert "    timeout=1800,\n)" in new
    assert_same_launch(text, new)


def test_from_os_import_environ_is_reused() -> None:
    text = 'from os import environ as E\nimport subprocess\nsubprocess.check_call(("claude", "-p"))\n'
    new, reason = rewrite(text, py_site(text, "subprocess.check_call(", "subprocess.check_call"))
    assert new is not None, reason
    assert f'E["{KEY}"]' in new and "import os" not in new
    assert_same_launch(text, new)


def test_popen_gets_no_timeout() -> None:
    text = 'import subprocess\nsubprocess.Popen(["claude"], stdout=None)\n'
    new, reason = rewrite(text, py_site(text, "subprocess.Popen(", "subprocess.Popen"))
    assert new is not None, reason
    assert "timeout" not in new
    assert_same_launch(text, new, popen=True)


@pytest.mark.parametrize(("text", "needle", "launcher", "reason"), [
    ("const cp = require('child_process');\ncp.spawn('claude', something);\n", "cp.spawn(", "spawn", "cannot tell"),
    ("const cp = require('child_process');\ncp.spawn('claude', [], {env: {}, ...o});\n", "cp.spawn(", "spawn",
     "spread after `env`"),
    ("const cp = require('child_process');\ncp.spawn('claude', [], {shell: true});\n", "cp.spawn(", "spawn", "shell"),
    ("const cp = require('child_process');\ncp.spawn(...all);\n", "cp.spawn(", "spawn", "spreads"),
    ("const cp = require('child_process');\ncp.spawn('claude', 'x');\n", "cp.spawn(", "spawn", "do not match"),
    ("const cp = require('child_process');\ncp.spawn('claude', [] {;\n", "cp.spawn(", "spawn", "does not parse"),
    (f"const cp = require('child_process');\ncp.spawn('{RUNNER}', ['claude']);\n", "cp.spawn(", "spawn", "already"),
])
def test_js_shapes_reported_manual(text: str, needle: str, launcher: str, reason: str) -> None:
    new, why = rewrite(text, js_site(text, needle, launcher))
    assert new is None and reason in why


def test_typescript_multiline_options_are_merged_in_place() -> None:
    text = ('import { spawn } from "node:child_process";\n'
            'export function go(args: string[], dir: string) {\n'
            '  return spawn("codex", args, {\n'
            '    cwd: dir,\n'
            '    env: { ...process.env, X: "1" },\n'
            '    stdio: "inherit", // keep\n'
            '  });\n}\n')
    new, reason = rewrite(text, js_site(text, 'spawn("codex"', "spawn", "tool.ts"))
    assert new is not None, reason
    assert not js_errors(new, "typescript")
    assert '["codex", ...args]' in new and "cwd: dir," in new and "// keep" in new
    assert "...process.env" not in new and "timeout: 1_800_000" in new


def test_options_variable_is_spread_with_env_last() -> None:
    text = "const cp = require('child_process');\nconst opts = { cwd: '/' };\ncp.execFileSync('claude', ['-p'], opts);\n"
    new, reason = rewrite(text, js_site(text, "cp.execFileSync(", "execFileSync"))
    assert new is not None, reason
    assert "{ timeout: 1_800_000, ...opts, env: {" in new and not js_errors(new)


# --- property: the output equals the input, or parses and keeps every argument ---------------


PY_KWARGS = ["input=data", "capture_output=True", "text=True", "cwd=here", "env=base_env", "timeout=60",
             "timeout=None", "shell=False", "shell=True", "check=False", "**opts", "bufsize"]
PY_IMPORTS = ["", "import os\n", "import os as _os\n", "from os import environ\n", "from os import environ as ENV\n",
              "import os.path\n"]
PY_HEADERS = ["", '"""Tool.\n\nfrom here on it is generated\n"""\n', "#!/usr/bin/env python3\n# a comment\n",
              "'''One line.'''\n"]


@st.composite
def python_programs(draw: Any) -> tuple[str, str, str, bool]:
    header = draw(st.sampled_from(PY_HEADERS))
    future = draw(st.booleans())
    os_import = draw(st.sampled_from(PY_IMPORTS))
    typing_import = draw(st.sampled_from(["", "from typing import (\n    Any,\n)\n", "from typing import Any\n"]))
    alias = draw(st.sampled_from(["subprocess", "sp"]))
    launcher = draw(st.sampled_from(["run", "call", "check_output", "Popen"]))
    argv = draw(st.sampled_from(['["claude", "-p", prompt]', '["claude", *extra, "-p"]', '("claude", prompt)', "cmd",
                                 '"claude -p hi"', "args=cmd"]))
    kwargs = draw(st.lists(st.sampled_from(PY_KWARGS), unique_by=lambda k: k.split("=")[0], max_size=5))
    bufsize = "bufsize" in kwargs
    kwargs = [k for k in kwargs if k != "bufsize"]
    if argv.startswith("args="):
        bufsize = False
    args = [argv, *(["-1"] if bufsize else []), *kwargs]
    if "**opts" in args:
        args.remove("**opts")
        args.append("**opts")
    layout = draw(st.sampled_from(["line", "lines", "lines-trailing"]))
    inside = draw(st.booleans())
    indent = "    " if inside else ""
    name = f"{alias}.{launcher}("
    if layout == "line":
        call = name + ", ".join(args) + ")"
    else:
        inner = ",\n".join(f"{indent}    {a}" for a in args) + ("," if layout == "lines-trailing" else "")
        call = name + "\n" + inner + "\n" + indent + ")"
    setup = ('prompt = "hi"\nextra = ["--x"]\ndata = ""\nhere = "."\nbase_env = {"A": "1"}\n'
             'opts = {"text": True}\ncmd = ["claude", "-p", "hi"]\n')
    body = f"def go():\n    {call}\n\n\ngo()\n" if inside else call + "\n"
    text = (header + ("from __future__ import annotations\n" if future else "") + typing_import + os_import
            + f"import subprocess{' as sp' if alias == 'sp' else ''}\n\n" + setup + "\n" + body)
    safe = "**opts" not in kwargs and "shell=True" not in kwargs and not argv.startswith('"')
    return text, name, f"subprocess.{launcher}", safe


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(python_programs(), st.booleans())
def test_property_python_rewrite_parses_and_keeps_every_argument(program: tuple[str, str, str, bool],
                                                                 cst_only: bool) -> None:
    text, needle, launcher, safe = program
    new, reason = (rewrite_cst_only if cst_only else rewrite)(text, py_site(text, needle, launcher))
    if new is None:
        assert reason and not safe, reason  # a shape that can be rewritten safely is
        return
    assert safe
    assert_same_launch(text, new, popen=launcher == "subprocess.Popen")
    # Only the call and one import line changed.
    old_lines = {line.rstrip(",") for line in text.splitlines()}
    added = [line for line in new.splitlines() if line.rstrip(",") not in old_lines]
    assert all(RUNNER in line or line in ("import os", "") or "env=" in line or "timeout=" in line
               for line in added), added


JS_OPTIONS = ["cwd", 'stdio: "inherit"', 'env: { ...process.env, X: "1" }', "timeout: 5000", "...base",
              "shell: false", 'encoding: "utf8"', "/* note */ windowsHide: true"]


@st.composite
def js_programs(draw: Any) -> tuple[str, str, str, bool]:
    launcher = draw(st.sampled_from(["spawn", "spawnSync", "execFile", "execFileSync"]))
    program = draw(st.sampled_from(['"claude"', "CLAUDE"]))
    args = draw(st.sampled_from([None, "[]", '["-p", "hi"]', '[\n    "-p",\n    prompt,\n  ]', "argv", "buildArgs()",
                                 "null"]))
    options_kind = draw(st.sampled_from([None, "literal", "opts", "makeOpts()", "undefined"]))
    props = draw(st.lists(st.sampled_from(JS_OPTIONS), unique=True, max_size=4))
    multiline = draw(st.booleans())
    trailing = draw(st.booleans())
    callback = draw(st.sampled_from([None, "(err, out) => { globalThis.called += 1; }",
                                     "function (err) { globalThis.called += 1; }", "done"]))
    if launcher != "execFile":
        callback = None
    if options_kind == "literal":
        if multiline and props:
            options = "{\n    " + ",\n    ".join(props) + ("," if trailing else "") + "\n  }"
        else:
            options = "{" + ", ".join(props) + ("," if trailing and props else "") + "}"
    else:
        options = options_kind
    parts = [program]
    if args is not None:
        parts.append(args)
    elif options is not None and draw(st.booleans()):
        parts.append("null")
    if options is not None:
        parts.append(options)
    parts += [callback] if callback else []
    call = f"cp.{launcher}(" + ", ".join(parts) + ");"
    text = ("const cp = require('child_process');\n"
            'const CLAUDE = "claude";\nconst prompt = "hi";\nconst argv = ["-p", prompt];\n'
            'const base = { cwd: "/" };\nconst opts = { cwd: "/" };\nconst cwd = "/tmp";\n'
            "function buildArgs() { return ['-p', 'x']; }\nfunction makeOpts() { return { cwd: '/' }; }\n"
            "function done(err) { globalThis.called += 1; }\n"
            + call + "\n")
    rest = parts[1:]
    unknown = lambda a: a in ("buildArgs()", "makeOpts()")  # noqa: E731 - args, options or (execFile) callback
    objectish = lambda a: a == "opts" or a.startswith("{")  # noqa: E731
    callbackish = lambda a: a == "done" or "=>" in a or a.startswith("function")  # noqa: E731
    ambiguous = (len(rest) == 1 and unknown(rest[0])) or (
        launcher == "execFile" and len(rest) == 2
        and ((unknown(rest[0]) and (callbackish(rest[1]) or unknown(rest[1])))
             or (unknown(rest[1]) and not objectish(rest[0]))))
    unsafe_props = options_kind == "literal" and any(p.startswith("...") for p in props) and \
        any(p.startswith("env") for p in props) and \
        [p.startswith("...") for p in props].index(True) > [p.startswith("env") for p in props].index(True)
    return text, f"cp.{launcher}(", launcher, not (ambiguous or unsafe_props)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(js_programs())
def test_property_js_rewrite_parses_and_keeps_every_argument(tmp_path: Path, program: tuple[str, str, str, bool]) -> None:
    text, needle, launcher, safe = program
    assume(not js_errors(text))
    new, reason = rewrite(text, js_site(text, needle, launcher))
    if new is None:
        assert reason and not safe, reason
        return
    assert not js_errors(new)
    # The original call's arguments, apart from the program and env, are all still in the new call.
    tree = parse("javascript", new.encode())
    start = new.index(needle)
    node = tree.root_node.descendant_for_byte_range(start, start)
    while node.type != "call_expression":
        node = node.parent
    call_text = new[node.start_byte : node.end_byte]
    old_call = text[text.index(needle) : text.index(");", text.index(needle)) + 1]
    for piece in ("(err, out) => { globalThis.called += 1; }", "function (err) { globalThis.called += 1; }",
                  "buildArgs()", "makeOpts()", "cwd", 'stdio: "inherit"', "timeout: 5000", "...base", "/* note */",
                  '"-p"', "prompt", "argv", "opts", "done", "CLAUDE", '"claude"'):
        if piece in old_call and piece not in ("cwd",):
            assert piece in call_text, (piece, old_call, call_text)
    if NODE is not None:
        work = tmp_path / f"run-{abs(hash(text))}"
        work.mkdir(exist_ok=True)
        assert_same_js_launch(text, new, work)


@settings(max_examples=60, deadline=None)
@given(js_programs())
def test_property_ts_rewrite_parses(program: tuple[str, str, str, bool]) -> None:
    text, needle, launcher, _safe = program
    ts = text.replace("function done(err)", "function done(err: unknown)")
    assume(not js_errors(ts, "typescript"))
    new, reason = rewrite(ts, js_site(ts, needle, launcher, "tool.ts"))
    if new is not None:
        assert not js_errors(new, "typescript"), new
    else:
        assert reason


def test_compile_check_is_not_vacuous() -> None:
    """The property tests' checks do fail on the broken outputs the old rewriter produced."""
    broken = 'from typing import (\nimport os\n    Any,\n)\n'
    with pytest.raises(SyntaxError):
        ast.parse(broken)
    with pytest.raises(NameError):
        run_python('import subprocess\nsubprocess.run(["x"], env={"K": os.environ["K"]})\n')
    with pytest.raises(TypeError):
        run_python('import subprocess\nopts = {"env": {}}\nsubprocess.run(["x"], **opts, env={})\n')
    assert sys.version_info >= (3, 10)
