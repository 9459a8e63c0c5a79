"""Build the wheel, install it (not editable) into a scratch venv and scan a fixture with it."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]


def test_wheel_installs_and_scans(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(ROOT)],
                           capture_output=True, text=True, timeout=600)
    if build.returncode != 0 and "hatchling" in build.stderr:
        build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), str(ROOT)],
                               capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next(dist.glob("blastwall-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "scanner/_data/rules/agents.yaml" in names
    assert "scanner/_data/reports/report.md.j2" in names
    assert not any(n.startswith(("rules/", "reports/", "fixtures/", "tests/")) for n in names)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)], check=True,
                   capture_output=True, timeout=300)
    # Dependencies come from the test environment (offline); blastwall itself only from the wheel.
    # The .pth goes in after the install, so pip never sees a blastwall the test venv may hold.
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    deps = [p for p in sys.path if p.endswith("site-packages")]
    Path(site, "zz_test_deps.pth").write_text("\n".join(deps) + "\n")
    proc = subprocess.run([str(venv / "bin" / "blastwall"), "scan", str(ROOT / "fixtures" / "repos" / "ts-codex-yolo"),
                           "-f", "json", "--fail-on", "never"], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env={"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["verdict"] == "present"
    where = subprocess.run([str(py), "-c", "import scanner; print(scanner.__file__)"], capture_output=True, text=True,
                           cwd=tmp_path, timeout=60).stdout
    assert str(venv) in where  # the installed copy, not the source tree
