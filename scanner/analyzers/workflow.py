"""GitHub Actions workflows: the shell of `run:` steps, parsed at their exact lines."""

from __future__ import annotations

from collections.abc import Iterator

import yaml

from scanner.analyzers.base import Analysis, LaunchFound
from scanner.analyzers.shell import embedded_shell, shell_launches
from scanner.yamlsrc import compose_safely, mapping_get


def analyze_workflow(analysis: Analysis) -> Iterator[LaunchFound]:
    src = analysis.source
    root = compose_safely(src.text, analysis.notes)
    if not isinstance(root, yaml.MappingNode):
        return
    jobs = mapping_get(root, "jobs")
    if isinstance(jobs, yaml.MappingNode):
        job_nodes = [value for _key, value in jobs.value]
    else:
        job_nodes = [root]  # a composite action.yml: runs.steps
        runs = mapping_get(root, "runs")
        job_nodes = [runs] if isinstance(runs, yaml.MappingNode) else []
    for job in job_nodes:
        if not isinstance(job, yaml.MappingNode):
            continue
        steps = mapping_get(job, "steps")
        if not isinstance(steps, yaml.SequenceNode):
            continue
        for step in steps.value:
            if not isinstance(step, yaml.MappingNode):
                continue
            run = mapping_get(step, "run")
            if not isinstance(run, yaml.ScalarNode) or not isinstance(run.value, str):
                continue
            first = run.start_mark.line + 1
            indent = run.start_mark.column
            if run.style in ("|", ">"):
                first += 1
                indent = _block_indent(src.lines, first)
            data = embedded_shell(src, run.value, first, indent)
            yield from shell_launches(
                src, data, "github-workflow", "workflow run step",
                "a run step on a hosted runner inherits the job's environment, secrets and token",
                env_location=src.loc(run.start_mark.line + 1),
            )


def _block_indent(lines: list[str], line: int) -> int:
    if 1 <= line <= len(lines):
        text = lines[line - 1]
        return len(text) - len(text.lstrip(" "))
    return 0
