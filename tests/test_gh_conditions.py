"""Who can start a GitHub Actions job: the `if:` condition read per trigger, and `needs:`."""

from __future__ import annotations

import pytest

from scanner.catalog import load_catalog
from scanner.launch.gh_conditions import jobs_open, open_triggers, parts

CAT = load_catalog()
GATES = tuple(CAT.actions.section("github")["gate_words"])
AFTER = tuple(CAT.actions.section("github")["runs_after_skipped"])
UNTRUSTED = ("issues", "issue_comment", "pull_request_review_comment", "discussion")


@pytest.mark.parametrize("condition, expected", [
    (None, set(UNTRUSTED)),
    ("", set(UNTRUSTED)),
    ("${{ contains(github.event.comment.body, '@claude') }}", set(UNTRUSTED)),  # anyone can write the mention
    ("github.event.comment.author_association == 'OWNER'", set()),
    ("${{ github.event_name == 'issues' }}", {"issues"}),
    ("'issue_comment' == github.event_name", {"issue_comment"}),
    ("github.event_name != 'issues'", set(UNTRUSTED) - {"issues"}),
    # New issues from anyone; comments only from collaborators.
    ("(github.event_name == 'issues' && github.event.action == 'opened') || "
     "(github.event_name == 'issue_comment' && contains(fromJSON('[\"OWNER\", \"MEMBER\"]'), github.event.comment.author_association))",
     {"issues"}),
    ("contains(fromJSON('[\"issues\", \"discussion\"]'), github.event_name) && github.actor == 'octocat'", set()),
    ("contains(fromJSON('[\"issues\", \"discussion\"]'), github.event_name)", {"issues", "discussion"}),
    # A gate word anywhere in a part gates the whole part.
    ("(github.event_name == 'issues' || github.event_name == 'issue_comment') && github.event.label.name == 'agent'", set()),
    # A quoted `||` is not an operator.
    ("github.event.comment.body == 'a || b' && github.event_name == 'discussion'", {"discussion"}),
    # An unreadable event list: any event.
    ("contains(fromJSON('[issues'), github.event_name)", set(UNTRUSTED)),
])
def test_open_triggers(condition: str | None, expected: set[str]) -> None:
    assert open_triggers(condition, UNTRUSTED, GATES) == frozenset(expected)


def test_parts_split_nested_or() -> None:
    assert parts("${{ (a || (b && c)) || 'x || y' == d }}") == ["a", "b && c", "'x || y' == d"]


def _after(condition: str) -> bool:
    return any(word in condition for word in AFTER)


def test_needs_inherit_the_gate() -> None:
    jobs = {
        "route": ("github.event_name == 'issues' || github.event.comment.author_association == 'MEMBER'", ()),
        "triage": ("needs.route.outputs.task == 'triage'", ("route",)),
        "later": (None, ("triage",)),  # two jobs down
        "always": ("always()", ("route",)),  # runs after a skipped route: not protected by it
        "free": (None, ()),
        "loop-a": (None, ("loop-b",)),  # a cycle GitHub refuses: read without the constraint
        "loop-b": ("github.actor == 'octocat'", ("loop-a",)),
    }
    found = jobs_open(jobs, UNTRUSTED, GATES, _after)
    assert found == {
        "route": frozenset({"issues"}),
        "triage": frozenset({"issues"}),
        "later": frozenset({"issues"}),
        "always": frozenset(UNTRUSTED),
        "free": frozenset(UNTRUSTED),
        "loop-a": frozenset(),
        "loop-b": frozenset(),
    }
