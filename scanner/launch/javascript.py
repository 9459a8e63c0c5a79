"""JavaScript / TypeScript front end: child_process, execa, zx, Bun.spawn launches."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator

from tree_sitter import Node

from scanner.catalog import Catalog
from scanner.launch.base import Analysis, LaunchFound, launch_tables, possible_forms, timeout_unread
from scanner.launch.commandline import Word
from scanner.containment.reader import EnvInfo
from scanner.model import EnvMode, Fact, FactKind
from scanner.parse.trees import SourceFile, descendants, parse, returned_values
from scanner.project.files import ProjectFiles
from scanner.project.module_paths import js_module_path

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
    for n in descendants(root, "import_statement", "variable_declarator"):
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


_FUNCTIONS = ("function_declaration", "generator_function_declaration", "function_expression", "arrow_function",
              "function", "generator_function", "method_definition")
# Member calls that keep a string's value for our purpose (`explicit.trim()`).
_SAME_STRING = ("trim", "trimStart", "trimEnd", "toString", "valueOf")
_MAX_FORMS = 8
# Helper calls followed while reading one launch (bounds branching helpers on hostile input).
_FOLLOW_BUDGET = 200
_budget = [_FOLLOW_BUDGET]


def fresh_budget() -> None:
    """Start reading a new launch: helper calls may be followed again, up to the budget."""
    _budget[0] = _FOLLOW_BUDGET


class JsModule:
    def __init__(self, src: SourceFile, root: Node):
        self.src = src
        self.root = root
        self.aliases: dict[str, str] = {"Bun": "Bun"}
        self.consts: dict[str, list[tuple[int, Node]]] = {}
        self.zx_globals = src.text.startswith("#!") and "zx" in src.lines[0]
        # Same-file functions by name, `x.push(...)` calls by array name, parameter defaults by
        # name, bindings imported from the repository's own modules (local -> (spec, export)).
        self.functions: dict[str, list[Node]] = {}
        # Methods by (class node id, name): `this.name(...)` runs the one in its own class.
        self.methods: dict[tuple[int, str], list[Node]] = {}
        self.pushes: dict[str, list[Node]] = {}
        self.shifts: dict[str, list[Node]] = {}  # `x.shift()` calls: the program split off an argv
        self.param_defaults: dict[str, list[tuple[Node, Node]]] = {}
        self.imports_rel: dict[str, tuple[str, str]] = {}
        # Classes by name, and the one `export default` names (a base class another file extends).
        self.classes: dict[str, list[Node]] = {}
        self.default_class: Node | None = None
        # Set by the analyzer: opens a repository module imported by a relative path.
        self.loader: Callable[[JsModule, str], JsModule | None] | None = None
        # Tells an agent's program name from any other word (set by the analyzer).
        self.is_agent: Callable[[str], bool] = lambda text: False
        # Set when a value was read from one of several forms it can take (reset per launch).
        self.uncertain = False
        self._active: set[int] = set()
        self._default_name = ""
        self._index()

    def text(self, node: Node) -> str:
        return self.src.node_text(node)

    def _index(self) -> None:
        unset: dict[str, list[Node]] = {}  # `let codex;`: declared without a value
        late: dict[str, list[Node]] = {}  # `codex = new Codex();`: plain assignments by name
        for local, module_text, imported, _node in import_bindings(self.root, self.text):
            mod = _module_name(module_text)
            spec = module_text.strip("'\"`")
            if mod is None and spec.startswith(("./", "../")):
                self.imports_rel[local] = (spec, imported)
            if mod is None:
                continue
            if mod == "zx":
                self.zx_globals = True
            if imported == "*" or imported == "default":
                self.aliases[local] = f"{mod}.default" if mod == "cross-spawn" else mod
            else:
                self.aliases[local] = f"{mod}.{imported}"
        for n in descendants(self.root):
            if n.type in ("function_declaration", "generator_function_declaration"):
                name = n.child_by_field_name("name")
                if name is not None:
                    self.functions.setdefault(self.text(name), []).append(n)
            if n.type in _CLASSES:
                name = n.child_by_field_name("name")
                if name is not None:
                    self.classes.setdefault(self.text(name), []).append(n)
                if n.parent is not None and n.parent.type == "export_statement" and _exports_default(n.parent):
                    self.default_class = n
            if n.type == "export_statement" and _exports_default(n):
                value = n.child_by_field_name("value")
                if value is not None and value.type == "identifier":
                    self._default_name = self.text(value)
            if n.type == "method_definition":
                name, cls = n.child_by_field_name("name"), _enclosing_class(n)
                if name is not None and cls is not None:
                    self.methods.setdefault((cls.id, self.text(name)), []).append(n)
            if n.type == "formal_parameters":
                self._index_params(n)
                continue
            if n.type == "assignment_expression":
                # CommonJS: `exports.build = function (...) {...}` / `module.exports.build = (...) => ...`
                left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
                if left is not None and right is not None and left.type == "identifier":
                    late.setdefault(self.text(left), []).append(n)
                if left is not None and right is not None and self.text(left) == "module.exports":
                    if right.type == "identifier":  # `module.exports = BaseAgent`: the module's default
                        self._default_name = self.text(right)
                    elif right.type in _CLASSES:
                        self.default_class = right
                if left is not None and right is not None and left.type == "member_expression" and \
                        right.type in ("arrow_function", "function_expression", "function"):
                    obj, prop = left.child_by_field_name("object"), left.child_by_field_name("property")
                    if obj is not None and prop is not None and self.text(obj) in ("exports", "module.exports"):
                        self.functions.setdefault(self.text(prop), []).append(right)
            if n.type == "call_expression":
                fn = n.child_by_field_name("function")
                if fn is not None and fn.type == "member_expression":
                    obj, prop = fn.child_by_field_name("object"), fn.child_by_field_name("property")
                    if obj is not None and prop is not None and obj.type == "identifier" and self.text(prop) == "push":
                        self.pushes.setdefault(self.text(obj), []).append(n)
                    if obj is not None and prop is not None and obj.type == "identifier" and self.text(prop) == "shift":
                        self.shifts.setdefault(self.text(obj), []).append(n)
                continue
            if n.type != "variable_declarator":
                continue
            name = n.child_by_field_name("name")
            value = n.child_by_field_name("value")
            if name is not None and value is None and name.type == "identifier":
                unset.setdefault(self.text(name), []).append(n)
            if name is None or value is None or name.type != "identifier":
                continue
            if value.type == "await_expression" and value.named_children:
                value = value.named_children[0]
            if value.type in ("arrow_function", "function_expression", "function"):
                self.functions.setdefault(self.text(name), []).append(value)
            if self._require(value) is None:
                self.consts.setdefault(self.text(name), []).append((n.start_byte, value))
        self._late_values(unset, late)
        for items in self.consts.values():
            items.sort(key=lambda item: item[0])  # the walk is not in source order; `resolve` needs it
        named = self.classes.get(self._default_name, []) if self._default_name else []
        if self.default_class is None and len(named) == 1:
            self.default_class = named[0]  # `class Base {...}` then `export default Base`

    def _late_values(self, unset: dict[str, list[Node]], late: dict[str, list[Node]]) -> None:
        """`let codex; try { codex = new Codex(); } ...`: a name declared without a value and
        assigned exactly once within the function that declares it holds that value. More
        assignments than one are forms this resolver does not choose between."""
        for name, decls in unset.items():
            # One entry per function (None: module level); nodes are compared by id, not identity.
            scopes = list({(s.id if s is not None else None): s for s in map(_scope_of, decls)}.values())
            for scope in scopes:
                # The assignments this declaration owns: no declaration nested inside it claims them.
                inner = [s for s in scopes if s is not None and s is not scope and _contains(scope, s)]
                assigned = [a for a in late.get(name, ()) if _contains(scope, a) and not any(_contains(s, a) for s in inner)]
                if len(assigned) != 1:
                    continue
                value = assigned[0].child_by_field_name("right")
                if value is not None and value.type == "await_expression" and value.named_children:
                    value = value.named_children[0]
                if value is not None and self._require(value) is None:
                    self.consts.setdefault(name, []).append((assigned[0].start_byte, value))

    def _index_params(self, params: Node) -> None:
        fn = params.parent
        if fn is None:
            return

        def pattern(node: Node) -> None:
            if node.type == "assignment_pattern":
                left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
                if left is not None and right is not None and left.type == "identifier":
                    self.param_defaults.setdefault(self.text(left), []).append((fn, right))
                elif left is not None and left.type == "object_pattern":
                    pattern(left)
            elif node.type == "object_pattern":
                for item in node.named_children:
                    if item.type == "object_assignment_pattern":
                        left, right = item.child_by_field_name("left"), item.child_by_field_name("right")
                        if left is not None and right is not None:
                            self.param_defaults.setdefault(self.text(left), []).append((fn, right))
                    elif item.type == "pair_pattern":
                        value = item.child_by_field_name("value")
                        if value is not None:
                            pattern(value)

        for child in params.named_children:
            pattern(child)

    def _require(self, node: Node) -> str | None:
        if node.type == "call_expression":
            fn = node.child_by_field_name("function")
            args = node.child_by_field_name("arguments")
            if fn is not None and self.text(fn) in ("require", "import") and args is not None and args.named_children:
                return _module_name(self.text(args.named_children[0]))
        return None

    def qualified(self, node: Node, depth: int = 0) -> str:
        text = self.text(node)
        head, _, tail = text.partition(".")
        if head in self.aliases:
            base = self.aliases[head]
            return f"{base}.{tail}" if tail else base
        if text == "$" and self.zx_globals:
            return "zx.$"
        if node.type == "identifier" and depth < 3:
            # `const run = spawn`, or a parameter whose default is the launcher (`{ spawnFn = spawn }`),
            # or `const run = promisify(exec)`.
            target = self.resolve(node)
            if target is not None and target.type == "call_expression":
                fn, args = target.child_by_field_name("function"), target.child_by_field_name("arguments")
                if fn is not None and self.text(fn) in ("promisify", "util.promisify") and args is not None \
                        and args.named_children:
                    target = args.named_children[0]
            if target is not None and target.type in ("identifier", "member_expression"):
                return self.qualified(target, depth + 1)
        return text

    def resolve(self, node: Node) -> Node | None:
        if node.type != "identifier":
            return None
        items = self.consts.get(self.text(node))
        if not items:
            return self.param_default(node)
        before = [v for start, v in items if start < node.start_byte]
        # The nearest declaration in a scope that encloses the read shadows the others (another
        # method's `const args` is not this one's); failing that, any earlier one, as before.
        visible = [v for v in before if _contains(_scope_of(v), node)]
        before = visible or before
        return (before or [items[0][1]])[-1] if len(items) == 1 or before else None

    def imported(self, node: Node) -> tuple[JsModule, Node] | None:
        """The value a name imported from a repository module holds there: `AGENT_FLAGS` of
        `import { AGENT_FLAGS } from "./agent-config.mjs"` is that module's `export const`."""
        if node.type != "identifier" or self.loader is None or self.text(node) not in self.imports_rel:
            return None
        spec, export = self.imports_rel[self.text(node)]
        if export in ("default", "*"):
            return None
        other = self.loader(self, spec)
        items = other.consts.get(export) if other is not None else None
        if not items or len(items) != 1:
            return None
        return other, items[0][1]

    def param_default(self, node: Node) -> Node | None:
        """The default of the innermost enclosing function's parameter of this name: one form of
        the value (callers may pass others), so reading it makes the launch uncertain."""
        best: tuple[Node, Node] | None = None
        for fn, default in self.param_defaults.get(self.text(node), ()):
            if fn.start_byte <= node.start_byte < fn.end_byte and (best is None or fn.start_byte > best[0].start_byte):
                best = (fn, default)
        if best is None:
            return None
        self.uncertain = True
        return best[1]

    # -- following calls -------------------------------------------------------------------

    def function_for(self, call: Node, depth: int = 0) -> tuple[JsModule, Node] | None:
        """The function a call runs: a same-file function, a parameter's default function, or an
        export of a repository module imported by a relative path."""
        fn = call.child_by_field_name("function") if call.type == "call_expression" else call
        if fn is not None and fn.type == "member_expression" and depth <= 3:
            return self._method_for(fn)
        if fn is None or fn.type != "identifier" or depth > 3:
            return None
        name = self.text(fn)
        defs = self.functions.get(name, [])
        if len(defs) == 1:
            return self, defs[0]
        if name in self.imports_rel and self.loader is not None:
            spec, export = self.imports_rel[name]
            other = self.loader(self, spec)
            if other is None:
                return None
            found = other.functions.get(export if export not in ("default", "*") else name, [])
            return (other, found[0]) if len(found) == 1 else None
        target = self.resolve(fn)
        if target is not None and target.type == "identifier":
            return self.function_for(target, depth + 1)
        if target is not None and target.type in ("arrow_function", "function_expression", "function"):
            return self, target
        return None

    def _method_for(self, fn: Node) -> tuple[JsModule, Node] | None:
        """`this.build(...)`: the one method of that name in the class the call is written in."""
        obj, prop = fn.child_by_field_name("object"), fn.child_by_field_name("property")
        cls = _enclosing_class(fn)
        if obj is None or prop is None or obj.type != "this" or cls is None:
            return None
        defs = self.methods.get((cls.id, self.text(prop)), [])
        return (self, defs[0]) if len(defs) == 1 else None

    def inherited_method(self, fn: Node) -> tuple[JsModule, Node] | None:
        """`this.run(...)` in a class that does not define `run`: the one `run` of the class it
        extends, declared in this file or imported from a repository module by a relative path
        (one level up; the base class's own parent is not read)."""
        obj, prop = fn.child_by_field_name("object"), fn.child_by_field_name("property")
        cls = _enclosing_class(fn)
        base = _extended(cls) if cls is not None else None
        if obj is None or prop is None or obj.type != "this" or base is None:
            return None
        name = self.text(base)
        owner: JsModule | None = self
        found = self.classes.get(name, [])
        if not found and name in self.imports_rel and self.loader is not None:
            spec, export = self.imports_rel[name]
            owner = self.loader(self, spec)
            if owner is None:
                return None
            if export in ("default", "*"):
                found = [owner.default_class] if owner.default_class is not None else []
            else:
                found = owner.classes.get(export, [])
        if owner is None or len(found) != 1:
            return None
        defs = owner.methods.get((found[0].id, self.text(prop)), [])
        return (owner, defs[0]) if len(defs) == 1 else None

    def returns(self, fn: Node) -> list[Node]:
        body = fn.child_by_field_name("body")
        if body is None:
            return []
        if body.type != "statement_block":
            return [body]
        return returned_values(body, (*_FUNCTIONS, "class_declaration"))[:_MAX_FORMS]

    def call_forms(self, call: Node) -> list[tuple[JsModule, Node]] | None:
        if _budget[0] <= 0:
            return None
        _budget[0] -= 1
        found = self.function_for(call)
        if found is None:
            return None
        module, fn = found
        if fn.id in module._active or len(self._active) > 6:
            return None
        return [(module, r) for r in module.returns(fn)]

    def _enter(self, module: JsModule, node: Node) -> bool:
        if node.id in module._active:
            return False
        module._active.add(node.id)
        return True

    def _leave(self, module: JsModule, node: Node) -> None:
        module._active.discard(node.id)
        if module is not self and module.uncertain:
            self.uncertain = True
            module.uncertain = False

    def choose(self, forms: list[Word]) -> Word | None:
        """The worst of several forms a word can take: an agent's name, else a literal."""
        if not forms:
            return None
        texts = {w.text for w in forms}
        if len(texts) > 1:
            self.uncertain = True
        for w in forms:
            if not w.dynamic and self.is_agent(w.text):
                return w
        return next((w for w in forms if not w.dynamic), forms[0])

    def alternatives(self, node: Node) -> list[Node] | None:
        """Both sides of `c ? a : b`, `a || b`, `a ?? b`; None for anything else."""
        while node.type == "parenthesized_expression" and node.named_children:
            node = node.named_children[0]
        if node.type == "ternary_expression":
            a, b = node.child_by_field_name("consequence"), node.child_by_field_name("alternative")
            return [x for x in (a, b) if x is not None]
        if node.type == "binary_expression":
            op = node.child_by_field_name("operator")
            if op is not None and self.text(op) in ("||", "??"):
                a, b = node.child_by_field_name("left"), node.child_by_field_name("right")
                return [x for x in (a, b) if x is not None]
        return None

    def _pushed(self, name: Node, decl: Node) -> list[Word]:
        """Words pushed onto the array `name` holds, in the function that declares it."""
        scope = _enclosing_function(decl)
        out: list[Word] = []
        for push in sorted(self.pushes.get(self.text(name), ()), key=lambda n: n.start_byte):  # source order
            if push.start_byte < decl.start_byte or _enclosing_function(push) != scope:
                continue
            args = push.child_by_field_name("arguments")
            for arg in args.named_children if args is not None else ():
                if arg.type == "spread_element" and arg.named_children:
                    got = self.words(arg.named_children[0])
                    out.extend(got if got is not None else [self._dynamic(arg)])
                elif arg.type != "comment":
                    out.append(self.word(arg))
        if out:
            self.uncertain = True  # pushes are usually conditional
        return out

    def _shifted(self, use: Node, decl: Node) -> int:
        """How many `x.shift()` calls took words off the array before this use of it."""
        scope = _enclosing_function(decl)
        return sum(1 for call in self.shifts.get(self.text(use), ())
                   if decl.start_byte < call.start_byte < use.start_byte and _enclosing_function(call) == scope)

    def words(self, node: Node, depth: int = 0) -> list[Word] | None:
        if depth > 8:
            return None
        while node.type in ("parenthesized_expression", "as_expression", "satisfies_expression",
                            "non_null_expression") and node.named_children:
            node = node.named_children[0]
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
            if target is None:
                found = self.imported(node)
                return found[0].words(found[1], depth + 1) if found is not None else None
            got = self.words(target, depth + 1)
            if got is not None and target.type == "array" and target.parent is not None:
                got = got + self._pushed(node, target.parent)
                got = got[self._shifted(node, target.parent):]
            return got
        alternatives = self.alternatives(node)
        if alternatives is not None:
            # Every branch's words: an over-approximation that can only add flags, never hide one.
            self.uncertain = True
            out = []
            for alt in alternatives:
                got = self.words(alt, depth + 1)
                out.extend(got if got is not None else [self._dynamic(alt)])
            return out
        if node.type == "call_expression":
            forms = self.call_forms(node)
            if not forms:
                return None
            out, seen = [], False
            for module, ret in forms:
                if not self._enter(module, ret):
                    continue
                try:
                    got = module.words(ret, depth + 1)
                finally:
                    self._leave(module, ret)
                if got is not None:
                    out.extend(got)
                    seen = True
            if len(forms) > 1:
                self.uncertain = True
            return out if seen else None
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
            found = (self, target) if target is not None else self.imported(node)
            if found is not None:
                inner = found[0].word(found[1], depth + 1)
                return Word(inner.text, loc, inner.dynamic)
        if node.type in ("as_expression", "satisfies_expression", "non_null_expression",
                         "parenthesized_expression") and node.named_children:
            return self.word(node.named_children[0], depth + 1)
        if node.type == "call_expression" and self.text(node) in ("process.cwd()",):
            return Word("<cwd>", loc)
        if depth < 8:
            chosen = self._word_forms(node, depth)
            if chosen is not None:
                return chosen
        return self._dynamic(node)

    def _word_forms(self, node: Node, depth: int) -> Word | None:
        """A word with several possible forms (a branch, a helper's returns): the worst one."""
        alternatives = self.alternatives(node)
        if alternatives is not None:
            return self.choose([self.word(a, depth + 1) for a in alternatives])
        if node.type != "call_expression":
            return None
        fn = node.child_by_field_name("function")
        args = node.child_by_field_name("arguments")
        if fn is not None and fn.type == "member_expression":
            prop, obj = fn.child_by_field_name("property"), fn.child_by_field_name("object")
            if prop is not None and obj is not None and self.text(prop) in _SAME_STRING:
                inner = self.word(obj, depth + 1)
                return inner if not inner.dynamic else None
            if prop is not None and obj is not None and obj.type == "identifier" and self.text(prop) == "shift" \
                    and args is not None and not args.named_children:
                got = self.words(obj, depth + 1)  # the words left when this call runs: it takes the first
                return Word(got[0].text, self.src.node_loc(node), got[0].dynamic) if got else None
            return None
        if fn is not None and self.text(fn) == "String" and args is not None and args.named_children:
            inner = self.word(args.named_children[0], depth + 1)
            return inner if not inner.dynamic else None
        forms = self.call_forms(node)
        if not forms:
            return None
        words = []
        for module, ret in forms:
            if not self._enter(module, ret):
                continue
            try:
                words.append(module.word(ret, depth + 1))
            finally:
                self._leave(module, ret)
        return self.choose(words)

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
        if node.type == "call_expression":
            # Options built by a same-file helper: what it returns (its nodes are this file's).
            out: dict[str, Node] = {}
            for module, ret in self.call_forms(node) or ():
                if module is self and self._enter(self, ret):
                    try:
                        out.update(self.options(ret, depth + 1))
                    finally:
                        self._leave(self, ret)
            return out
        if node.type != "object":
            return {}
        out = {}
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

    def unread_options(self, node: Node | None, depth: int = 0) -> Node | None:
        """The part of an options argument this scan cannot read (a parameter, another object's
        property, a call it cannot follow), or None when every part was read: what it holds,
        env included, is then unknown."""
        if node is None or depth > 4:
            return None
        if node.type == "identifier":
            target = self.resolve(node)
            return node if target is None else self.unread_options(target, depth + 1)
        if node.type == "object":
            for child in node.named_children:
                if child.type == "spread_element" and child.named_children:
                    found = self.unread_options(child.named_children[0], depth + 1)
                    if found is not None:
                        return found
            return None
        if node.type == "call_expression":
            return node if not self.call_forms(node) else None
        return node if node.type in ("member_expression", "subscript_expression") else None

    def is_process_env(self, node: Node) -> bool:
        text = " ".join(self.text(node).split())
        return text in ("process.env", "{...process.env}", "{ ...process.env }") or text.startswith("Object.assign({}, process.env")

    def env_info(self, opts: dict[str, Node], call: Node, launcher: str, merges: bool, depth: int = 0,
                 unread: Node | None = None) -> EnvInfo:
        """`unread`: the part of the options this scan could not read (`unread_options`)."""
        call_loc = self.src.node_loc(call)
        node = opts.get("env")
        if node is None and unread is not None:
            return EnvInfo(EnvMode.UNKNOWN, self.src.node_loc(unread),
                           f"the options `{' '.join(self.text(unread).split())[:60]}` ({launcher} inherits "
                           "process.env unless they set env)")
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
        if node.type == "call_expression" and depth < 3:
            # An environment built by a same-file helper: judged on its worst form.
            forms = [self.env_info({**opts, "env": ret}, call, launcher, merges, depth + 1)
                     for module, ret in (self.call_forms(node) or ()) if module is self]
            known = [f for f in forms if f.mode is not EnvMode.UNKNOWN]
            if known:
                return next((f for f in known if f.mode is EnvMode.INHERITED), known[0])
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


# Property names whose string is text for people, not a command something runs.
_PROSE_KEYS = {"description", "desc", "help", "usage", "example", "examples", "title", "label", "placeholder",
               "hint", "tooltip", "text", "summary", "note", "notes", "docs", "comment", "caption"}


def command_strings(module: JsModule, runners: set[str]) -> Iterator[tuple[Node, Word]]:
    """Object properties whose string is a whole command line that starts a package through a
    package runner (`message: "npx -y @scope/agent ..."` in a launcher descriptor)."""
    for node in descendants(module.root, "pair"):
        key, value = node.child_by_field_name("key"), node.child_by_field_name("value")
        if key is None or value is None or module.text(key).strip("'\"`").lower() in _PROSE_KEYS:
            continue
        values = [c for c in value.named_children if c.type in ("string", "template_string")] \
            if value.type == "array" else [value]
        for item in values:
            if item.type not in ("string", "template_string"):
                continue
            word = module.word(item)
            head = word.text.split()
            if len(head) >= 2 and (head[0] in runners or " ".join(head[:2]) in runners):
                yield item, Word(word.text.strip(), word.location, word.dynamic)


def _enclosing_function(node: Node) -> int | None:
    cur = node.parent
    while cur is not None:
        if cur.type in _FUNCTIONS:
            return cur.id
        cur = cur.parent
    return None


def js_module(analysis: Analysis, dialect: str) -> JsModule:
    """The file's parsed and indexed module, shared by every JS/TS analyzer."""
    src = analysis.source

    def make() -> JsModule:
        module = JsModule(src, parse(dialect, src.data).root_node)
        _equip(module, analysis.project, analysis.catalog, 0)
        return module

    return analysis.shared(f"js-module-{dialect}", make)


# -- repository modules -----------------------------------------------------------------------

_MAX_MODULE_DEPTH = 2
_MAX_MODULE_BYTES = 512 * 1024


def _scope_of(node: Node) -> Node | None:
    """The function or method a declaration belongs to; None at module level."""
    cur = node.parent
    while cur is not None:
        if cur.type in _FUNCTIONS or cur.type == "method_definition":
            return cur
        cur = cur.parent
    return None


def _contains(outer: Node | None, node: Node) -> bool:
    return outer is None or outer.start_byte <= node.start_byte < outer.end_byte


_CLASSES = ("class_declaration", "class", "abstract_class_declaration")


def _enclosing_class(node: Node) -> Node | None:
    cur = node.parent
    while cur is not None:
        if cur.type in _CLASSES:
            return cur
        cur = cur.parent
    return None


def _extended(cls: Node) -> Node | None:
    """The name a class extends (`class Claude extends BaseAgent`), or None."""
    for child in cls.named_children:
        if child.type == "class_heritage":
            for node in descendants(child):
                if node.type == "identifier":
                    return node
                if node.type == "implements_clause":
                    break
    return None


def _exports_default(statement: Node) -> bool:
    return any(child.type == "default" for child in statement.children)


def _equip(module: JsModule, project: ProjectFiles, catalog: Catalog, depth: int) -> None:
    module.is_agent = lambda text: posixpath.basename(text) in catalog.by_binary
    if project.root is not None and depth < _MAX_MODULE_DEPTH:
        module.loader = lambda mod, spec: _load_module(project, catalog, mod.src.path, spec, depth + 1)


def _load_module(project: ProjectFiles, catalog: Catalog, importer: str, spec: str, depth: int) -> JsModule | None:
    path = js_module_path(project.paths, importer, spec)
    if path is None:
        return None
    return project.parsed(path, f"js-module@{depth}", lambda src: _parsed_module(project, catalog, src, depth))


def _parsed_module(project: ProjectFiles, catalog: Catalog, src: SourceFile, depth: int) -> JsModule | None:
    """A repository module an analysed file imports: parsed once per process and depth."""
    if len(src.data) > _MAX_MODULE_BYTES:
        return None
    ext = posixpath.splitext(src.path)[1]
    dialect = "tsx" if ext == ".tsx" else "typescript" if ext in (".ts", ".mts", ".cts") else "javascript"
    module = JsModule(src, parse(dialect, src.data).root_node)
    _equip(module, project, catalog, depth)
    return module


def analyze_javascript(analysis: Analysis) -> Iterator[LaunchFound]:
    dialect = analysis.kind  # the file kinds are the grammar's dialects: javascript, typescript, tsx
    yield from _launch_calls(analysis, dialect)
    yield from _inherited_launches(analysis, dialect)
    yield from _command_properties(analysis, dialect)


def _inherited_launches(analysis: Analysis, dialect: str) -> Iterator[LaunchFound]:
    """`this.runProcess("claude", args, { cwd })` in a class whose base class (`extends`) hands
    that method's parameters to a launcher (`spawn(command, args, { env: { ...process.env } })`):
    the call is the launch. The program and its arguments are read where the call writes them;
    the options, environment and timeout where the base class passes them."""
    module = js_module(analysis, dialect)
    table = launch_tables()["javascript"]
    for node in descendants(module.root, "call_expression"):
        fn, args = node.child_by_field_name("function"), node.child_by_field_name("arguments")
        if fn is None or args is None or fn.type != "member_expression" or module._method_for(fn) is not None:
            continue
        found = module.inherited_method(fn)
        if found is None:
            continue
        base, method = found
        params = method.child_by_field_name("parameters")
        names = [_param_name(base, p) for p in params.named_children] if params is not None else []
        passed = [c for c in args.named_children if c.type != "comment"]
        bound = {name: arg for name, arg in zip(names, passed) if name}
        for inner in descendants(method, "call_expression"):
            launch = _bound_launch(module, base, inner, bound, table)
            if launch is None:
                continue
            name, words, shell, opts, opts_node = launch
            merges = bool(table[name].get("merges_env"))
            unread = base.unread_options(opts_node)
            passed_opts = bound.get(base.text(unread)) if unread is not None and unread.type == "identifier" else None
            if unread is not None and unread.type == "identifier" and base.text(unread) in names and passed_opts is None:
                unread = None  # a parameter of the method the call leaves out: nothing more is passed
            # Options the caller passes are its own: read where the call writes them.
            theirs = module.options(passed_opts) if passed_opts is not None else {}
            their_unread = module.unread_options(passed_opts) if passed_opts is not None else None
            if passed_opts is not None and "env" not in opts:
                env = module.env_info(theirs, node, name, merges, unread=their_unread)
            else:
                env = base.env_info(opts, inner, name, merges, unread=unread)
            timeout = base.src.node_loc(opts["timeout"]) if "timeout" in opts else \
                module.src.node_loc(theirs["timeout"]) if "timeout" in theirs else None
            unseen: tuple[Fact, ...] = ()
            if timeout is None and their_unread is not None:
                unseen = (timeout_unread(module.text(their_unread), module.src.node_loc(their_unread)),)
            elif timeout is None and unread is not None and passed_opts is None:
                unseen = (timeout_unread(base.text(unread), base.src.node_loc(unread)),)
            at = analysis.source.node_loc(node)
            via = f"{base.text(method.child_by_field_name('name'))}() of {base.src.path}"
            yield LaunchFound(surface="javascript", launcher=f"{name.replace('.default', '')} (via {via})", location=at,
                              words=tuple(words), shell=shell, env=env, timeout=timeout,
                              facts=(*possible_forms(module.uncertain or base.uncertain, at), *unseen))


def _param_name(module: JsModule, param: Node) -> str:
    """A parameter's name (`command`, `options = {}`, `args: string[]`); "" for a pattern."""
    if param.type in ("required_parameter", "optional_parameter"):
        param = param.child_by_field_name("pattern") or param
    if param.type == "assignment_pattern":
        param = param.child_by_field_name("left") or param
    return module.text(param) if param.type == "identifier" else ""


def _bound_launch(caller: JsModule, base: JsModule, call: Node, bound: dict[str, Node],
                  table: dict) -> tuple[str, list[Word], Word | None, dict[str, Node], Node | None] | None:
    """A launcher call in a base class's method whose program is one of the method's parameters,
    read with the caller's arguments: (launcher, argv words, shell string, options, the options
    argument)."""
    fn, args = call.child_by_field_name("function"), call.child_by_field_name("arguments")
    found = _launcher(base, fn, table) if fn is not None and args is not None else None
    if found is None or args is None:
        return None
    name, spec = found
    positional = [c for c in args.named_children if c.type != "comment"]
    if spec.get("template") or "argv" in spec or not positional:
        return None
    first = positional[0]
    if first.type != "identifier" or base.text(first) not in bound:
        return None
    caller.uncertain = base.uncertain = False
    fresh_budget()
    program = bound[base.text(first)]
    at = spec.get("options", 1) if "string" in spec else 2
    if "string" not in spec and len(positional) == 2 and positional[1].type == "object":
        at = 1  # `spawn(command, { stdio })`: no argument list
    opts_node = positional[at] if len(positional) > at else None
    opts = base.options(opts_node)
    if "string" in spec:
        return name, [], caller.word(program), opts, opts_node
    words = [caller.word(program)]
    if len(positional) > 1 and at != 1:
        rest = positional[1]
        if rest.type == "identifier" and base.text(rest) in bound:
            more = caller.words(bound[base.text(rest)])
            words.extend(more if more is not None else [caller._dynamic(bound[base.text(rest)])])
        else:
            words.extend(base.words(rest) or [])
    return name, words, None, opts, opts_node


def _command_properties(analysis: Analysis, dialect: str) -> Iterator[LaunchFound]:
    """A command line held in a descriptor object that a launcher framework runs: read as a shell
    command, with the environment that framework passes left undecided."""
    src = analysis.source
    module = js_module(analysis, dialect)
    runners = set(analysis.catalog.containment.section("package_runners"))
    for item, word in command_strings(module, runners):
        loc = src.node_loc(item)
        env = EnvInfo(EnvMode.UNKNOWN, loc, "the environment of the launcher that runs this command string")
        yield LaunchFound(
            surface="javascript", launcher="a command string in a launcher descriptor", location=loc,
            shell=word, env=env,
            facts=(Fact(FactKind.POSSIBLE_FORM, "the command is held in a string some launcher runs", loc),),
        )


def _launcher(module: JsModule, fn: Node, table: dict) -> tuple[str, dict] | None:
    """The launcher table's name and row for the function a call names, through the file's
    imports (`cross-spawn`'s default export is the package itself)."""
    name = module.qualified(fn)
    if name.endswith(".default") and name not in table:
        name = name[: -len(".default")]
    spec = table.get(name)
    return (name, spec) if spec is not None else None


def _launch_calls(analysis: Analysis, dialect: str) -> Iterator[LaunchFound]:
    src = analysis.source
    module = js_module(analysis, dialect)
    table = launch_tables()["javascript"]
    for node in descendants(module.root, "call_expression"):
        fn = node.child_by_field_name("function")
        args = node.child_by_field_name("arguments")
        if fn is None or args is None:
            continue
        module.uncertain = False
        fresh_budget()
        found = _launcher(module, fn, table)
        if found is None:
            continue
        name, spec = found
        words: list[Word] | None = None
        shell: Word | None = None
        opts: dict[str, Node] = {}
        opts_node: Node | None = None
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
                    opts_node = positional[spec.get("options", 1)]
                    opts = module.options(opts_node)
            elif "argv" in spec:
                if not positional:
                    continue
                words = module.words(positional[0]) or [module.word(positional[0])]
                if len(positional) > 1:
                    opts_node = positional[1]
                    opts = module.options(opts_node)
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
                elif rest and rest[0].type in ("call_expression", "ternary_expression", "binary_expression"):
                    # The argument list built by a helper (`spawn(bin, buildArgv(req), opts)`).
                    more = module.words(rest[0])
                    if more is not None or len(rest) > 1:
                        words.extend(more if more is not None else [module._dynamic(rest[0])])
                        rest = rest[1:]
                if rest:
                    opts_node = rest[0]
                    opts = module.options(opts_node)
        unread = module.unread_options(opts_node)
        env = module.env_info(opts, node, name, bool(spec.get("merges_env")), unread=unread)
        timeout = src.node_loc(opts["timeout"]) if "timeout" in opts else None
        if "signal" in opts and timeout is None:
            timeout = None  # an AbortSignal may or may not carry a timeout; not assumed
        at = src.node_loc(node)
        unseen = (timeout_unread(module.text(unread), src.node_loc(unread)),) if unread is not None and timeout is None else ()
        yield LaunchFound(surface="javascript", launcher=name.replace(".default", ""), location=at,
                          words=tuple(words or ()), shell=shell, env=env, timeout=timeout,
                          facts=(*possible_forms(module.uncertain, at), *unseen))
