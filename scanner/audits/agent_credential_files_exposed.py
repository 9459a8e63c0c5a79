"""agent-credential-files-exposed: the sandbox mounts a credential store, the home folder or the host root."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.audits.view import CREDENTIAL_MOUNTS, SiteView
from scanner.model import Finding

RULE = "agent-credential-files-exposed"
_WHAT = {"credentials": "the credential store", "home": "the home directory", "host-root": "the host root",
         "env-file": "the env file"}


def audit(v: SiteView) -> Iterator[Finding]:
    yield from v.per_fact(RULE, CREDENTIAL_MOUNTS,
                          lambda f: f"{v.agent}'s sandbox mounts {_WHAT[f.kind.mount_source]} `{f.value}`, so the "
                                    "operator's credential files are readable inside it.")
