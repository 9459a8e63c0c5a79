"""Time and peak memory of one scan per hostile input (the attacks of the security tests).

    python bench/hostile.py [--keep DIR]

Each case is built in a scratch folder, scanned once with `python -m scanner scan --format json`
in a fresh process, and reported as wall seconds, peak RSS (`getrusage(RUSAGE_CHILDREN)` of a
helper process per case) and the verdict. The bound checked is 500 MB peak RSS per case.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT_MB = 500


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def makefiles(root: Path) -> None:  # four 2 MB Makefiles of agent recipes
    recipe = "t{0}:\n\tclaude -p go{0} --dangerously-skip-permissions\n"
    body = "".join(recipe.format(i) for i in range(40_000))[: 2 * 1024 * 1024 - 1]
    for n in range(4):
        _write(root / f"m{n}" / "Makefile", body[: body.rfind("\n") + 1])


def gitignore_line(root: Path) -> None:  # one 5 MB .gitignore line
    _write(root / ".gitignore", "*" * 5_000_000 + "x\n")
    _write(root / "run.py", 'import subprocess\nsubprocess.run(["claude", "--dangerously-skip-permissions"])\n')


def gitignore_sparse(root: Path) -> None:  # a 1 GB sparse .gitignore
    with open(root / ".gitignore", "wb") as handle:
        handle.truncate(1024 * 1024 * 1024)
    _write(root / "run.sh", "claude -p x --dangerously-skip-permissions\n")


def yaml_nested(root: Path) -> None:  # YAML nested 500 levels beside a launch
    _write(root / "docker-compose.yml", "services:\n  a:\n    command: claude --dangerously-skip-permissions\n    x: "
           + "[" * 500 + "]" * 500 + "\n")


def json_nested(root: Path) -> None:  # .mcp.json nested 50,000 levels
    _write(root / ".mcp.json", '{"mcpServers": {"x": {"command": "claude", "args": ' + "[" * 50_000 + "]" * 50_000 + "}}}\n")


def padded(root: Path) -> None:  # a launch padded past 2 MiB, and a 64 MiB one
    _write(root / "big.py", 'import subprocess\nsubprocess.run(["claude"])\n#' + "x" * (3 * 1024 * 1024) + "\n")
    _write(root / "huge.py", "#" + "x" * (70 * 1024 * 1024) + '\nimport subprocess\nsubprocess.run(["claude"])\n')


CASES: dict[str, Callable[[Path], None]] = {
    "4 x 2 MB Makefile of agent recipes": makefiles,
    "5 MB .gitignore line": gitignore_line,
    "1 GB sparse .gitignore": gitignore_sparse,
    "YAML nested 500 levels": yaml_nested,
    ".mcp.json nested 50k levels": json_nested,
    "launches padded past 2 MiB / 64 MiB": padded,
}

_MEASURE = """
import resource, subprocess, sys, time, json
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], capture_output=True)
wall = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
verdict = json.loads(p.stdout or b'{}').get('verdict', 'error: ' + p.stderr.decode()[-200:])
print(json.dumps({'wall': wall, 'rss_mb': rss, 'verdict': verdict, 'rc': p.returncode}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", type=Path, help="build the cases here and keep them")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="blastwall-hostile-"))
    worst = 0.0
    print(f"{'case':40} {'wall s':>7} {'peak MB':>8}  verdict")
    for name, build in CASES.items():
        root = base / build.__name__
        root.mkdir(parents=True, exist_ok=True)
        build(root)
        cmd = [sys.executable, "-c", _MEASURE, sys.executable, "-m", "scanner", "scan", str(root), "-f", "json",
               "--no-progress", "--fail-on", "never"]
        started = time.perf_counter()
        out = json.loads(subprocess.run(cmd, capture_output=True, check=True, cwd=ROOT).stdout)
        _ = time.perf_counter() - started
        worst = max(worst, out["rss_mb"])
        print(f"{name:40} {out['wall']:7.2f} {out['rss_mb']:8.0f}  {out['verdict']}")
    print(f"worst peak RSS {worst:.0f} MB (bound {LIMIT_MB} MB): {'ok' if worst < LIMIT_MB else 'OVER'}")
    return 0 if worst < LIMIT_MB else 1


if __name__ == "__main__":
    sys.exit(main())
