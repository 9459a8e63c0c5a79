"""Benchmark: blastwall against a plain parallel read of the same files, ripgrep and semgrep.

    python bench/run.py TREE [--runs 3] [--jobs 2] [--semgrep-runs N] [--skip-semgrep] [--skip-rg]

Every tool runs in a fresh helper process that reports its children's peak RSS
(resource.getrusage(RUSAGE_CHILDREN).ru_maxrss: the largest single process of the run, so a
pool is measured by its biggest worker or its parent). Rates use one denominator for every
row: the files blastwall's discovery keeps (after .gitignore, vendored, documentation,
binary and size filters) and their bytes. Prints the median of the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable

# Used only when rules/semgrep holds no rule file yet: three simple agent-launch rules.
THROWAWAY_RULES = """rules:
  - id: bench-subprocess-agent
    languages: [python]
    severity: WARNING
    message: agent CLI started by subprocess
    pattern-either:
      - pattern: subprocess.run([$A, ...], ...)
      - pattern: subprocess.Popen([$A, ...], ...)
  - id: bench-child-process-agent
    languages: [javascript, typescript]
    severity: WARNING
    message: agent CLI started by child_process
    pattern-either:
      - pattern: spawn($A, ...)
      - pattern: execSync($A, ...)
  - id: bench-shell-agent
    languages: [bash]
    severity: WARNING
    message: agent CLI in a shell script
    pattern-regex: \\b(claude|codex|gemini|aider)\\b.*--(dangerously-skip-permissions|yolo)
"""


def _measure(cmd: list[str]) -> None:
    """Helper mode: run one command, print wall time and the children's peak RSS as JSON."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"wall": wall, "rss_kb": usage.ru_maxrss, "cpu": usage.ru_utime + usage.ru_stime,
                      "rc": proc.returncode, "stderr": proc.stderr.decode("utf-8", "replace")[-2000:]}))


def _plain_read(tree: str, jobs: int) -> None:
    """Helper mode: the floor. The same discovery, then `jobs` processes read every candidate."""
    from concurrent.futures import ProcessPoolExecutor

    sys.path.insert(0, str(REPO))
    from scanner.discovery import walk

    paths = [os.path.join(tree, c.path) for c in walk(Path(tree)).candidates]
    size = max(1, len(paths) // (jobs * 8))
    batches = [paths[i : i + size] for i in range(0, len(paths), size)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        total = sum(pool.map(_read_all, batches))
    print(total)


def _read_all(paths: list[str]) -> int:
    total = 0
    for path in paths:
        try:
            with open(path, "rb") as handle:
                total += len(handle.read())
        except OSError:
            pass
    return total


def _rg_files(pattern_file: str, list_file: str, jobs: int) -> None:
    """Helper mode: ripgrep over exactly the listed files (in argv-sized chunks)."""
    paths = Path(list_file).read_text(encoding="utf-8").split("\0")
    paths = [p for p in paths if p]
    chunk = 4000
    for i in range(0, len(paths), chunk):
        subprocess.run(["rg", "--no-config", "--pcre2", "-l", "-j", str(jobs), "-f", pattern_file, "--", *paths[i : i + chunk]],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_once(cmd: list[str], cwd: Path) -> dict:
    out = subprocess.run([PY, str(Path(__file__).resolve()), "--_measure", "--", *cmd], cwd=cwd,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_of(name: str, cmd: list[str], runs: int, cwd: Path) -> dict:
    results = []
    for i in range(runs):
        res = run_once(cmd, cwd)
        if res["rc"] not in (0, 1):
            print(f"  {name}: exit {res['rc']}: {res['stderr'].strip()[-400:]}", file=sys.stderr)
        print(f"  {name} run {i + 1}/{runs}: {res['wall']:.2f} s, {res['rss_kb'] / 1024:.0f} MB", file=sys.stderr)
        results.append(res)
    return {"name": name, "wall": statistics.median(r["wall"] for r in results),
            "cpu": statistics.median(r["cpu"] for r in results),
            "rss_mb": statistics.median(r["rss_kb"] for r in results) / 1024, "runs": runs}


def semgrep_config(work: Path) -> Path:
    pack = REPO / "rules" / "semgrep"
    if pack.is_dir() and any(p.suffix in (".yaml", ".yml") for p in pack.iterdir()):
        return pack
    rules = work / "throwaway-rules.yaml"
    rules.write_text(THROWAWAY_RULES, encoding="utf-8")
    return rules


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tree", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--semgrep-runs", type=int, default=None, help="runs for semgrep (default: --runs)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--skip-semgrep", action="store_true")
    ap.add_argument("--skip-rg", action="store_true")
    ap.add_argument("--json", type=Path, help="also write the table as JSON here")
    args = ap.parse_args(argv)
    tree = args.tree.resolve()

    sys.path.insert(0, str(REPO))
    from scanner.catalog import load_catalog
    from scanner.discovery import walk
    from scanner.engine import prefilter_pattern

    walked = walk(tree)
    files = len(walked.candidates)
    mb = sum(c.size for c in walked.candidates) / 1e6
    print(f"tree: {tree.name}: {walked.files_seen} files seen, {files} candidates, {mb:.1f} MB read", file=sys.stderr)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows.append(median_of("blastwall", [PY, "-m", "scanner", "scan", str(tree), "-f", "json", "-o", os.devnull,
                                            "--fail-on", "never", "--no-progress", "-j", str(args.jobs)], args.runs, REPO))
        rows.append(median_of(f"plain read ({args.jobs} processes)", [PY, str(Path(__file__).resolve()), "--_read", str(tree),
                                                                       str(args.jobs)], args.runs, REPO))
        if not args.skip_rg and shutil.which("rg"):
            pattern = work / "terms.re"
            pattern.write_text(prefilter_pattern(load_catalog()) + "\n", encoding="utf-8")
            listing = work / "files.lst"
            listing.write_text("\0".join(str(tree / c.path) for c in walked.candidates), encoding="utf-8")
            rows.append(median_of("ripgrep, catalog terms, same files",
                                  [PY, str(Path(__file__).resolve()), "--_rg", str(pattern), str(listing), str(args.jobs)],
                                  args.runs, REPO))
        semgrep = shutil.which("semgrep") or shutil.which("semgrep", path=str(Path(PY).parent))
        if not args.skip_semgrep and semgrep:
            config = semgrep_config(work)
            rows.append(median_of(f"semgrep --config {config.name}",
                                  [semgrep, "--config", str(config), "--metrics=off", "-j", str(args.jobs), "--quiet", str(tree)],
                                  args.semgrep_runs or args.runs, REPO))
        version = median_of("blastwall --version", [PY, "-m", "scanner", "--version"], max(3, args.runs), REPO)

    print(f"\n{files} files, {mb:.1f} MB (median of {args.runs} runs, {args.jobs} jobs)\n")
    print(f"| tool | wall s | CPU s | files/s | MB/s | peak RSS MB |\n|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['name']} | {r['wall']:.2f} | {r['cpu']:.2f} | {files / r['wall']:,.0f} | {mb / r['wall']:.1f} | {r['rss_mb']:.0f} |")
    print(f"\n`blastwall --version`: {version['wall']:.3f} s")
    by = {r["name"].split(" ")[0]: r for r in rows}
    bw = by["blastwall"]["wall"]
    print("\ntargets:")
    if "ripgrep," in by:
        ratio = bw / by["ripgrep,"]["wall"]
        print(f"  within 3x of ripgrep: {ratio:.1f}x -> {'met' if ratio <= 3 else 'missed'}")
    if "semgrep" in by:
        ratio = by["semgrep"]["wall"] / bw
        print(f"  >= 10x faster than semgrep: {ratio:.1f}x -> {'met' if ratio >= 10 else 'missed'}")
    rss = by["blastwall"]["rss_mb"]
    print(f"  peak RSS <= 300 MB: {rss:.0f} MB -> {'met' if rss <= 300 else 'missed'}")
    print(f"  --version <= 0.3 s: {version['wall']:.3f} s -> {'met' if version['wall'] <= 0.3 else 'missed'}")
    if args.json:
        args.json.write_text(json.dumps({"files": files, "mb": mb, "rows": rows, "version_s": version["wall"]}, indent=2))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--_measure":
        _measure(sys.argv[3:] if sys.argv[2] == "--" else sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "--_read":
        _plain_read(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--_rg":
        _rg_files(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit(main())
