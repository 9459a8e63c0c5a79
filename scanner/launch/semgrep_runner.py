"""Run the semgrep rule pack on the files our own analyzers do not parse, and map its results.

semgrep runs as a subprocess with a minimal environment (no operator credentials, metrics and
version checks off, a throw-away HOME), on an explicit list of target files. Its JSON output is
mapped to plain frozen dataclasses; nothing here raises on bad output: a file semgrep could not
analyse is reported in ``not_analysed`` with the reason, never silently dropped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from scanner.model import CATEGORIES

__all__ = [
    "SEMGREP_LANG_EXTS",
    "SemgrepHit",
    "SemgrepOutcome",
    "find_semgrep",
    "run_semgrep",
]

SEMGREP_LANG_EXTS: dict[str, str] = {
    ".go": "go",
    ".java": "java",
    ".kt": "kotlin",
    ".kts": "kotlin",
    ".rb": "ruby",
    ".rs": "rust",
    ".cs": "csharp",
    ".php": "php",
}

NOT_INSTALLED = "semgrep is not installed"

_SEVERITIES = frozenset({"critical", "high", "medium", "low", "info"})
_CONFIDENCES = frozenset({"high", "medium", "low"})
_CATEGORIES = frozenset(CATEGORIES)
# semgrep's own severities for rules that carry no blastwall mapping (a user's own rules).
_SEMGREP_SEVERITY = {
    "CRITICAL": "critical",
    "ERROR": "high",
    "HIGH": "high",
    "WARNING": "medium",
    "MEDIUM": "medium",
    "INFO": "low",
    "LOW": "low",
}
_MAX_REASON = 300


@dataclass(frozen=True)
class SemgrepHit:
    rule_id: str
    category: str
    severity: str
    confidence: str
    semgrep_id: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    message: str


@dataclass(frozen=True)
class SemgrepOutcome:
    hits: tuple[SemgrepHit, ...]
    not_analysed: tuple[tuple[str, str], ...]
    error: str


def find_semgrep() -> str | None:
    """The semgrep executable on PATH, else the one installed next to this interpreter."""
    found = shutil.which("semgrep")
    if found:
        return found
    name = "semgrep.exe" if os.name == "nt" else "semgrep"
    candidate = Path(sys.executable).parent / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    return None


def run_semgrep(
    root: Path,
    targets: Sequence[str],
    rule_dirs: Sequence[Path],
    timeout: float = 120.0,
) -> SemgrepOutcome:
    """Run semgrep with every rule dir on the given target files (paths relative to root)."""
    root = Path(root)
    wanted = sorted({_normalise(root, t) for t in targets if t})
    if not wanted:
        return SemgrepOutcome(hits=(), not_analysed=(), error="")
    missing = [t for t in wanted if not (root / t).is_file()]
    wanted = [t for t in wanted if t not in missing]
    outcome = _run(root, wanted, rule_dirs, timeout) if wanted else SemgrepOutcome((), (), "")
    if not missing:
        return outcome
    not_analysed = dict(outcome.not_analysed)
    not_analysed.update((t, "file not found") for t in missing)
    return SemgrepOutcome(outcome.hits, tuple(sorted(not_analysed.items())), outcome.error)


def _run(root: Path, wanted: list[str], rule_dirs: Sequence[Path], timeout: float) -> SemgrepOutcome:
    exe = find_semgrep()
    if exe is None:
        return _nothing_analysed(wanted, NOT_INSTALLED, error="")
    if not rule_dirs:
        return _nothing_analysed(wanted, "no semgrep rules to run", error="no semgrep rules to run")

    cmd = [
        exe,
        "--json",
        "--metrics=off",
        "--disable-version-check",
        "--no-git-ignore",
        "--no-rewrite-rule-ids",
        "--quiet",
    ]
    for rule_dir in rule_dirs:
        cmd += ["--config", str(rule_dir)]
    # "./" keeps a file named like an option from being read as one.
    cmd += [t if not t.startswith("-") else f"./{t}" for t in wanted]

    with tempfile.TemporaryDirectory(prefix="blastwall-semgrep-") as home:
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": home,
            "LANG": "C.UTF-8",
            "SEMGREP_SEND_METRICS": "off",
            "SEMGREP_ENABLE_VERSION_CHECK": "0",
            # semgrep asks git for the remote's URL: point git at an empty folder so it never
            # reads (let alone runs anything from) the scanned repository's git config.
            "GIT_DIR": os.path.join(home, "no-repository"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
        }
        try:
            proc = subprocess.run(
                cmd,
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            reason = f"semgrep timed out after {timeout:g}s"
            return _nothing_analysed(wanted, reason, error=reason)
        except OSError as exc:
            reason = _clip(f"semgrep could not be started: {exc}")
            return _nothing_analysed(wanted, reason, error=reason)

    return _parse(root, wanted, proc.returncode, proc.stdout, proc.stderr)


def _parse(root: Path, wanted: list[str], returncode: int, stdout: bytes, stderr: bytes) -> SemgrepOutcome:
    try:
        doc = json.loads(stdout.decode("utf-8", errors="replace"))
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        detail = _first_line(stderr.decode("utf-8", errors="replace")) or "no JSON output"
        reason = _clip(f"semgrep failed (exit {returncode}): {detail}")
        return _nothing_analysed(wanted, reason, error=reason)

    not_analysed: dict[str, str] = {}
    global_errors: list[str] = []
    for err in _list(doc.get("errors")):
        if not isinstance(err, Mapping):
            continue
        message = _first_line(str(err.get("message") or err.get("type") or "semgrep error"))
        kind = err.get("type")
        kind_text = kind[0] if isinstance(kind, list) and kind else kind
        reason = _clip(f"{kind_text}: {message}" if isinstance(kind_text, str) and kind_text else message)
        path = err.get("path")
        if isinstance(path, str) and path:
            not_analysed.setdefault(_normalise(root, path), reason)
        elif str(err.get("level", "error")).lower() == "error":
            global_errors.append(reason)

    if global_errors and not _list(doc.get("results")) and returncode != 0:
        reason = global_errors[0]
        return _nothing_analysed(wanted, reason, error=reason)

    hits: dict[tuple[str, str, int, int], SemgrepHit] = {}
    for result in _list(doc.get("results")):
        hit = _hit(root, result)
        if hit is None:
            continue
        key = (hit.semgrep_id, hit.path, hit.line, hit.column)
        kept = hits.get(key)
        if kept is None or _sort_key(hit) < _sort_key(kept):
            hits[key] = hit

    return SemgrepOutcome(
        hits=tuple(sorted(hits.values(), key=_sort_key)),
        not_analysed=tuple(sorted(not_analysed.items())),
        error="; ".join(global_errors),
    )


def _hit(root: Path, result: Any) -> SemgrepHit | None:
    if not isinstance(result, Mapping):
        return None
    semgrep_id = result.get("check_id")
    path = result.get("path")
    start = result.get("start")
    end = result.get("end")
    if not (isinstance(semgrep_id, str) and isinstance(path, str)
            and isinstance(start, Mapping) and isinstance(end, Mapping)):
        return None
    line, column = _int(start.get("line")), _int(start.get("col"))
    end_line, end_column = _int(end.get("line")), _int(end.get("col"))
    if line < 1 or column < 1:
        return None
    extra = result.get("extra")
    extra = extra if isinstance(extra, Mapping) else {}
    metadata = extra.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    own = metadata.get("blastwall")
    semgrep_severity = str(extra.get("severity") or "").upper()
    fallback_severity = _SEMGREP_SEVERITY.get(semgrep_severity, "low")
    if isinstance(own, Mapping) and isinstance(own.get("rule_id"), str) and own["rule_id"]:
        rule_id = own["rule_id"]
        category = own.get("category") if own.get("category") in _CATEGORIES else "inline-launch"
        severity = own.get("severity") if own.get("severity") in _SEVERITIES else fallback_severity
    else:
        rule_id = f"semgrep/{semgrep_id}"
        category = "inline-launch"
        severity = fallback_severity
    confidence = str(metadata.get("confidence") or "medium").lower()
    if confidence not in _CONFIDENCES:
        confidence = "medium"
    message = " ".join(str(extra.get("message") or "").split())
    return SemgrepHit(
        rule_id=rule_id,
        category=str(category),
        severity=str(severity),
        confidence=confidence,
        semgrep_id=semgrep_id,
        path=_normalise(root, path),
        line=line,
        column=column,
        end_line=max(end_line, line),
        end_column=max(end_column, 1),
        message=message,
    )


def _sort_key(hit: SemgrepHit) -> tuple[Any, ...]:
    return (hit.path, hit.line, hit.column, hit.rule_id, hit.semgrep_id, hit.end_line, hit.end_column, hit.message)


def _nothing_analysed(targets: Sequence[str], reason: str, error: str) -> SemgrepOutcome:
    return SemgrepOutcome(hits=(), not_analysed=tuple((t, reason) for t in sorted(targets)), error=error)


def _normalise(root: Path, path: str) -> str:
    """A relative POSIX path under root, as the rest of the report uses."""
    text = path.replace("\\", "/")
    candidate = Path(text)
    if candidate.is_absolute():
        try:
            text = candidate.relative_to(root.resolve()).as_posix()
        except ValueError:
            try:
                text = candidate.relative_to(root).as_posix()
            except ValueError:
                return text
    parts = [p for p in PurePosixPath(text).parts if p not in ("", ".")]
    return "/".join(parts) if parts else text


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"
