"""Python front end: subprocess / os / asyncio / pty launches, read through the file's one
value resolver (`python_module`)."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.launch.base import Analysis, LaunchFound, launch_tables, possible_forms, timeout_unread
from scanner.model import Fact
from scanner.project.files import ProjectFiles
from scanner.project.module_paths import python_module_path
from scanner.project.python_module import FOLLOW_BUDGET, STRING_TYPES, Importer, PythonModule
from scanner.launch.commandline import Word
from scanner.parse.trees import parse


# Imports followed from an analysed file to the module that defines a value (and from there on).
MAX_IMPORT_DEPTH = 2


def python_module(analysis: Analysis) -> PythonModule:
    """The file's parsed and indexed module, shared by every Python analyzer."""
    src = analysis.source
    return analysis.shared("python-module", lambda: PythonModule(src, parse("python", src.data).root_node,
                                                                 _importer(analysis.project, src.path, 0)))


def _importer(project: ProjectFiles, path: str, depth: int) -> Importer | None:
    """How the module at `path` reads the repository modules it imports: through the project,
    each parsed and indexed once per process."""
    if project.root is None or depth >= MAX_IMPORT_DEPTH:
        return None

    def load(spec: str) -> PythonModule | None:
        rel = python_module_path(project.paths, path, spec)
        if rel is None:
            return None
        return project.parsed(rel, f"python-module@{depth + 1}", lambda src: PythonModule(
            src, parse("python", src.data).root_node, _importer(project, rel, depth + 1)))

    return load


def analyze_python(analysis: Analysis) -> Iterator[LaunchFound]:
    src = analysis.source
    module = python_module(analysis)
    table = launch_tables()["python"]
    for call in module.calls:
        spec = table.get(call.name)
        if spec is None:
            continue
        node, name = call.node, call.name
        module.uncertain = False
        module.budget = FOLLOW_BUDGET
        positional = [p for p in call.positional if p.type != "dictionary_splat"]
        keywords, unread = module.launch_keywords(call)
        words: list[Word] | None = None
        shell_string: Word | None = None
        shell = False
        if "shell_kw" in spec and spec["shell_kw"] in keywords:
            shell = module.src.node_text(keywords[spec["shell_kw"]]) == "True"
        if "string" in spec:
            idx = spec["string"]
            if idx < len(positional):
                shell_string = module.word(positional[idx])
        elif "varargs" in spec:
            start = spec["varargs"]
            rest = positional[start:]
            if spec.get("env_last") and rest:
                rest = rest[:-1]
            words = []
            for item in rest:
                if item.type == "list_splat" and item.named_children:
                    got = module.words(item.named_children[0])
                    words.extend(got if got is not None else [module.dynamic_word(item)])
                else:
                    words.append(module.word(item))
        elif "argv" in spec:
            idx = spec["argv"]
            target = positional[idx] if idx < len(positional) else keywords.get(spec.get("argv_kw", ""))
            if target is None:
                continue
            if target.type in STRING_TYPES or (target.type in ("identifier", "call") and module.words(target) is None):
                word = module.word(target)
                if shell or name in ("pty.spawn",) and " " in word.text:
                    shell_string = word
                else:
                    words = [word]
            else:
                words = module.words(target)
                if words is None:
                    words = [module.dynamic_word(target)]
                if shell and words:
                    shell_string = words[0]
                    words = None
        elif "file" in spec:
            idx = spec["file"]
            if idx < len(positional):
                words = [module.word(positional[idx])]
        if words is None and shell_string is None:
            continue
        env_node = None
        if "env_kw" in spec:
            env_node = keywords.get(spec["env_kw"])
        if "env_pos" in spec and spec["env_pos"] < len(positional):
            env_node = positional[spec["env_pos"]]
        if spec.get("env_last") and positional:
            env_node = positional[-1]
        unseen: tuple[Fact, ...] = ()
        env = module.env_info(env_node, node, name, unread=unread if "env_kw" in spec else None)
        timeout = None
        if "timeout_kw" in spec and spec["timeout_kw"] in keywords:
            value = keywords[spec["timeout_kw"]]
            if value.type != "none":
                timeout = src.node_loc(value)
        elif "timeout_kw" in spec and unread is not None:
            unseen = (timeout_unread(src.node_text(unread), src.node_loc(unread)),)
        at = src.node_loc(node)
        yield LaunchFound(surface="python", launcher=name, location=at, words=tuple(words or ()), shell=shell_string,
                          env=env, timeout=timeout, facts=(*possible_forms(module.uncertain, at), *unseen))
