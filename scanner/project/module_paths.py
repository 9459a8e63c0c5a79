"""Which repository file an import names, as Python resolves it from the importing file."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection, Iterator, Sequence

from scanner.project.summaries import PyImport

# Folders above the importing file searched for an absolute import's top package.
_MAX_ANCESTORS = 8
_PART = re.compile(r"\w+")


def python_module_path(paths: Collection[str], importer: str, spec: str, roots: Sequence[str] = (),
                       main: bool = False) -> str | None:
    """The file of module `spec` (`.settings`, `..util.args`, `pkg.settings`) imported by
    `importer`, among `paths`; None when it is not a file of the repository. A relative import
    is resolved from the importer's package; an absolute one from the importer's folder, then
    `roots` (where the program runs), each folder above the importer (a monorepo's packages),
    the root and `src/`, nearest first. `main`: a package is run by its `__main__.py` (`-m`)."""
    bare = spec.lstrip(".")
    dots = len(spec) - len(bare)
    parts = bare.split(".") if bare else []
    if not all(_PART.fullmatch(p) for p in parts) or (not parts and not dots):
        return None
    here = posixpath.dirname(importer)
    if dots:
        for _ in range(dots - 1):
            if not here:
                return None
            here = posixpath.dirname(here)
        bases = [here]
    else:
        above = []
        while len(above) < _MAX_ANCESTORS:
            above.append(here)
            if not here:
                break
            here = posixpath.dirname(here)
        bases = list(dict.fromkeys([above[0], *roots, *above[1:], "", "src"]))
    for base in bases:
        stem = posixpath.join(base, *parts) if parts else base
        package = (posixpath.join(stem, "__main__.py"),) if main else ()
        for rel in (stem + ".py", *package, posixpath.join(stem, "__init__.py")):
            rel = posixpath.normpath(rel)
            if rel != importer and rel in paths:
                return rel
    return None


def python_import_specs(imports: Sequence[PyImport]) -> Iterator[str]:
    """Every module an import summary may name (`from pkg import settings` names pkg.settings)."""
    for dots, module, names, plain in imports:
        if plain:
            yield from (item.split()[0] for item in plain.split(",") if item.split())
            continue
        yield dots + module
        for name in names.split(","):
            if name.split():
                yield f"{dots}{module}.{name.split()[0]}" if module else f"{dots}{name.split()[0]}"


# What a relative ES import or require() may name: the file as spelled, the same stem in another
# dialect (`./x.js` written for `x.ts`), or a folder's index.
JS_EXTENSIONS = (".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".tsx", ".jsx")
_JS_SPELLED = re.compile(r"\.(?:js|mjs|cjs|jsx)$")


def js_module_path(paths: Collection[str], importer: str, spec: str) -> str | None:
    """The file a relative import `spec` (`./argv`, `../lib/run.js`) of `importer` names, among
    `paths`; None for a package import or a path outside the repository."""
    if not spec.startswith(("./", "../")):
        return None
    stem = posixpath.normpath(posixpath.join(posixpath.dirname(importer), spec))
    if stem.startswith("..") or stem.startswith("/"):
        return None
    bare = _JS_SPELLED.sub("", stem)
    for rel in (stem, *(bare + e for e in JS_EXTENSIONS), *(stem + e for e in JS_EXTENSIONS),
                *(posixpath.join(stem, "index" + e) for e in JS_EXTENSIONS)):
        if rel != importer and rel in paths:
            return rel
    return None


def js_stem(name: str) -> str:
    """A file name without its JavaScript or TypeScript extension (`run.mjs` -> `run`)."""
    for ext in JS_EXTENSIONS:
        if name.endswith(ext):
            return name[: -len(ext)]
    return name


def module_names(path: str) -> tuple[str, ...]:
    """The names an import may end in to name this module file (Python or JavaScript): its stem,
    and for a package's own file (`__init__.py`, `index.ts`) the folder's name."""
    head, _, base = path.rpartition("/")
    stem = base.rsplit(".", 1)[0] if base.endswith((".py", ".pyw")) else js_stem(base)
    folder = head.rpartition("/")[2]
    return (stem, folder) if stem in ("__init__", "__main__", "index") and folder else (stem,)


__all__ = ["JS_EXTENSIONS", "js_module_path", "js_stem", "module_names", "python_import_specs", "python_module_path"]
