#!/usr/bin/env python3
"""Facts the action's shell steps need, read from files they should not parse themselves.

Standard library only: this runs on the runner's Python, outside blastwall's virtualenv.

    context.py event                 the triggering event: PR number, base SHA, fork or not
    context.py report JSON_REPORT    verdict and finding counts from blastwall's JSON report
    context.py rebase-sarif SARIF PREFIX
                                     prefix relative SARIF URIs with the scanned folder, so a
                                     scan of a sub-folder maps onto repository paths

`event` and `report` print `key=value` lines whose values are drawn from fixed vocabularies
(true/false, digits, hex, the three verdicts), so a shell can read them without quoting risk.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

VERDICTS = ("present", "not present", "unclear")
PR_EVENTS = ("pull_request", "pull_request_target")
# Accounts whose pull_request runs get a read-only token even on the base repository.
READ_ONLY_ACTORS = ("dependabot[bot]",)
_HEX40 = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


def _load_json(path: str) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _emit(pairs: dict[str, str]) -> None:
    for key, value in pairs.items():
        if "\n" in value or "\r" in value:
            raise SystemExit(f"context.py: refusing a multi-line value for {key}")
        print(f"{key}={value}")


def _full_name(repo: Any) -> str:
    if isinstance(repo, dict):
        name = repo.get("full_name")
        if isinstance(name, str):
            return name
    return ""


def event_facts(environ: dict[str, str]) -> dict[str, str]:
    """Whether this run is a PR, whether it comes from a fork, and what its base commit is."""
    facts = {"is_pr": "false", "is_fork": "false", "read_only": "false", "pr_number": "", "base_sha": ""}
    event_name = environ.get("GITHUB_EVENT_NAME", "")
    event_path = environ.get("GITHUB_EVENT_PATH", "")
    if event_name not in PR_EVENTS:
        return facts
    try:
        event = _load_json(event_path) if event_path else {}
    except (OSError, ValueError):
        event = {}
    pull = event.get("pull_request") if isinstance(event, dict) else None
    if not isinstance(pull, dict):
        return facts
    facts["is_pr"] = "true"
    number = pull.get("number")
    if isinstance(number, int) and not isinstance(number, bool) and number > 0:
        facts["pr_number"] = str(number)
    base = pull.get("base") if isinstance(pull.get("base"), dict) else {}
    head = pull.get("head") if isinstance(pull.get("head"), dict) else {}
    sha = base.get("sha")
    if isinstance(sha, str) and _HEX40.match(sha):
        facts["base_sha"] = sha
    base_repo = _full_name(base.get("repo")) or environ.get("GITHUB_REPOSITORY", "")
    head_repo = _full_name(head.get("repo"))
    # A deleted fork has head.repo == null: treat it as a fork, never as the base repo.
    if not head_repo or head_repo.lower() != base_repo.lower():
        facts["is_fork"] = "true"
    if facts["is_fork"] == "true" or environ.get("GITHUB_ACTOR", "") in READ_ONLY_ACTORS:
        facts["read_only"] = "true"
    return facts


def is_new(finding: dict[str, Any]) -> bool:
    """A finding counts unless it is suppressed or a baseline says it was already there."""
    if finding.get("suppressed"):
        return False
    if finding.get("new") is False:
        return False
    state = finding.get("baseline_state") or finding.get("baselineState") or ""
    return state not in ("unchanged", "existing", "absent")


def report_facts(path: str) -> dict[str, str]:
    try:
        report = _load_json(path)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"context.py: cannot read the JSON report {path}: {exc}") from None
    if not isinstance(report, dict):
        raise SystemExit(f"context.py: the JSON report {path} is not an object")
    verdict = report.get("verdict")
    if verdict not in VERDICTS:
        raise SystemExit(f"context.py: the JSON report has no valid verdict (got {verdict!r})")
    findings = [f for f in report.get("findings") or [] if isinstance(f, dict)]
    new = [f for f in findings if is_new(f)]
    return {
        "verdict": str(verdict),
        "findings": str(len(new)),
        "total": str(len(findings)),
        "suppressed": str(sum(1 for f in findings if f.get("suppressed"))),
    }


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _rebase(node: Any, prefix: str, parent_key: str = "") -> int:
    changed = 0
    if isinstance(node, dict):
        if parent_key in ("artifactLocation", "location") and isinstance(node.get("uri"), str):
            uri = node["uri"]
            base = node.get("uriBaseId")
            if base in (None, "%SRCROOT%") and not _SCHEME.match(uri) and not uri.startswith("/"):
                node["uri"] = f"{prefix}/{uri}" if uri else prefix
                changed += 1
        for key, value in node.items():
            if key == "originalUriBaseIds":
                continue
            changed += _rebase(value, prefix, key)
    elif isinstance(node, list):
        for item in node:
            changed += _rebase(item, prefix, parent_key)
    return changed


def rebase_sarif(path: str, prefix: str) -> int:
    """Make %SRCROOT%-relative URIs relative to the repository root instead of the scanned folder."""
    prefix = prefix.strip("/")
    if not prefix or prefix == ".":
        return 0
    if prefix.startswith("../") or prefix == ".." or "\\" in prefix:
        raise SystemExit(f"context.py: the scanned folder {prefix!r} is outside the repository")
    encoded = "/".join(quote(part, safe="!$&'()*+,;=:@-._~") for part in prefix.split("/"))
    sarif = _load_json(path)
    changed = _rebase(sarif.get("runs", []), encoded)
    text = json.dumps(sarif, indent=2, ensure_ascii=False) + "\n"
    Path(path).write_text(text, encoding="utf-8")
    return changed


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    command, args = argv[0], argv[1:]
    if command == "event" and not args:
        _emit(event_facts(dict(os.environ)))
    elif command == "report" and len(args) == 1:
        _emit(report_facts(args[0]))
    elif command == "rebase-sarif" and len(args) == 2:
        print(f"rebased {rebase_sarif(args[0], args[1])} SARIF locations onto {args[1]}/", file=sys.stderr)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
