"""Property tests: random bytes and mutated real files never crash the per-file analysis (every
analyzer, through the engine), the command reader, the YAML loader or the sanitizers."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.catalog import load_catalog
from scanner.launch.commandline import Word
from scanner.discover.walk import Candidate
from scanner.engine import _prefilter, _worker, prefilter_pattern
from scanner.model import Location
from scanner.parse.trees import SourceFile
from scanner.output.sanitize import md_code, md_fence, md_message, md_text, plain
from scanner.launch.filekinds import ANALYZERS, classify_path
from scanner.parse.yamlsrc import compose_all_safely, compose_safely

ROOT = Path(__file__).resolve().parents[1]
CATALOG = load_catalog()
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# A file name for each analyzer kind, found through the file-kind table itself.
_NAMES = ["a.py", "a.js", "a.ts", "a.tsx", "run.sh", "Makefile", "package.json", ".github/workflows/ci.yml",
          "Dockerfile", "compose.yaml", ".devcontainer/devcontainer.json", "k8s/pod.yaml", ".aider.conf.yml",
          "opencode.json", ".gemini/settings.json", ".codex/config.toml", ".mcp.json", ".claude/settings.json",
          "pyproject.toml", "requirements.txt", "deploy/job.yaml", "tool", "jobs.plist"]
KIND_NAMES: dict[str, str] = {}
for _name in _NAMES:
    _kind = classify_path(_name)
    if _kind and _kind not in KIND_NAMES:
        KIND_NAMES[_kind] = _name
SEEDS = sorted(p for p in (ROOT / "fixtures").rglob("*") if p.is_file() and not p.is_symlink()
               and p.stat().st_size < 20000 and classify_path(p.relative_to(ROOT / "fixtures").as_posix()))
TERMS = [b"claude ", b"codex exec ", b"--dangerously-skip-permissions ", b"docker run ", b"subprocess.run(",
         b"spawn(", b"${{ secrets.X }}", b"\n", b"'", b'"', b"`", b"$(", b"{", b"[", b"- run: ", b"\xff", b"\x00"]


def _analyze(rel: str, data: bytes) -> None:
    """The engine's per-file function on one file: it returns a result, never raises."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        kind = classify_path(rel) or "shebang"
        result = _worker().analyze(Path(tmp), Candidate(rel, kind, len(data)))
    assert isinstance(result.skip_reason, str)
    if result.skip_reason:
        assert not result.sites and not result.findings  # a file not analysed yields nothing half-read
    lines = SourceFile(rel, data).lines
    site_ids = {s.site_id for s in result.sites}
    for site in result.sites:
        assert site.location.path == rel and 1 <= site.location.line <= len(lines)
    for finding in result.findings:
        loc = finding.location
        # Evidence points into the file and quotes the line it points at.
        assert loc.path == rel and 1 <= loc.line <= len(lines) and loc.column >= 1
        assert loc.quote in (lines[loc.line - 1].strip()[:400], "(blank line)")
        assert finding.site_id in site_ids and finding.rule_id in CATALOG.rules
        assert all(r.label for r in finding.related)


def test_every_analyzer_kind_has_a_name() -> None:
    assert set(ANALYZERS) <= set(KIND_NAMES) | {"shebang"}, set(ANALYZERS) - set(KIND_NAMES)


@FAST
@given(kind=st.sampled_from(sorted(KIND_NAMES)), body=st.binary(max_size=2000),
       term=st.sampled_from(TERMS[:7]))
def test_random_bytes_never_crash_an_analyzer(kind: str, body: bytes, term: bytes) -> None:
    _analyze(KIND_NAMES[kind], term + body)  # the term gets the bytes past the prefilter


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(SEEDS), data=st.data())
def test_mutated_fixtures_never_crash(seed: Path, data: st.DataObject) -> None:
    raw = bytearray(seed.read_bytes())
    for _ in range(data.draw(st.integers(1, 6))):
        op = data.draw(st.sampled_from(["flip", "insert", "delete", "dup", "truncate"]))
        at = data.draw(st.integers(0, max(0, len(raw))))
        if op == "flip" and raw:
            raw[min(at, len(raw) - 1)] = data.draw(st.integers(0, 255))
        elif op == "insert":
            raw[at:at] = data.draw(st.sampled_from(TERMS))
        elif op == "delete":
            del raw[at : at + data.draw(st.integers(1, 50))]
        elif op == "dup":
            raw[at:at] = raw[at : at + data.draw(st.integers(1, 200))]
        else:
            del raw[at:]
    _analyze(seed.relative_to(ROOT / "fixtures").as_posix(), bytes(raw))


_LOC = Location("x.sh", 1, 1, 1, 0, "q")
WORDS = st.lists(st.one_of(st.sampled_from(["claude", "codex", "docker", "run", "-v", "$HOME:/h", "--yolo", "sh", "-c",
                                            "env", "-i", "sudo", "-u", "bwrap", "--", "timeout", "30", "npx", "$@"]),
                           st.text(max_size=20)), max_size=12)


@FAST
@given(words=WORDS, dynamic=st.lists(st.booleans(), max_size=12), shell=st.text(max_size=300))
def test_command_reader_never_crashes(words: list[str], dynamic: list[bool], shell: str) -> None:
    reader = _worker().reader
    flags = dynamic + [False] * len(words)
    reader.read(tuple(Word(w, _LOC, d) for w, d in zip(words, flags)))
    reader.read_shell(Word(shell, _LOC))
    reader.read_shell(Word(" ".join(words), _LOC))


@FAST
@given(text=st.one_of(st.text(max_size=500), st.lists(st.sampled_from(
    ["a: 1", "- b", "&x [1]", "*x", "{", "}", "[", "]", ": ", "  ", "\n", "!!python/object:os.system", "'", '"', "|", ">",
     "? ", "---", "...", "%YAML 1.1", "<<: *x", "\t"]), max_size=40).map("".join)))
def test_yaml_loader_never_crashes(text: str) -> None:
    notes: list[str] = []
    compose_safely(text, notes)
    compose_all_safely(text, notes)
    assert all(isinstance(n, str) for n in notes)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_sanitizers_never_crash_and_leave_no_control_characters(text: str) -> None:
    for out in (plain(text), md_text(text), md_code(text), md_message(text)):
        assert "\x1b" not in out and "\n" not in out and "\r" not in out
    fenced = md_fence(text, "py")
    assert "\x1b" not in fenced
    code = md_code(text)
    fence = re.match(r"`+", code).group()
    assert code.endswith(fence) and fence not in code[len(fence) : -len(fence)]  # nothing closes the span early
    assert "@" not in md_text(text).replace("@\u200b", "")


@settings(max_examples=150, deadline=None)
@given(parts=st.lists(st.one_of(st.sampled_from(load_catalog().search_terms() + ("agent -p", "goose run", "q chat", "x-", "-",
                                                                                 "_", ".", "/", "@", " ", "\n")),
                                st.text(alphabet="abc-_ ./\n", max_size=5)), max_size=12))
def test_fast_prefilter_matches_the_documented_pattern(parts: list[str]) -> None:
    data = "".join(parts).encode()
    documented = re.compile(prefilter_pattern(load_catalog()).encode())
    assert bool(_prefilter(load_catalog()).search(data)) == bool(documented.search(data))
