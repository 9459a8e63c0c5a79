"""JavaScript / TypeScript front end: child_process, execa, zx, Bun.spawn launches."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from tree_sitter import Node

from scanner.analyzers.base import Analysis, LaunchFound, launch_tables
from scanner.commandline import Word
from scanner.containment import EnvInfo
from scanner.model import EnvMode
from scanner.parsing import SourceFile, parse

_MODULES = {"child_process": "child_process", "execa": "execa", "zx": "zx", "zx/globals": "zx", "cross-spawn": "cross-spawn"}


def _module_name(text: str) -> str | None:
    name = text.strip("'\"`")
    name = name.removeprefix("node:")
    return _MODULES.get(name)


def import_bindings(root: Node, text: Callable[[Node], str]) -> Iterator[tuple[str, str, str, Node]]:
    """Every ES import and `require()` binding: (local name, module text, imported name, node).

    The imported name is "*" for a namespace import and for `const x = require(m)`, "default" for a
    default import, else the exported name. Module text is the raw source string, quotes included.
    """
    stack = [root]
    while stack:
        n = stack.pop()
        stack.extend(n.children)
        if n.type == "import_statement":
            source = n.child_by_field_name("source")
            if source is None:
                continue
            module = text(source)
            for clause in (c for c in n.children if c.type == "import_clause"):
                for item in clause.named_children:
                    if item.type == "identifier":
                        yield text(item), module, "default", n
                    elif item.type == "namespace_import":
                        ident = next((c for c in item.named_children if c.type == "identifier"), None)
                        if ident is not None:
                            yield text(ident), module, "*", n
                    elif item.type == "named_imports":
                        for spec in item.named_children:
                            if spec.type != "import_specifier":
                                continue
                            name = spec.child_by_field_name("name")
                            alias = spec.child_by_field_name("alias")
                            if name is not None:
                                yield text(alias or name), module, text(name), n
        elif n.type == "variable_declarator":
            name, value = n.child_by_field_name("name"), n.child_by_field_name("value")
            if name is None or value is None:
                continue
            if value.type == "await_expression" and value.named_children:
                value = value.named_children[0]
            if value.type != "call_expression":
                continue
            fn, args = value.child_by_field_name("function"), value.child_by_field_name("arguments")
            if fn is None or text(fn) not in ("require", "import") or args is None or not args.named_children:
                continue
            module = text(args.named_children[0])
            if name.type == "identifier":
                yield text(name), module, "*", n
            elif name.type == "object_pattern":
                for prop in name.named_children:
                    if prop.type == "shorthand_property_identifier_pattern":
                        yield text(prop), module, text(prop), n
                    elif prop.type == "pair_pattern":
                        key, val = prop.child_by_field_name("key"), prop.child_by_field_name("value")
                        if key is not None and val is not None:
                            yield text(val), module, text(key), n


class JsModule:
    def __init__(self, src: SourceFile, root: Node):
        self.src = src
        self.root = root
        self.aliases: dict[str, str] = {"Bun": "Bun"}
        self.consts: dict[str, list[tuple[int, Node]]] = {}
        self.zx_globals = src.text.startswith("#!") and "zx" in src.lines[0]
        self._index()

    def text(self, node: Node) -> str:
        return self.src.node_text(node)

    def _index(self) -> None:
        for local, module_text, imported, _node in import_bindings(self.root, self.text):
            mod = _module_name(module_text)
            if mod is None:
                continue
            if mod == "zx":
                self.zx_globals = True
            if imported == "*" or imported == "default":
                self.aliases[local] = f"{mod}.default" if mod == "cross-spawn" else mod
            else:
                self.aliases[local] = f"{mod}.{imported}"
        stack = [self.root]
        while stack:
            n = stack.pop()
            stack.extend(n.children)
            if n.type != "variable_declarator":
                continue
            name = n.child_by_field_name("name")
            value = n.child_by_field_name("value")
            if name is None or value is None or name.type != "identifier":
                continue
            if value.type == "await_expression" and value.named_children:
                value = value.named_children[0]
            if self._require(value) is None:
                self.consts.setdefault(self.text(name), []).append((n.start_byte, value))

    def _require(self, node: Node) -> str | None:
        if node.type == "call_expression":
            fn = node.child_by_field_name("function")
            args = node.child_by_field_name("arguments")
            if fn is not None and self.text(fn) in ("require", "import") and args is not None and args.named_children:
                return _module_name(self.text(args.named_children[0]))
        return None

    def qualified(self, node: Node) -> str:
        text = self.text(node)
        head, _, tail = text.partition(".")
        if head in self.aliases:
            base = self.aliases[head]
            return f"{base}.{tail}" if tail else base
        if text == "$" and self.zx_globals:
            return "zx.$"
        return text

    def resolve(self, node: Node) -> Node | None:
        if node.type != "identifier":
            return None
        items = self.consts.get(self.text(node))
        if not items:
            return None
        before = [v for start, v in items if start < node.start_byte]
        return (before or [items[0][1]])[-1] if len(items) == 1 or before else None

    def words(self, node: Node, depth: int = 0) -> list[Word] | None:
        if depth > 6:
            return None
        if node.type == "array":
            out: list[Word] = []
            for child in node.named_children:
                if child.type == "spread_element" and child.named_children:
                    got = self.words(child.named_children[0], depth + 1)
                    out.extend(got if got is not None else [self._dynamic(child)])
                elif child.type == "comment":
                    continue
                else:
                    out.append(self.word(child, depth + 1))
            return out
        if node.type == "identifier":
            target = self.resolve(node)
            return self.words(target, depth + 1) if target is not None else None
        return None

    def word(self, node: Node, depth: int = 0) -> Word:
        loc = self.src.node_loc(node)
        if node.type == "string":
            return Word("".join(self.text(c) for c in node.named_children if c.type in ("string_fragment", "escape_sequence")), loc)
        if node.type == "template_string":
            parts, dynamic = self._template(node)
            return Word(parts, loc, dynamic)
        if node.type == "identifier" and depth < 6:
            target = self.resolve(node)
            if target is not None:
                inner = self.word(target, depth + 1)
                return Word(inner.text, loc, inner.dynamic)
        if node.type in ("as_expression", "satisfies_expression", "non_null_expression") and node.named_children:
            return self.word(node.named_children[0], depth + 1)
        if node.type == "call_expression" and self.text(node) in ("process.cwd()",):
            return Word("<cwd>", loc)
        return self._dynamic(node)

    def _template(self, node: Node) -> tuple[str, bool]:
        out, dynamic = [], False
        for child in node.named_children:
            if child.type == "string_fragment":
                out.append(self.text(child))
            elif child.type == "template_substitution":
                dynamic = True
                out.append("$" + self.text(child)[1:])
        if not node.named_children:
            out.append(self.text(node)[1:-1])
        return "".join(out), dynamic

    def _dynamic(self, node: Node) -> Word:
        return Word("$" + " ".join(self.text(node).split())[:80], self.src.node_loc(node), dynamic=True)

    # -- options -------------------------------------------------------------------------

    def options(self, node: Node | None, depth: int = 0) -> dict[str, Node]:
        if node is None or depth > 4:
            return {}
        if node.type == "identifier":
            target = self.resolve(node)
            return self.options(target, depth + 1) if target is not None else {}
        if node.type != "object":
            return {}
        out: dict[str, Node] = {}
        for child in node.named_children:
            if child.type == "pair":
                key = child.child_by_field_name("key")
                value = child.child_by_field_name("value")
                if key is not None and value is not None:
                    out[self.text(key).strip("'\"")] = value
            elif child.type == "shorthand_property_identifier":
                out[self.text(child)] = child
            elif child.type == "spread_element" and child.named_children:
                out.update(self.options(child.named_children[0], depth + 1))
        return out

    def is_process_env(self, node: Node) -> bool:
        text = " ".join(self.text(node).split())
        return text in ("process.env", "{...process.env}", "{ ...process.env }") or text.startswith("Object.assign({}, process.env")

    def env_info(self, opts: dict[str, Node], call: Node, launcher: str, merges: bool, depth: int = 0) -> EnvInfo:
        call_loc = self.src.node_loc(call)
        node = opts.get("env")
        if node is None:
            return EnvInfo(EnvMode.INHERITED, call_loc, f"{launcher} without env inherits process.env")
        loc = self.src.node_loc(node)
        if node.type == "shorthand_property_identifier":
            target = self.resolve(node)
            if target is None:
                return EnvInfo(EnvMode.UNKNOWN, loc, "env")
            node = target
        elif node.type == "identifier":
            target = self.resolve(node)
            if target is not None:
                node = target
        text = " ".join(self.text(node).split())[:80]
        extend = opts.get("extendEnv")
        merged = merges and not (extend is not None and self.text(extend) == "false")
        if self.is_process_env(node) or (node.type == "member_expression" and self.text(node) == "process.env"):
            return EnvInfo(EnvMode.INHERITED, loc, f"env: {text}")
        if node.type == "object":
            names: list[Word] = []
            inherited = False
            for child in node.named_children:
                if child.type == "spread_element" and child.named_children:
                    if self.is_process_env(child.named_children[0]) or self.text(child.named_children[0]) == "process.env":
                        inherited = True
                elif child.type == "pair":
                    key = child.child_by_field_name("key")
                    if key is not None:
                        names.append(Word(self.text(key).strip("'\""), self.src.node_loc(key)))
                elif child.type == "shorthand_property_identifier":
                    names.append(Word(self.text(child), self.src.node_loc(child)))
            if inherited:
                return EnvInfo(EnvMode.INHERITED, loc, f"env: {text}", tuple(names))
            if merged:
                return EnvInfo(EnvMode.INHERITED, loc, f"{launcher} merges env with process.env unless extendEnv: false", tuple(names))
            return EnvInfo(EnvMode.MINIMAL, loc, "an explicit env object", tuple(names))
        return EnvInfo(EnvMode.UNKNOWN, loc, f"env: {text}")


def js_module(analysis: Analysis, dialect: str) -> JsModule:
    """The file's parsed and indexed module, shared by every JS/TS analyzer."""
    src = analysis.source
    return analysis.shared(f"js-module-{dialect}", lambda: JsModule(src, parse(dialect, src.data).root_node))


def analyze_javascript(analysis: Analysis, dialect: str) -> Iterator[LaunchFound]:
    src = analysis.source
    module = js_module(analysis, dialect)
    table = launch_tables()["javascript"]
    stack = [module.root]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.type != "call_expression":
            continue
        fn = node.child_by_field_name("function")
        args = node.child_by_field_name("arguments")
        if fn is None or args is None:
            continue
        name = module.qualified(fn)
        if name.endswith(".default") and name not in table:
            name = name[: -len(".default")]
        spec = table.get(name)
        if spec is None and "." not in name and name in module.aliases.values():
            spec = None
        if spec is None:
            continue
        words: list[Word] | None = None
        shell: Word | None = None
        opts: dict[str, Node] = {}
        if spec.get("template"):
            if args.type != "template_string":
                continue
            shell = module.word(args)
        else:
            positional = [c for c in args.named_children if c.type != "comment"]
            if "string" in spec:
                if not positional:
                    continue
                shell = module.word(positional[0])
                if len(positional) > spec.get("options", 1):
                    opts = module.options(positional[spec.get("options", 1)])
            elif "argv" in spec:
                if not positional:
                    continue
                words = module.words(positional[0]) or [module.word(positional[0])]
                if len(positional) > 1:
                    opts = module.options(positional[1])
            else:
                if not positional:
                    continue
                words = [module.word(positional[0])]
                rest = positional[1:]
                if rest and rest[0].type in ("array", "identifier") and module.options(rest[0]) == {} and rest[0].type != "object":
                    more = module.words(rest[0])
                    if more is not None or rest[0].type == "array":
                        words.extend(more or [])
                        rest = rest[1:]
                    elif rest[0].type == "identifier" and len(rest) > 1:
                        words.append(module._dynamic(rest[0]))
                        rest = rest[1:]
                if rest:
                    opts = module.options(rest[0])
        env = module.env_info(opts, node, name, bool(spec.get("merges_env")))
        timeout = src.node_loc(opts["timeout"]) if "timeout" in opts else None
        if "signal" in opts and timeout is None:
            timeout = None  # an AbortSignal may or may not carry a timeout; not assumed
        yield LaunchFound(
            surface="javascript",
            launcher=name.replace(".default", ""),
            location=src.node_loc(node),
            words=tuple(words or ()),
            shell=shell,
            env=env,
            timeout=timeout,
        )
