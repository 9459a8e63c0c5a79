"""agent-credential-files-exposed: the sandbox mounts a credential store, the home folder or the host root."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.audits.view import CREDENTIAL_MOUNTS, SiteView
from scanner.model import Finding

RULE = "agent-credential-files-exposed"
_WHAT = {"credentials": "the credential store", "home": "the home directory", "host-root": "the host root",
         "env-file": "the env file"}


def audit(v: SiteView) -> Iterator[Finding]:
    for fact in v.c.of_kind(*CREDENTIAL_MOUNTS):
        yield v.finding(RULE, fact.location,
                        f"{v.agent}'s sandbox mounts {_WHAT[fact.kind.mount_source]} `{fact.value}`, so the operator's "
                        "credential files are readable inside it.", related=[v.launch])
