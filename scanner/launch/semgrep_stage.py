"""The semgrep stage: languages without a built-in analyzer, merged into the same findings.

Only files that passed the catalog prefilter reach semgrep, as explicit targets, and of those only
the ones that contain a launch call of their language (`launch_words`, read from the pack's own
patterns), so a repository without such files never starts it. Its hits go through the same
finding constructor; a file it could not analyse becomes an `agent-containment-undecided` finding
at the line that mentions an agent, which makes the repo `unclear` rather than silently clean.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from scanner.catalog import Catalog, RuleMeta
from scanner.findings import new_finding, new_site, site_id_for
from scanner.model import Boundary, Confidence, Containment, Egress, EnvMode, Finding, LaunchSite, Severity, Skip
from scanner.parse.trees import SourceFile
from scanner.resources import read_rules_yaml, rules_dir

SEMGREP_TIMEOUT = 300.0


@dataclass(frozen=True)
class SemgrepStage:
    sites: tuple[LaunchSite, ...]
    findings: tuple[Finding, ...]
    not_analysed: tuple[Skip, ...]
    ran: bool


def _source(root: Path, rel: str) -> SourceFile | None:
    from scanner.discover.walk import Candidate, read_candidate

    data, _reason = read_candidate(root, Candidate(rel, "semgrep", 0))
    return SourceFile(rel, data) if data is not None else None


def _agent_on_line(catalog: Catalog, text: str) -> tuple[str, str]:
    for spec in catalog.agents:
        for name in (*spec.binaries, *spec.packages):
            if name in spec.requires_any:
                continue
            if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text):
                return spec.id, spec.name
    return "unknown", "an agent"


def _user_rule(hit) -> RuleMeta:  # type: ignore[no-untyped-def]
    return RuleMeta(
        id=hit.rule_id, title=hit.message.split(". ")[0][:120] or hit.rule_id, category=hit.category,
        categories=(hit.category,), severity=Severity(hit.severity), severity_contained=None,
        confidence=Confidence(hit.confidence), why=hit.message, fix="See the rule's own documentation.",
        fix_examples={}, references=(),
    )


# The gate: a semgrep rule can only match a file that contains the words its code patterns are
# made of. For each language of the pack, the words one of which every match of every rule
# needs, derived from the rules themselves (never listed by hand), so a new rule or language
# brings its own gate. A file without any of them is not sent: no rule of the pack could match it.

# Words that say nothing about a call (they are everywhere); never chosen while a better one exists.
_KEYWORDS = frozenset({"new", "let", "mut", "var", "val", "fun", "func", "def", "end", "if", "null", "return",
                       "nil", "true", "false", "self", "this"})
_IDENT = re.compile(r"(?<![\w$])[A-Za-z_][A-Za-z0-9_]*")
_POSITIVE = ("pattern", "pattern-either", "patterns", "pattern-regex", "pattern-inside")
_ALIASES = {"c#": "csharp", "golang": "go", "kt": "kotlin", "rb": "ruby", "rs": "rust"}
# Languages whose function and class names ignore case (`SYSTEM("claude")` is `system`): their
# files are searched for the words in any case.
_CASELESS = frozenset({"php"})


def _pattern_words(code: str) -> frozenset[str] | None:
    """The word a code pattern's every match contains: the most telling identifier (not a
    metavariable) of the call or declaration it starts with (`Runtime.getRuntime().exec(` →
    `getRuntime`, `$RT.exec(` → `exec`), else of the whole pattern. Identifiers stay in the
    matched code, also behind an import alias, whose import names the original. None for a
    pattern made of metavariables only (`$S`)."""
    for text in (re.split(r"[({\[=]", code, maxsplit=1)[0], code):
        words = _IDENT.findall(text)
        telling = [w for w in words if w.lower() not in _KEYWORDS] or words
        if telling:
            return frozenset({max(telling, key=lambda w: (len(w), w))})
    return None


def _regex_words(regex: str) -> frozenset[str] | None:
    """Literal strings one of which every match of a (Python-syntax) regex contains; None when
    none can be told."""
    try:
        import re._parser as sre  # type: ignore[import-not-found]  # Python 3.11+
    except ImportError:  # pragma: no cover - Python 3.10
        import sre_parse as sre  # type: ignore[import-not-found,no-redef]
    try:
        tree = sre.parse(regex)
    except (re.error, RecursionError, OverflowError):
        return None
    if tree.state.flags & sre.SRE_FLAG_IGNORECASE:
        return None  # its words may be spelled in any case
    return _required(tree, sre)


def _better(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    """The more telling of two requirements: the one whose shortest word is longer."""
    if a is None or not a:
        return b if b else a
    if b is None or not b:
        return a
    return a if min(map(len, a)) >= min(map(len, b)) else b


def _required(seq: Any, sre: Any) -> frozenset[str] | None:
    """Over a parsed regex (`sre`: the parser module, whose opcodes it re-exports): the longest
    runs of literal characters, through groups, alternations (one word per branch) and
    repeats of at least one."""
    repeats = tuple(getattr(sre, name) for name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") if hasattr(sre, name))
    best: frozenset[str] | None = None
    run = ""
    for op, av in [*seq, (None, None)]:
        if op == sre.LITERAL:
            run += chr(av)
            continue
        if run:
            best = _better(best, frozenset({run}))
            run = ""
        if op == sre.SUBPATTERN and not (av[1] or 0) & sre.SRE_FLAG_IGNORECASE:
            best = _better(best, _required(av[-1], sre))
        elif op == sre.BRANCH:
            alternatives = [_required(alt, sre) for alt in av[1]]
            if alternatives and all(alternatives):
                best = _better(best, frozenset().union(*alternatives))  # type: ignore[arg-type]
        elif op in repeats and av[0] >= 1:
            best = _better(best, _required(av[2], sre))
    return best


def _needs(node: Any) -> frozenset[str] | None:
    """Words one of which every match of a rule (or a part of it) contains; None if unknown."""
    if not isinstance(node, dict):
        return None
    if node.get("mode", "search") != "search":
        return None  # taint, join and extract rules: no gate
    if isinstance(node.get("pattern"), str):
        return _pattern_words(node["pattern"])
    if isinstance(node.get("pattern-inside"), str):
        return _pattern_words(node["pattern-inside"])
    if isinstance(node.get("pattern-regex"), str):
        return _regex_words(node["pattern-regex"])
    if isinstance(node.get("pattern-either"), list):
        alternatives = [_needs(alt) for alt in node["pattern-either"]]
        if not alternatives or not all(alternatives):
            return None
        return frozenset().union(*alternatives)  # type: ignore[arg-type]
    if isinstance(node.get("patterns"), list):
        # Every positive part must match, so the words of any one of them will do: code first,
        # then a metavariable's regex (its match is a piece of the file's text).
        parts = [p for p in node["patterns"] if isinstance(p, dict) and any(k in p for k in _POSITIVE)]
        best: frozenset[str] | None = None
        for part in sorted(parts, key=lambda p: "pattern-inside" in p):
            best = best or _needs(part)
        if best is None:
            for part in node["patterns"]:
                regex = part.get("metavariable-regex", {}).get("regex") if isinstance(part, dict) else None
                if isinstance(regex, str):
                    best = _better(best, _regex_words(regex))
        return best
    return None


@lru_cache(maxsize=4)
def launch_words(pack: Path) -> dict[str, frozenset[str] | None]:
    """For each language of the semgrep pack in `pack`, the words one of which a file must
    contain for any of its rules to match; None for a language with a rule whose words cannot
    be told (its files are all sent). Languages without a rule are absent."""
    import yaml

    words: dict[str, frozenset[str] | None] = {}
    for path in sorted(pack.glob("*.y*ml")):
        try:
            doc = read_rules_yaml(path)
        except (OSError, yaml.YAMLError):
            return {}  # an unreadable pack: no gate at all
        rules = doc.get("rules") if isinstance(doc, dict) else None
        for rule in rules if isinstance(rules, list) else []:
            if not isinstance(rule, dict):
                continue
            need = _needs(rule)
            for lang in rule.get("languages") or ():
                lang = _ALIASES.get(str(lang).lower(), str(lang).lower())
                if lang in words and words[lang] is None:
                    continue
                words[lang] = None if need is None else frozenset((words.get(lang) or frozenset()) | need)
    return words


@lru_cache(maxsize=4)
def _word_search(pack: Path) -> dict[str, re.Pattern[bytes] | None]:
    """`launch_words` as one search per language: an identifier as a whole word, any other
    literal as it is; in any case where the language's names ignore it."""
    out: dict[str, re.Pattern[bytes] | None] = {}
    for lang, words in launch_words(pack).items():
        if words is None:
            out[lang] = None
            continue
        alternatives = [rf"(?<![A-Za-z0-9_]){re.escape(w)}(?![A-Za-z0-9_])" if _IDENT.fullmatch(w) else re.escape(w)
                        for w in sorted(words)]
        out[lang] = re.compile("|".join(alternatives).encode(), re.IGNORECASE if lang in _CASELESS else 0)
    return out


def gate(root: Path, targets: Sequence[str], pack: Path) -> list[str]:
    """The targets a rule of the pack could match: the files of a language of the pack that
    contain one of its launch words (`launch_words`). Files of a language the pack has no rule
    for are dropped; of a language it cannot gate, and files that cannot be read now, kept."""
    from scanner.launch.semgrep_runner import SEMGREP_LANG_EXTS

    searches = _word_search(pack)
    if not searches:
        return list(targets)  # no readable pack: no gate
    kept = []
    for rel in targets:
        lang = SEMGREP_LANG_EXTS.get(os.path.splitext(rel)[1].lower())
        if lang is None or lang not in searches:
            if lang is None:
                kept.append(rel)
            continue
        search = searches[lang]
        file = _source(root, rel) if search is not None else None
        if search is None or file is None or search.search(file.data):
            kept.append(rel)
    return kept


def run_stage(root: Path, targets: Sequence[str], catalog: Catalog, user_rules: Sequence[Path] = (),
              pattern: re.Pattern[bytes] | None = None) -> SemgrepStage:
    from scanner.launch.semgrep_runner import run_semgrep

    pack = rules_dir() / "semgrep"
    if not user_rules:  # the user's own rules may need any file: then every target goes
        targets = gate(root, targets, pack)
    if not targets:
        return SemgrepStage((), (), (), False)
    dirs = [pack, *user_rules]
    outcome = run_semgrep(root if root.is_dir() else root.parent, sorted(targets), dirs, timeout=SEMGREP_TIMEOUT)
    sites: dict[str, LaunchSite] = {}
    findings: list[Finding] = []
    sources: dict[str, SourceFile | None] = {}

    def src(rel: str) -> SourceFile | None:
        if rel not in sources:
            sources[rel] = _source(root, rel)
        return sources[rel]

    bypassed = {(h.path, h.line) for h in outcome.hits if h.rule_id == "agent-permission-bypass"}
    for hit in outcome.hits:
        file = src(hit.path)
        if file is None:
            continue
        loc = file.loc(hit.line, hit.column, hit.end_line, hit.end_column)
        agent_id, agent_name = _agent_on_line(catalog, loc.quote)
        # An agent whose own sandbox is on by default (Codex) and is not switched off here is
        # judged as the built-in analyzers judge it: not inline, its environment a hardening note.
        own_sandbox = agent_id != "unknown" and catalog.agent(agent_id).sandbox_default_on \
            and (hit.path, hit.line) not in bypassed
        if own_sandbox and hit.rule_id == "agent-inline-launch":
            continue
        sid = site_id_for(file.loc(hit.line), agent_id)
        boundary = (Boundary.AGENT_SANDBOX, f"{agent_name} sandbox") if own_sandbox else (Boundary.NONE, "")
        # The pack judges by pattern, not by a containment model: env and egress stay unknown here.
        if sid not in sites:
            sites[sid] = new_site(agent=agent_id, agent_name=agent_name, surface="semgrep", launcher=hit.semgrep_id,
                                  location=file.loc(hit.line), command=loc.quote,
                                  containment=Containment(boundary=boundary[0], boundary_tool=boundary[1],
                                                          env=EnvMode.UNKNOWN, egress=Egress.UNKNOWN))
        meta = None if hit.rule_id in catalog.rules else _user_rule(hit)
        findings.append(new_finding(catalog, hit.rule_id, loc, site_id=sid, message=hit.message, meta=meta,
                                    confidence=Confidence(hit.confidence), contained=own_sandbox))
    skipped = []
    for rel, reason in outcome.not_analysed:
        skipped.append(Skip(rel, reason))
        file = src(rel)
        if file is None:
            continue
        line = 1
        if pattern is not None:
            match = pattern.search(file.data)
            if match:
                line = file.data.count(b"\n", 0, match.start()) + 1
        loc = file.loc(line)
        agent_id, agent_name = _agent_on_line(catalog, loc.quote)
        sid = site_id_for(loc, agent_id)
        if sid not in sites:
            sites[sid] = new_site(agent=agent_id, agent_name=agent_name, surface="semgrep", launcher="not analysed",
                                  location=loc, command=loc.quote)
        need = f"an analysis of {rel} ({reason})"
        findings.append(new_finding(catalog, "agent-containment-undecided", loc, site_id=sid, confidence=Confidence.LOW,
                                    message=f"{rel} mentions an agent but was not analysed: {reason}.", needs_context=need))
    return SemgrepStage(tuple(sites.values()), tuple(findings), tuple(skipped), True)
