"""The new report layout on hostile repository text: the Markdown report, the job summary and the
PR comment stay text (no element, link, mention or reference from the repository), keep the same
structure as on benign text, and keep <details> balanced. Reuses tests/test_security_markdown.py's
renderer and checks."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_security_markdown import (
    HOSTILE,
    HOSTILE_TEXT,
    SUMMARY,
    Page,
    _base,
    _path,
    assert_safe,
    gfm,
    hostile_result,
)

from scanner.catalog import load_catalog
from scanner.model import ScanResult, Silencer, Skip
from scanner.output.json_report import to_dict
from scanner.output.markdown import render_markdown


def _more(result: ScanResult, text: str) -> ScanResult:
    """Also the scope parts: a file not analysed, a silencer, an agent name."""
    path = _path(text)
    cov = dataclasses.replace(result.coverage, not_analysed=(Skip(path, f"too large {text}"),))
    sites = tuple(dataclasses.replace(s, agent_name=f"Claude {text}") for s in result.launch_sites)
    return dataclasses.replace(result, coverage=cov, launch_sites=sites,
                               silencers=(Silencer(path, 2, f"# {text}", f"silenced {text}"),))


def check(path: str, quote: str, extra: str) -> Page:
    result = _more(hostile_result(_base(), path, quote, extra), extra)
    markdown = render_markdown(result, load_catalog())
    benign = render_markdown(_more(hostile_result(_base(), "src/agent.py", "agent --flag" if quote else "",
                                                  "ok" if extra else ""), "ok" if extra else ""), load_catalog())
    page = assert_safe(markdown)
    expected = Page(gfm().render(benign))
    for tag in set(page.tags) | set(expected.tags):
        if tag != "code":
            assert page.tags.count(tag) == expected.tags.count(tag), tag
    return page


@pytest.mark.parametrize("text", HOSTILE)
def test_report_with_hostile_text(text: str) -> None:
    check(f"dir/{text}", f"claude -p {text}", text)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=HOSTILE_TEXT, quote=HOSTILE_TEXT, extra=HOSTILE_TEXT)
def test_report_with_random_text(path: str, quote: str, extra: str) -> None:
    check(path, quote, extra)


def _hostile_fixes(report: dict[str, Any], text: str) -> dict[str, Any]:
    for fix in report["fixes"]:
        fix.update(title=f"t {text}", summary=f"s {text} `{text}`", before=f"b {text}\n```\n</details>",
                   after=f"a {text}", path=f"p/{text}", help_uri=f"https://evil.example/{text}", rule_id=f"r {text}",
                   rewrite=True)
    report["why"] = f"why {text} `{text}`"
    return report


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("comment", [False, True], ids=["summary", "comment"])
def test_summary_why_and_fix_with_hostile_text(text: str, comment: bool) -> None:
    result = _more(hostile_result(_base(), f"dir/{text}", f"run {text}", text), text)
    report = _hostile_fixes(to_dict(result), text)
    markdown = render_markdown(result, load_catalog())
    kwargs: dict[str, Any] = (
        {"max_rows": 50, "budget": SUMMARY.COMMENT_LIMIT_CHARS, "measure": len, "header": SUMMARY.MARKER}
        if comment else {"max_rows": 200, "budget": SUMMARY.SUMMARY_LIMIT_BYTES, "measure": SUMMARY._bytes}
    )
    body = SUMMARY.render(report, markdown, new_only=True, fail_on="present", note="", exit_code="1",
                          path_prefix="sub", artifact=f"a {text}", run_url="", **kwargs)
    page = assert_safe(body)
    assert page.details_ok and page.details_depth == 0
    assert "### Why it matters" in body and "### Fix" in body


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=HOSTILE_TEXT, quote=HOSTILE_TEXT, extra=HOSTILE_TEXT, comment=st.booleans())
def test_summary_with_random_text(path: str, quote: str, extra: str, comment: bool) -> None:
    result = _more(hostile_result(_base(), path, quote, extra), extra)
    report = _hostile_fixes(to_dict(result), extra)
    body = SUMMARY.render(report, render_markdown(result, load_catalog()), new_only=False, fail_on="present", note="",
                          max_rows=50, budget=SUMMARY.COMMENT_LIMIT_CHARS, measure=len,
                          header=SUMMARY.MARKER if comment else "")
    page = assert_safe(body)
    assert page.details_ok and page.details_depth == 0
