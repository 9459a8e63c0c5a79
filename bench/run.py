"""Benchmark: blastwall against ripgrep with the catalog's terms and semgrep with the pack, on one tree.

    python bench/run.py TREE [--runs 3] [--jobs 2] [--semgrep-runs N] [--skip-semgrep] [--skip-rg]
                             [--skip-read] [--json FILE]

In one run, on the same tree: blastwall (`scan -f json -o /dev/null --timings`), `rg -l -i` with
the same terms over the tree, the same over exactly the files blastwall's discovery keeps, a plain
parallel read of those files (the floor), semgrep with `rules/semgrep`, and `blastwall --version`.
Every command runs in a fresh helper process that reports its children's CPU time and peak RSS
(resource.getrusage(RUSAGE_CHILDREN).ru_maxrss: the largest single process of the run, so a pool
is measured by its biggest worker or its parent). Prints the median of the runs, the ratios the
targets are about, and the median of blastwall's per-stage times (from --timings).
"""

from __future__ import annotations

import argparse
import json
import os
import re
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
# Targets from the speed issue: benchmark figures, never timed tests.
RG_RATIO = 4.0  # whole tree, `jobs` workers, at most this many times `rg -l -i`'s wall time
SEMGREP_RATIO = 20.0  # at least this many times faster than semgrep with the pack
RSS_MB = 200.0
SMALL_FILES, SMALL_SECONDS = 200, 0.5  # a repository of at most SMALL_FILES candidates
VERSION_SECONDS = 0.1
_STAGE_ROW = re.compile(r"^  (?P<stage>[a-z]+) +(?P<wall>\d+\.\d\d|-) +(?P<cpu>\d+\.\d\d|-)  ")


def _measure(cmd: list[str]) -> None:
    """Helper mode: run one command, print wall time, CPU and the children's peak RSS as JSON."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_quiet_env())
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"wall": wall, "rss_kb": usage.ru_maxrss, "cpu": usage.ru_utime + usage.ru_stime,
                      "rc": proc.returncode, "stderr": proc.stderr.decode("utf-8", "replace")[-4000:]}))


def _quiet_env() -> dict[str, str]:
    """No telemetry or version checks (semgrep would wait on the network for them)."""
    return {**os.environ, "SEMGREP_SEND_METRICS": "off", "SEMGREP_ENABLE_VERSION_CHECK": "0"}


def _plain_read(tree: str, jobs: int) -> None:
    """Helper mode: the floor. The same discovery, then `jobs` processes read every candidate."""
    from concurrent.futures import ProcessPoolExecutor

    sys.path.insert(0, str(REPO))
    from scanner.discover.walk import walk

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


def _rg_files(rg: str, pattern_file: str, list_file: str, jobs: int) -> None:
    """Helper mode: `rg -l -i` over exactly the listed files (in argv-sized chunks)."""
    paths = [p for p in Path(list_file).read_text(encoding="utf-8").split("\0") if p]
    chunk = 2000
    for i in range(0, len(paths), chunk):
        subprocess.run([rg, "--no-config", "-l", "-i", "-j", str(jobs), "-f", pattern_file, "--", *paths[i : i + chunk]],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_once(cmd: list[str], cwd: Path) -> dict:
    out = subprocess.run([PY, str(Path(__file__).resolve()), "--_measure", "--", *cmd], cwd=cwd,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def stage_times(stderr: str) -> dict[str, tuple[float | None, float | None]]:
    """blastwall's --timings table: stage -> (wall, cpu)."""
    rows: dict[str, tuple[float | None, float | None]] = {}
    for line in stderr.splitlines():
        match = _STAGE_ROW.match(line)
        if match:
            rows[match["stage"]] = tuple(None if v == "-" else float(v) for v in (match["wall"], match["cpu"]))  # type: ignore[assignment]
    return rows


def median_of(name: str, cmd: list[str], runs: int, cwd: Path) -> dict:
    results = []
    for i in range(runs):
        res = run_once(cmd, cwd)
        if res["rc"] not in (0, 1):
            print(f"  {name}: exit {res['rc']}: {res['stderr'].strip()[-400:]}", file=sys.stderr)
        print(f"  {name} run {i + 1}/{runs}: {res['wall']:.2f} s wall, {res['cpu']:.2f} s CPU, "
              f"{res['rss_kb'] / 1024:.0f} MB", file=sys.stderr)
        results.append(res)
    stages: dict[str, tuple[float | None, float | None]] = {}
    per_run = [stage_times(r["stderr"]) for r in results]
    for stage in per_run[0] if per_run else ():
        walls = [r[stage][0] for r in per_run if stage in r and r[stage][0] is not None]
        cpus = [r[stage][1] for r in per_run if stage in r and r[stage][1] is not None]
        stages[stage] = (statistics.median(walls) if walls else None, statistics.median(cpus) if cpus else None)
    return {"name": name, "wall": statistics.median(r["wall"] for r in results),
            "cpu": statistics.median(r["cpu"] for r in results),
            "rss_mb": statistics.median(r["rss_kb"] for r in results) / 1024, "runs": runs, "stages": stages}


def _blastwall_cmd() -> list[str]:
    script = Path(PY).parent / ("blastwall.exe" if os.name == "nt" else "blastwall")
    return [str(script)] if script.is_file() else [PY, "-m", "scanner"]


def _fmt(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "-"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tree", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--semgrep-runs", type=int, default=None, help="runs for semgrep (default: --runs)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--skip-semgrep", action="store_true")
    ap.add_argument("--skip-rg", action="store_true")
    ap.add_argument("--skip-read", action="store_true", help="leave out the plain parallel read")
    ap.add_argument("--json", type=Path, help="also write the table as JSON here")
    args = ap.parse_args(argv)
    tree = args.tree.resolve()

    sys.path.insert(0, str(REPO))
    # As an installed wheel runs: from bytecode. With PYTHONDONTWRITEBYTECODE set (some CI images
    # set it) a checkout would compile every module it imports on every run.
    import compileall

    compileall.compile_dir(str(REPO / "scanner"), quiet=1)
    from scanner.catalog import load_catalog
    from scanner.discover.walk import walk
    from scanner.discover.native_search import find_rg
    from scanner.engine import native_pattern

    walked = walk(tree)
    files = len(walked.candidates)
    mb = sum(c.size for c in walked.candidates) / 1e6
    print(f"tree: {tree.name}: {walked.files_seen} files seen, {files} candidates, {mb:.1f} MB read", file=sys.stderr)

    rows = []
    blastwall = _blastwall_cmd()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows.append(median_of(f"blastwall -j{args.jobs}", [*blastwall, "scan", str(tree), "-f", "json", "-o", os.devnull,
                                                           "--fail-on", "never", "--no-progress", "--timings",
                                                           "-j", str(args.jobs)], args.runs, REPO))
        if not args.skip_read:
            rows.append(median_of(f"plain read ({args.jobs} processes)",
                                  [PY, str(Path(__file__).resolve()), "--_read", str(tree), str(args.jobs)], args.runs, REPO))
        rg = find_rg()
        if not args.skip_rg and rg:
            pattern = work / "terms.re"
            pattern.write_text(native_pattern(load_catalog()) + "\n", encoding="utf-8")
            rows.append(median_of(f"rg -l -i, tree (-j{args.jobs})",
                                  [rg, "--no-config", "-l", "-i", "-j", str(args.jobs), "-f", str(pattern), str(tree)],
                                  args.runs, REPO))
            listing = work / "files.lst"
            listing.write_text("\0".join(str(tree / c.path) for c in walked.candidates), encoding="utf-8")
            rows.append(median_of("rg -l -i, blastwall's candidates",
                                  [PY, str(Path(__file__).resolve()), "--_rg", rg, str(pattern), str(listing), str(args.jobs)],
                                  args.runs, REPO))
        semgrep = shutil.which("semgrep") or shutil.which("semgrep", path=str(Path(PY).parent))
        if not args.skip_semgrep and semgrep:
            config = REPO / "rules" / "semgrep"
            rows.append(median_of(f"semgrep --config {config.name} (-j{args.jobs})",
                                  [semgrep, "--config", str(config), "--metrics=off", "--disable-version-check",
                                   "-j", str(args.jobs), "--quiet", str(tree)],
                                  args.semgrep_runs or args.runs, REPO))
        version = median_of("blastwall --version", [*blastwall, "--version"], max(5, args.runs), REPO)

    print(f"\n{tree.name}: {files} files, {mb:.1f} MB (median of {args.runs} runs, {args.jobs} jobs)\n")
    print("| tool | wall s | CPU s | files/s | MB/s | peak RSS MB |\n|---|---:|---:|---:|---:|---:|")
    for r in [*rows, version]:
        print(f"| {r['name']} | {r['wall']:.2f} | {r['cpu']:.2f} | {files / r['wall']:,.0f} | {mb / r['wall']:.1f} "
              f"| {r['rss_mb']:.0f} |")
    bw = rows[0]
    print(f"\nblastwall per stage (median of {args.runs}; CPU of the analysis summed over its workers):\n")
    print("| stage | wall s | CPU s |\n|---|---:|---:|")
    for stage, (wall, cpu) in bw["stages"].items():
        print(f"| {stage} | {_fmt(wall)} | {_fmt(cpu)} |")

    tree_rg = next((r for r in rows if r["name"].startswith("rg -l -i, tree")), None)
    semgrep_row = next((r for r in rows if r["name"].startswith("semgrep")), None)
    print("\ntargets:")
    if tree_rg is not None:
        ratio = bw["wall"] / tree_rg["wall"]
        print(f"  whole tree <= {RG_RATIO:g}x `rg -l -i` wall: {ratio:.1f}x "
              f"(CPU {bw['cpu'] / max(tree_rg['cpu'], 1e-9):.1f}x) -> {'met' if ratio <= RG_RATIO else 'missed'}")
    if semgrep_row is not None:
        ratio = semgrep_row["wall"] / bw["wall"]
        print(f"  >= {SEMGREP_RATIO:g}x faster than semgrep with the pack: {ratio:.1f}x -> "
              f"{'met' if ratio >= SEMGREP_RATIO else 'missed'}")
    print(f"  peak RSS <= {RSS_MB:g} MB: {bw['rss_mb']:.0f} MB -> {'met' if bw['rss_mb'] <= RSS_MB else 'missed'}")
    if files <= SMALL_FILES:
        print(f"  a repository of {files} files <= {SMALL_SECONDS:g} s: {bw['wall']:.2f} s -> "
              f"{'met' if bw['wall'] <= SMALL_SECONDS else 'missed'}")
    print(f"  --version <= {VERSION_SECONDS:g} s: {version['wall']:.3f} s -> "
          f"{'met' if version['wall'] <= VERSION_SECONDS else 'missed'}")
    if args.json:
        args.json.write_text(json.dumps({"tree": tree.name, "files": files, "mb": mb, "rows": rows, "version": version},
                                        indent=2))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--_measure":
        _measure(sys.argv[3:] if sys.argv[2] == "--" else sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "--_read":
        _plain_read(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--_rg":
        _rg_files(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        sys.exit(main())
