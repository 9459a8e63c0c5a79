"""One parsed Python file: its index and the one value resolver every Python reader uses.

The index (import aliases, per-scope assignment history, functions, calls, attribute and key
assignments) is built by one compiled query over the tree. The resolver answers what a name or
expression holds in this file: a constant, the words of an argv, the environment handed to a
launch, the options of a constructor, the values a same-file helper returns with its parameters
bound to the call's arguments. It is bounded (depth, helper-call budget) and says when a value
was read from one of several forms it can take (`uncertain`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from tree_sitter import Node, Query, QueryCursor

from scanner.launch.commandline import Word
from scanner.containment.reader import EnvInfo
from scanner.model import EnvMode, Location
from scanner.parse.trees import UNSET, SourceFile, language, returned_values

# Scopes whose `return`s are not the enclosing function's.
PY_NESTED_SCOPES = ("function_definition", "lambda", "class_definition")

STRING_TYPES = ("string", "concatenated_string")
# Helper calls followed while reading one launch or site (bounds hostile input).
FOLLOW_BUDGET = 200


Importer = Callable[[str], "PythonModule | None"]


@dataclass
class _Assign:
    start: int
    kind: str  # "set", "extend", "append"
    value: Node


# One query finds every node kind the index needs; walking every node in Python was the
# scanner's hottest loop.
_INDEX_QUERY = """
(import_statement) @import
(import_from_statement) @from
(assignment left: (identifier)) @assign
(augmented_assignment left: (identifier)) @augment
(call function: (attribute object: (identifier))) @method
(function_definition name: (identifier)) @func
(assignment left: (attribute)) @attr
(assignment left: (subscript)) @key
(call) @call
(class_definition) @class
"""


@lru_cache(maxsize=None)
def _query(source: str) -> Query:
    return Query(language("python"), source)


def _index_query() -> Query:
    return _query(_INDEX_QUERY)


class Call:
    """A call with its import-resolved name; its arguments are split only when asked for."""

    def __init__(self, node: Node, name: str, args: Node):
        self.node = node
        self.name = name  # import-resolved dotted name
        self.root = name.split(".", 1)[0]
        self.leaf = name.rsplit(".", 1)[-1]
        self._args = args
        self._parts: tuple[list[Node], dict[str, Node]] | None = None

    @property
    def span(self) -> tuple[int, int]:
        """Where the argument list is in the file's bytes."""
        return self._args.start_byte, self._args.end_byte

    def mentions(self, data: bytes, *words: bytes) -> bool:
        """Whether the argument list's source (`data` is the file's) holds one of `words`: a
        cheap test before the arguments are split."""
        region = data[self._args.start_byte : self._args.end_byte]
        return any(w in region for w in words)

    def has_keyword(self, data: bytes, name: str) -> bool:
        """`name=` among the arguments; most calls never get split."""
        return self.mentions(data, name.encode()) and name in self.keywords

    def _split(self) -> tuple[list[Node], dict[str, Node]]:
        if self._parts is None:
            self._parts = argument_parts(self._args)
        return self._parts

    @property
    def positional(self) -> list[Node]:
        return self._split()[0]

    @property
    def keywords(self) -> dict[str, Node]:
        return self._split()[1]


class PythonModule:
    """One parsed file: its index and the value resolver over it."""

    def __init__(self, src: SourceFile, root: Node, importer: Importer | None = None):
        self.src = src
        self.root = root
        # The repository module an import names (`.settings`, `pkg.settings`), parsed and indexed
        # once per process by the project; None where nothing beyond this file is read.
        self.importer = importer
        self.aliases: dict[str, str] = {}
        self.assigns: dict[tuple[int, str], list[_Assign]] = {}
        # Every function by name (module level, nested and methods).
        self.functions: dict[str, list[Node]] = {}
        # Every call, in source order, with its import-resolved name.
        self.calls: list[Call] = []
        # Every class, in source order.
        self.classes: list[Node] = []
        # `x.k = v` and `x["k"] = v` by the name of x: (start, key, value, assignment).
        self.attr_sets: dict[str, list[tuple[int, str, Node, Node]]] = {}
        self.key_sets: dict[str, list[tuple[int, str, Node, Node]]] = {}
        # Set when a value was read from one of several forms it can take (reset per launch).
        self.uncertain = False
        # Parameters bound to a call's arguments while one site is evaluated (function node id ->
        # name -> argument); set by `follow`, cleared by the reader between sites.
        self.bound: dict[int, dict[str, Node]] = {}
        self._following: set[int] = set()
        self._by_id: dict[int, Call] | None = None
        self.budget = FOLLOW_BUDGET
        self._index()

    # -- indexing ------------------------------------------------------------------------

    def _index(self) -> None:
        captures = QueryCursor(_index_query()).captures(self.root)
        text = self.src.node_text
        for n in captures.get("import", ()):
            for child in n.named_children:
                if child.type == "dotted_name":
                    name = text(child)
                    self.aliases[name.split(".")[0]] = name.split(".")[0]
                elif child.type == "aliased_import":
                    target = child.child_by_field_name("name")
                    alias = child.child_by_field_name("alias")
                    if target is not None and alias is not None:
                        self.aliases[text(alias)] = text(target)
        for n in captures.get("from", ()):
            module = n.child_by_field_name("module_name")
            mod = text(module) if module is not None else ""
            for child in n.children_by_field_name("name"):
                if child.type == "dotted_name":
                    name = text(child)
                    self.aliases[name] = f"{mod}{name}" if mod.endswith(".") else f"{mod}.{name}"
                elif child.type == "aliased_import":
                    target = child.child_by_field_name("name")
                    alias = child.child_by_field_name("alias")
                    if target is not None and alias is not None:
                        sep = "" if mod.endswith(".") else "."
                        self.aliases[text(alias)] = f"{mod}{sep}{text(target)}"
        for n in captures.get("assign", ()):
            left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
            if left is not None and right is not None:
                self._record(self.scope_of(n), text(left), _Assign(n.start_byte, "set", right))
        for n in captures.get("augment", ()):
            left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
            op = n.child_by_field_name("operator")
            if left is not None and right is not None and op is not None and op.type == "+=":
                self._record(self.scope_of(n), text(left), _Assign(n.start_byte, "extend", right))
        for n in captures.get("func", ()):
            name = n.child_by_field_name("name")
            if name is not None:
                self.functions.setdefault(text(name), []).append(n)
        for n in captures.get("method", ()):
            fn, args = n.child_by_field_name("function"), n.child_by_field_name("arguments")
            if fn is None or args is None or not args.named_child_count:
                continue
            obj, attr = fn.child_by_field_name("object"), fn.child_by_field_name("attribute")
            if obj is not None and attr is not None and text(attr) in ("append", "extend"):
                self._record(self.scope_of(n), text(obj), _Assign(n.start_byte, text(attr), args.named_children[-1]))
        for items in self.assigns.values():
            items.sort(key=lambda a: a.start)
        for n in captures.get("attr", ()):
            left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
            obj, attr = left.child_by_field_name("object"), left.child_by_field_name("attribute")
            if right is not None and obj is not None and attr is not None:
                self.attr_sets.setdefault(text(obj), []).append((n.start_byte, text(attr), right, n))
        for n in captures.get("key", ()):
            left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
            obj, sub = left.child_by_field_name("value"), left.child_by_field_name("subscript")
            key = self.const(sub) if sub is not None else None
            if right is not None and obj is not None and isinstance(key, str):
                self.key_sets.setdefault(text(obj), []).append((n.start_byte, key, right, n))
        for n in captures.get("call", ()):
            fn, args = n.child_by_field_name("function"), n.child_by_field_name("arguments")
            if fn is not None and args is not None and args.type == "argument_list":
                self.calls.append(Call(n, self.qualified(fn), args))
        for items in (*self.attr_sets.values(), *self.key_sets.values()):
            items.sort(key=lambda item: item[0])
        self.calls.sort(key=lambda c: c.node.start_byte)
        self.classes = sorted(captures.get("class", ()), key=lambda n: n.start_byte)

    def _record(self, scope: Node, name: str, item: _Assign) -> None:
        self.assigns.setdefault((scope.id, name), []).append(item)

    # -- resolution ----------------------------------------------------------------------

    def qualified(self, node: Node) -> str:
        text = self.src.node_text(node)
        head, _, tail = text.partition(".")
        if head in self.aliases:
            full = self.aliases[head]
            return f"{full}.{tail}" if tail else full
        return text

    def scope_of(self, node: Node) -> Node:
        cur = node.parent
        while cur is not None:
            if cur.type in ("function_definition", "lambda"):
                return cur
            cur = cur.parent
        return self.root

    def history(self, name: str, at: Node) -> list[_Assign] | None:
        scope = self.scope_of(at)
        for sc in (scope, self.root) if scope is not self.root else (self.root,):
            items = self.assigns.get((sc.id, name))
            if items:
                before = [a for a in items if a.start < at.start_byte] or (items if sc is self.root else [])
                if not before:
                    continue
                last_set = max((k for k, a in enumerate(before) if a.kind == "set"), default=None)
                if last_set is None:
                    return None
                return before[last_set:]
        return None

    def imported(self, node: Node) -> tuple[PythonModule, list[_Assign]] | None:
        """What a name this file imports holds where it is defined: the module-level assignments
        of `ARGS` in the repository module of `from .settings import ARGS`, or of
        `settings.ARGS` after `import settings`. None for anything else (a local name, a
        third-party module, a module beyond the import depth)."""
        if self.importer is None or node.type not in ("identifier", "attribute"):
            return None
        found = self._defining_module(node)
        if found is None:
            return None
        other, name = found
        hist = other.history(name, other.root)
        return (other, hist) if hist else None

    def _defining_module(self, node: Node) -> tuple[PythonModule, str] | None:
        """The repository module an imported name (`ARGS`, `settings.ARGS`) comes from, and its
        name there; its `uncertain` is cleared, as this file's is for each launch."""
        head = node
        while head is not None and head.type == "attribute":  # `pkg.settings.ARGS`: its `pkg`
            head = head.child_by_field_name("object")
        if self.importer is None or head is None or head.type != "identifier" or \
                self.src.node_text(head) not in self.aliases:
            return None
        module, _, name = self.qualified(node).rpartition(".")
        other = self.importer(module) if module and name else None
        if other is None:
            return None
        other.uncertain = False
        return other, name

    def _history_of(self, node: Node) -> tuple[PythonModule, list[_Assign]] | None:
        """The assignments a name holds at `node`: this file's, else its defining module's."""
        if node.type == "identifier":
            hist = self.history(self.src.node_text(node), node)
            if hist:
                return self, hist
        return self.imported(node)

    # -- helpers and branches ------------------------------------------------------------

    def _helper(self, call: Node) -> tuple[PythonModule, Node] | None:
        """The one module-level function a call runs, not being followed: `name(...)` of this
        file, or of the repository module it was imported from (`from .cmd import claude_argv`,
        `cmd.claude_argv(...)`)."""
        fn = call.child_by_field_name("function")
        if fn is None or fn.type not in ("identifier", "attribute") or self.budget <= 0:
            return None
        self.budget -= 1
        name = self.src.node_text(fn)
        if fn.type == "attribute" and name.split(".", 1)[0] in ("self", "cls") and name.count(".") == 1:
            method = self._method(call, name.split(".", 1)[1])
            return (self, method) if method is not None and method.id not in self._following else None
        if fn.type == "identifier" and name not in self.aliases:
            defs = [d for d in self.functions.get(name, ()) if self._top_level(d)]
            return (self, defs[0]) if len(defs) == 1 and defs[0].id not in self._following else None
        found = self._defining_module(fn)
        if found is None:
            return None
        other, leaf = found
        defs = [d for d in other.functions.get(leaf, ()) if other._top_level(d)]
        return (other, defs[0]) if len(defs) == 1 and defs[0].id not in other._following else None

    def _method(self, call: Node, name: str) -> Node | None:
        """`self.name(...)` inside a class: the one method of that name in the class body."""
        cls = enclosing(call, "class_definition")
        body = cls.child_by_field_name("body") if cls is not None else None
        if body is None:
            return None
        defs = []
        for item in body.named_children:
            fn = item.child_by_field_name("definition") if item.type == "decorated_definition" else item
            if fn is not None and fn.type == "function_definition":
                fname = fn.child_by_field_name("name")
                if fname is not None and self.src.node_text(fname) == name:
                    defs.append(fn)
        return defs[0] if len(defs) == 1 else None

    def _through(self, call: Node, read):  # type: ignore[no-untyped-def]
        """Read each return of the helper `call` runs with `read(module, node)` (the module the
        helper is defined in); the forms that resolve."""
        found = self._helper(call)
        if found is None:
            return None
        module, helper = found
        returned = returned_values(helper.child_by_field_name("body"), PY_NESTED_SCOPES)[:8]
        if not returned:
            return None
        module._following.add(helper.id)
        try:
            forms = [got for got in (read(module, r) for r in returned) if got is not None]
        finally:
            module._following.discard(helper.id)
            if module is not self:
                self.uncertain = self.uncertain or module.uncertain
        if len(returned) > 1:
            self.uncertain = True
        return forms

    @staticmethod
    def branches(node: Node) -> list[Node] | None:
        """Both values of `a if c else b`; None for anything else."""
        while node.type == "parenthesized_expression" and node.named_children:
            node = node.named_children[0]
        if node.type == "conditional_expression" and len(node.named_children) >= 3:
            return [node.named_children[0], node.named_children[2]]
        return None

    def words(self, node: Node, depth: int = 0) -> list[Word] | None:
        """Evaluate an argv expression into words; None when it cannot be resolved at all."""
        if depth > 6:
            return None
        t = node.type
        branches = self.branches(node)
        if branches is not None:
            # Both branches' words: an over-approximation that can only add flags, never hide one.
            self.uncertain = True
            out: list[Word] = []
            for b in branches:
                got = self.words(b, depth + 1)
                out.extend(got if got is not None else ([] if b.type in ("list", "tuple") else [self.word(b, depth + 1)]))
            return out
        if t in ("list", "tuple", "parenthesized_expression") :
            out: list[Word] = []
            for child in node.named_children:
                if child.type in ("list_splat", "parenthesized_list_splat"):
                    inner = child.named_children[0] if child.named_children else None
                    got = self.words(inner, depth + 1) if inner is not None else None
                    out.extend(got if got is not None else [self.dynamic_word(child)])
                elif child.type == "comment":
                    continue
                else:
                    got = self.words(child, depth + 1)
                    if got is not None and child.type in ("identifier", "binary_operator", "list"):
                        out.extend(got)
                    else:
                        out.append(self.word(child, depth + 1))
            return out
        if t == "binary_operator":
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            op = node.child_by_field_name("operator")
            if op is not None and op.type == "+" and left is not None and right is not None:
                lw, rw = self.words(left, depth + 1), self.words(right, depth + 1)
                if lw is not None and rw is not None:
                    return lw + rw
            return None
        if t in ("identifier", "attribute"):
            found = self._history_of(node)
            if found is None:
                return None
            mod, hist = found
            out = []
            try:
                for item in hist:
                    if item.kind == "append":
                        out.append(mod.word(item.value, depth + 1))
                        continue
                    got = mod.words(item.value, depth + 1)
                    if got is None:
                        if item.value.type in STRING_TYPES:
                            return [mod.word(item.value, depth + 1)]
                        return None
                    out.extend(got)
            finally:
                if mod is not self:
                    self.uncertain = self.uncertain or mod.uncertain
            return out
        if t == "call":
            fn = node.child_by_field_name("function")
            args = node.child_by_field_name("arguments")
            if fn is not None and self.qualified(fn) == "shlex.split" and args is not None and args.named_children:
                word = self.word(args.named_children[0], depth + 1)
                if not word.dynamic:
                    from scanner.launch.commandline import default_shell_splitter

                    cmds = default_shell_splitter(word)
                    return [w for cmd in cmds for w in cmd]
            forms = self._through(node, lambda m, r: m.words(r, depth + 1) if r.type not in STRING_TYPES else None)
            return forms[0] if forms else None
        return None

    def word(self, node: Node, depth: int = 0) -> Word:
        loc = self.src.node_loc(node)
        t = node.type
        if t in STRING_TYPES:
            value = self.string_value(node)
            if value is not None:
                return Word(value, loc)
            return Word(self._fstring_text(node), loc, dynamic=True)
        if t in ("identifier", "attribute") and depth < 6:
            found = self._history_of(node)
            if found is not None and len(found[1]) == 1 and found[1][0].kind == "set":
                inner = found[0].word(found[1][0].value, depth + 1)
                return Word(inner.text, loc, inner.dynamic)
        if t == "call" and depth < 6:
            fn = node.child_by_field_name("function")
            args = node.child_by_field_name("arguments")
            name = self.qualified(fn) if fn is not None else ""
            if name in ("os.environ.get", "os.getenv") and args is not None and len(args.named_children) >= 2:
                default = self.word(args.named_children[1], depth + 1)
                var = self.word(args.named_children[0], depth + 1)
                return Word(default.text, loc, dynamic=True) if default.dynamic else Word(
                    f"${{{var.text}:-{default.text}}}", loc, dynamic=True)
            if name in ("str", "os.fspath") and args is not None and args.named_children:
                inner = self.word(args.named_children[0], depth + 1)
                return Word(inner.text, loc, inner.dynamic)
            if name in ("os.getcwd", "pathlib.Path.cwd", "Path.cwd"):
                return Word("<cwd>", loc)
            forms = self._through(node, lambda m, r: m.word(r, depth + 1))
            if forms:
                chosen = next((w for w in forms if not w.dynamic), forms[0])
                return Word(chosen.text, chosen.location, chosen.dynamic)
        branches = self.branches(node) if depth < 6 else None
        if branches is not None:
            forms = [self.word(b, depth + 1) for b in branches]
            if len({w.text for w in forms}) > 1:
                self.uncertain = True
            return next((w for w in forms if not w.dynamic), forms[0])
        return self.dynamic_word(node)

    def dynamic_word(self, node: Node) -> Word:
        return Word("$" + " ".join(self.src.node_text(node).split())[:80], self.src.node_loc(node), dynamic=True)

    def string_value(self, node: Node) -> str | None:
        if node.type == "concatenated_string":
            parts = [self.string_value(c) for c in node.named_children]
            return None if any(p is None for p in parts) else "".join(p or "" for p in parts)
        out = []
        for child in node.named_children:
            if child.type == "string_content":
                out.append(self.src.node_text(child))
            elif child.type == "escape_sequence":
                out.append(_unescape(self.src.node_text(child)))
            elif child.type == "interpolation":
                return None
        return "".join(out)

    def _fstring_text(self, node: Node) -> str:
        out = []
        for child in node.named_children:
            if child.type == "string_content":
                out.append(self.src.node_text(child))
            elif child.type == "interpolation":
                inner = self.src.node_text(child).strip("{}").strip()
                cwd = inner in ("os.getcwd()", "Path.cwd()", "pathlib.Path.cwd()", "os.curdir")
                out.append("<cwd>" if cwd else "$" + self.src.node_text(child))
        return "".join(out)

    # -- environment ---------------------------------------------------------------------

    def env_info(self, node: Node | None, call: Node, launcher: str, depth: int = 0, unread: Node | None = None) -> EnvInfo:
        """`unread`: `**options` handed to the launch that this scan cannot read (`launch_keywords`)."""
        call_loc = self.src.node_loc(call)
        if node is None and unread is not None:
            return EnvInfo(EnvMode.UNKNOWN, self.src.node_loc(unread),
                           f"the options `{' '.join(self.src.node_text(unread).split())[:60]}` ({launcher} inherits "
                           "os.environ unless they set env)")
        if node is None:
            return EnvInfo(EnvMode.INHERITED, call_loc, f"{launcher} without env= inherits os.environ")
        loc = self.src.node_loc(node)
        text = " ".join(self.src.node_text(node).split())[:80]
        t = node.type
        if t == "none":
            return EnvInfo(EnvMode.INHERITED, loc, "env=None inherits os.environ")
        if self.is_environ(node):
            return EnvInfo(EnvMode.INHERITED, loc, f"env={text}")
        if t == "dictionary":
            names: list[Word] = []
            inherited = False
            for child in node.named_children:
                if child.type == "dictionary_splat":
                    inner = child.named_children[0] if child.named_children else None
                    if inner is not None and (self.is_environ(inner) or self._env_var_inherits(inner, depth)):
                        inherited = True
                elif child.type == "pair":
                    key = child.child_by_field_name("key")
                    if key is not None:
                        kw = self.word(key)
                        if not kw.dynamic:
                            names.append(kw)
            mode = EnvMode.INHERITED if inherited else EnvMode.MINIMAL
            detail = f"env={text}" if inherited else "an explicit env mapping"
            return EnvInfo(mode, loc, detail, tuple(names))
        if t == "binary_operator":
            left = node.child_by_field_name("left")
            if left is not None and (self.is_environ(left) or self._env_var_inherits(left, depth)):
                return EnvInfo(EnvMode.INHERITED, loc, f"env={text}")
        if t == "call":
            fn = node.child_by_field_name("function")
            args = node.child_by_field_name("arguments")
            name = self.qualified(fn) if fn is not None else ""
            if name == "dict" and args is not None:
                first = next((c for c in args.named_children if c.type != "keyword_argument"), None)
                names = [Word(self.src.node_text(k.child_by_field_name("name")), self.src.node_loc(k))
                         for k in args.named_children if k.type == "keyword_argument" and k.child_by_field_name("name") is not None]
                if first is not None and (self.is_environ(first) or self._env_var_inherits(first, depth)):
                    return EnvInfo(EnvMode.INHERITED, loc, f"env={text}", tuple(names))
                if first is None:
                    return EnvInfo(EnvMode.MINIMAL, loc, "an explicit env mapping", tuple(names))
        if t == "call" and depth < 4:
            # The environment a helper of another module builds is read in this file only.
            forms = self._through(node, lambda m, r: self.env_info(r, call, launcher, depth + 1) if m is self else None)
            known = [f for f in forms or () if f.mode is not EnvMode.UNKNOWN]
            if known:
                # The environment a helper builds: judged on its worst form.
                return next((f for f in known if f.mode is EnvMode.INHERITED), known[0])
        if t == "identifier" and depth < 4:
            hist = self.history(self.src.node_text(node), node)
            if hist:
                base = self.env_info(hist[0].value, call, launcher, depth + 1)
                names = list(base.names)
                # env["X"] = ... after the assignment adds names; collected by subscript scan below.
                names.extend(self._subscript_sets(self.src.node_text(node), hist[0].start, call))
                return EnvInfo(base.mode, loc if base.mode is not EnvMode.INHERITED else base.location, base.detail, tuple(names))
        return EnvInfo(EnvMode.UNKNOWN, loc, f"env={text}")

    def _env_var_inherits(self, node: Node, depth: int) -> bool:
        if node.type == "identifier" and depth < 4:
            hist = self.history(self.src.node_text(node), node)
            if hist:
                return self.is_environ(hist[0].value)
        return False

    def _subscript_sets(self, name: str, after: int, call: Node) -> list[Word]:
        out: list[Word] = []
        scope = self.scope_of(call)
        stack = [scope]
        while stack:
            n = stack.pop()
            if n.type == "assignment" and after < n.start_byte < call.start_byte:
                left = n.child_by_field_name("left")
                if left is not None and left.type == "subscript":
                    value = left.child_by_field_name("value")
                    sub = left.child_by_field_name("subscript")
                    if value is not None and sub is not None and self.src.node_text(value) == name:
                        w = self.word(sub)
                        if not w.dynamic:
                            out.append(w)
            stack.extend(n.children)
        return out

    def is_environ(self, node: Node | None) -> bool:
        if node is None:
            return False
        t = node.type
        if t in ("attribute", "identifier"):
            return self.qualified(node) == "os.environ"
        if t == "call":
            fn = node.child_by_field_name("function")
            args = node.child_by_field_name("arguments")
            if fn is None:
                return False
            name = self.qualified(fn)
            if name in ("os.environ.copy", "dict", "copy.copy", "copy.deepcopy", "collections.ChainMap"):
                if name == "os.environ.copy":
                    return True
                first = args.named_children[0] if args is not None and args.named_children else None
                return first is not None and self.is_environ(first)
        if t == "binary_operator":
            left = node.child_by_field_name("left")
            return left is not None and self.is_environ(left)
        if t == "dictionary":
            return any(
                c.type == "dictionary_splat" and c.named_children and self.is_environ(c.named_children[0])
                for c in node.named_children
            )
        return False

    # -- values ------------------------------------------------------------------------

    def loc(self, node: Node) -> Location:
        return self.src.node_loc(node)

    def text(self, node: Node) -> str:
        return " ".join(self.src.node_text(node).split())[:80]

    short = text  # the name the language-neutral readers (launch/claude_options.py) ask for

    def deref(self, node: Node | None, depth: int = 0) -> Node | None:
        """Follow a name to the one value it holds in this file; None when it cannot be seen.

        A parameter holds the argument of the call being followed (see `bind`), else its default."""
        while node is not None and node.type in ("parenthesized_expression", "await") and node.named_children:
            node = node.named_children[-1]
        if node is None or depth > 8:
            return None
        if node.type != "identifier":
            return node
        name = self.src.node_text(node)
        scope = self.scope_of(node)
        if scope.type == "function_definition" and name in self.params(scope) and not self._local_sets(scope, name, node):
            value = self._param_value(name, scope)
            return self.deref(value, depth + 1) if value is not None else None
        hist = self.history(name, node)
        if hist and len(hist) == 1 and hist[0].kind == "set":
            return self.deref(hist[0].value, depth + 1)
        return None

    def _local_sets(self, scope: Node, name: str, at: Node) -> bool:
        return any(a.start < at.start_byte for a in self.assigns.get((scope.id, name), ()))

    def params(self, fn: Node) -> list[str]:
        """The parameter names of a function, in order (self/cls included)."""
        out: list[str] = []
        params = fn.child_by_field_name("parameters")
        for p in params.named_children if params is not None else ():
            ident = p if p.type == "identifier" else (p.child_by_field_name("name") or
                                                      next((c for c in p.named_children if c.type == "identifier"), None))
            if ident is not None and ident.type == "identifier":
                out.append(self.src.node_text(ident))
        return out

    def _param_value(self, name: str, fn: Node) -> Node | None:
        bound = self.bound.get(fn.id)
        if bound is not None and name in bound:
            return bound[name]
        return self._default_of(fn, name)

    def _default_of(self, fn: Node, name: str) -> Node | None:
        params = fn.child_by_field_name("parameters")
        for p in params.named_children if params is not None else ():
            if p.type in ("default_parameter", "typed_default_parameter"):
                pname = p.child_by_field_name("name")
                if pname is not None and self.src.node_text(pname) == name:
                    return p.child_by_field_name("value")
        return None

    def param_default(self, name: str, at: Node) -> Node | None:
        scope = self.scope_of(at)
        if scope.type != "function_definition":
            return None
        return self._default_of(scope, name)

    # -- following calls into same-file functions ---------------------------------------

    def function_of(self, call: Call) -> Node | None:
        """The same-file function a call runs: a module-level `def name` for `name(...)`, a method
        of the enclosing class for `self.name(...)`. None when it is not unambiguous."""
        fn = call.node.child_by_field_name("function")
        if fn is None:
            return None
        if fn.type == "identifier":
            name = self.src.node_text(fn)
            if name in self.aliases:
                return None
            defs = [d for d in self.functions.get(name, ()) if self._top_level(d)]
            return defs[0] if len(defs) == 1 else None
        if fn.type == "attribute":
            obj, attr = fn.child_by_field_name("object"), fn.child_by_field_name("attribute")
            if obj is None or attr is None or self.src.node_text(obj) not in ("self", "cls"):
                return None
            cls = enclosing(call.node, "class_definition")
            if cls is None:
                return None
            defs = [d for d in self.functions.get(self.src.node_text(attr), ())
                    if (enclosing(d, "class_definition") or d).id == cls.id]
            return defs[0] if len(defs) == 1 else None
        return None

    def _top_level(self, fn: Node) -> bool:
        parent = fn.parent
        if parent is not None and parent.type == "decorated_definition":
            parent = parent.parent
        return parent is not None and parent.type == "module"

    def bind(self, fn: Node, call: Call) -> dict[str, Node]:
        """The call's arguments by parameter name (positional, then keywords)."""
        names = self.params(fn)
        method = bool(names) and names[0] in ("self", "cls") and enclosing(fn, "class_definition") is not None
        if method:
            names = names[1:]
        out: dict[str, Node] = {}
        for name, arg in zip(names, call.positional):
            if arg.type in ("list_splat", "dictionary_splat"):
                break
            out[name] = arg
        for key, value in call.keywords.items():
            if key in names:
                out[key] = value
        return out

    def returns(self, fn: Node) -> list[Node]:
        """The values a function returns (its own `return` statements, not nested functions')."""
        return returned_values(fn.child_by_field_name("body"), PY_NESTED_SCOPES)

    def follow(self, call: Call) -> list[Node] | None:
        """The return values of the same-file function `call` runs, its parameters bound to the
        call's arguments for the rest of this evaluation; None when there is no such function."""
        fn = self.function_of(call)
        if fn is None or fn.id in self._following or len(self._following) > 4 or self.budget <= 0:
            return None
        self.budget -= 1
        self.bound.setdefault(fn.id, self.bind(fn, call))
        return self.returns(fn)

    def forms(self, node: Node | None, depth: int = 0) -> list[Node]:
        """The values an expression can take: both sides of `a if c else b` and `a or b`, every
        return of a followed function. Bounded; [] when nothing can be seen."""
        node = self.deref(node)
        if node is None or depth > 4:
            return []
        if node.type == "conditional_expression" and len(node.named_children) >= 3:
            kids = node.named_children
            return self.forms(kids[0], depth + 1) + self.forms(kids[2], depth + 1)
        if node.type == "boolean_operator":
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            return self.forms(left, depth + 1) + self.forms(right, depth + 1)
        if node.type == "call":
            call = self.call_at(node)
            if call is not None:
                fn = self.function_of(call)
                returned = self.follow(call) if fn is not None else None
                if returned is not None:
                    self._following.add(fn.id)
                    try:
                        return [f for r in returned for f in self.forms(r, depth + 1)][:8]
                    finally:
                        self._following.discard(fn.id)
        return [node]

    def const_forms(self, node: Node | None) -> list:
        """Every constant value the expression can take (UNSET for a form that is not one)."""
        out = []
        for form in self.forms(node) or [None]:
            value = self.const(form) if form is not None else UNSET
            if value not in out:
                out.append(value)
        return out

    def const(self, node: Node | None):
        """A Python constant (str, bool, None, int) or UNSET when not constant here."""
        node = self.deref(node)
        if node is None:
            return UNSET
        t = node.type
        if t in ("string", "concatenated_string"):
            value = self.string_value(node)
            return value if value is not None else UNSET
        if t == "true":
            return True
        if t == "false":
            return False
        if t == "none":
            return None
        if t == "integer":
            try:
                return int(self.src.node_text(node).replace("_", ""), 0)
            except ValueError:
                return UNSET
        if t == "call":
            call = self.call_at(node)
            if call is not None and call.name in ("os.environ.get", "os.getenv") and len(call.positional) >= 2:
                return UNSET
        return UNSET

    def strings(self, node: Node | None) -> list[str | None] | None:
        node = self.deref(node)
        if node is None or node.type not in ("list", "tuple", "set"):
            return None
        out: list[str | None] = []
        for child in node.named_children:
            value = self.const(child)
            out.append(value if isinstance(value, str) else None)
        return out

    def call_at(self, node: Node | None) -> Call | None:
        node = self.deref(node)
        if node is None or node.type != "call":
            return None
        if self._by_id is None:
            self._by_id = {call.node.id: call for call in self.calls}
        return self._by_id.get(node.id)

    def mapping(self, node: Node | None, depth: int = 0) -> dict[str, Node] | None:
        """Keyword arguments of a constructor call, or the string keys of a dict, plus later
        `x.k = v` / `x["k"] = v` on the variable that holds it. None when not visible."""
        if node is None or depth > 4:
            return None
        name = self.src.node_text(node) if node.type == "identifier" else None
        target = self.deref(node)
        if target is None:
            return None
        out: dict[str, Node] = {}
        if target.type == "call":
            call = self.call_at(target)
            if call is None:
                return None
            if not (call.leaf == "dict" or call.leaf[:1].isupper()):
                # A same-file helper that builds the options: read what it returns.
                fn = self.function_of(call)
                returned = self.follow(call) if fn is not None and fn.id not in self._following else None
                if not returned:
                    return None
                self._following.add(fn.id)
                try:
                    found = [m for m in (self.mapping(r, depth + 1) for r in returned) if m is not None]
                finally:
                    self._following.discard(fn.id)
                if not found:
                    return None
                merged: dict[str, Node] = {}
                for m in found:
                    merged.update(m)
                return merged
            for p in call.positional:
                if p.type == "dictionary_splat" and p.named_children:
                    out.update(self.mapping(p.named_children[0], depth + 1) or {})
                elif call.leaf == "dict":
                    out.update(self.mapping(p, depth + 1) or {})
            out.update(call.keywords)
        elif target.type == "dictionary":
            for child in target.named_children:
                if child.type == "pair":
                    key, value = child.child_by_field_name("key"), child.child_by_field_name("value")
                    k = self.const(key) if key is not None else UNSET
                    if isinstance(k, str) and value is not None:
                        out[k] = value
                elif child.type == "dictionary_splat" and child.named_children:
                    out.update(self.mapping(child.named_children[0], depth + 1) or {})
        else:
            return None
        if name is not None:
            # Later `x.k = v` / `x["k"] = v` on the same name refine it (last one wins).
            for _, attr, value, _ in self.attr_sets.get(name, ()):
                out[attr] = value
            for _, key, value, _ in self.key_sets.get(name, ()):
                out[key] = value
        return out

    def launch_keywords(self, call: Call) -> tuple[dict[str, Node], Node | None]:
        """A call's keyword arguments with those of each `**options` it can read (`mapping`), and
        the first `**options` it cannot: what that one holds, env and timeout included, is unknown."""
        keywords = dict(call.keywords)
        unread: Node | None = None
        for part in call.positional:
            if part.type != "dictionary_splat" or not part.named_children:
                continue
            found = self.mapping(part.named_children[0])
            if found is None:
                unread = unread or part
            else:
                for key, value in found.items():
                    keywords.setdefault(key, value)
        return keywords, unread

    def option(self, call: Call, key: str, position: int | None = None) -> Node | None:
        if key in call.keywords:
            return call.keywords[key]
        if position is not None and position < len(call.positional):
            return call.positional[position]
        return None

    def enclosing_timeout(self, node: Node) -> Location | None:
        """An `asyncio.wait_for(..., timeout)` / `asyncio.timeout()` / `anyio.fail_after()` around the site."""
        cur = node.parent
        while cur is not None:
            if cur.type == "call":
                call = self.call_at(cur)
                if call is not None and call.name in ("asyncio.wait_for", "anyio.fail_after", "anyio.move_on_after",
                                                      "trio.fail_after", "async_timeout.timeout", "asyncio.timeout"):
                    return self.loc(cur)
            if cur.type in ("with_statement",):
                for item in cur.named_children:
                    if item.type == "with_clause":
                        for w in item.named_children:
                            val = w.named_children[0] if w.named_children else None
                            call = self.call_at(val) if val is not None and val.type == "call" else None
                            if call is not None and call.name in ("asyncio.timeout", "anyio.fail_after",
                                                                  "async_timeout.timeout", "anyio.move_on_after"):
                                return self.loc(val)
            cur = cur.parent
        return None

    def assigned_name(self, node: Node) -> str | None:
        parent = node.parent
        while parent is not None and parent.type in ("list", "tuple", "parenthesized_expression", "await"):
            parent = parent.parent
        if parent is not None and parent.type == "assignment":
            left = parent.child_by_field_name("left")
            if left is not None and left.type in ("identifier", "attribute"):
                return self.src.node_text(left)
        return None


def _unescape(seq: str) -> str:
    try:
        return seq.encode("latin-1", "backslashreplace").decode("unicode_escape")
    except Exception:
        return seq


def argument_parts(args: Node) -> tuple[list[Node], dict[str, Node]]:
    positional: list[Node] = []
    keywords: dict[str, Node] = {}
    for child in args.named_children:
        if child.type == "keyword_argument":
            name = child.child_by_field_name("name")
            value = child.child_by_field_name("value")
            if name is not None and value is not None:
                keywords[name.text.decode("utf-8", "replace")] = value
        elif child.type == "comment":
            continue
        else:
            positional.append(child)
    return positional, keywords


def enclosing(node: Node, kind: str) -> Node | None:
    """The nearest ancestor of this node type."""
    cur = node.parent
    while cur is not None:
        if cur.type == kind:
            return cur
        cur = cur.parent
    return None
