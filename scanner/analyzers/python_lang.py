"""Python front end: subprocess / os / asyncio / pty launches, with same-file constant folding."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from functools import lru_cache

from tree_sitter import Node, Query, QueryCursor

from scanner.analyzers.base import Analysis, LaunchFound, launch_tables, possible_forms
from scanner.commandline import Word
from scanner.containment import EnvInfo
from scanner.model import EnvMode, Fact
from scanner.parsing import SourceFile, language, parse, returned_values

# Scopes whose `return`s are not the enclosing function's.
PY_NESTED_SCOPES = ("function_definition", "lambda", "class_definition")

_STRING_TYPES = ("string", "concatenated_string")
_FOLLOW_BUDGET = 200


@dataclass
class _Assign:
    start: int
    kind: str  # "set", "extend", "append"
    value: Node


_INDEX_QUERY = """
(import_statement) @import
(import_from_statement) @from
(assignment left: (identifier)) @assign
(augmented_assignment left: (identifier)) @augment
(call function: (attribute object: (identifier))) @method
(function_definition name: (identifier)) @func
"""


@lru_cache(maxsize=None)
def _query(source: str) -> Query:
    return Query(language("python"), source)


def _index_query_captures(node: Node) -> dict[str, list[Node]]:
    return QueryCursor(_query(_INDEX_QUERY)).captures(node)


def python_calls(node: Node) -> list[Node]:
    """Every call in the tree, in source order, found by a compiled query."""
    calls = QueryCursor(_query("(call) @call")).captures(node).get("call", [])
    return sorted(calls, key=lambda n: n.start_byte)


class PythonModule:
    """One parsed file: import aliases and per-scope assignment history for folding."""

    def __init__(self, src: SourceFile, root: Node):
        self.src = src
        self.root = root
        self.aliases: dict[str, str] = {}
        self.assigns: dict[tuple[int, str], list[_Assign]] = {}
        # Module-level functions by name: a value built by a helper is read from what it returns.
        self.functions: dict[str, list[Node]] = {}
        # Set when a value was read from one of several forms it can take (reset per launch).
        self.uncertain = False
        self._following: set[int] = set()
        # Helper calls followed while reading one launch (reset per launch; bounds hostile input).
        self.budget = _FOLLOW_BUDGET
        self._index(root, root)
        for items in self.assigns.values():
            items.sort(key=lambda a: a.start)

    # -- indexing ------------------------------------------------------------------------

    def _index(self, node: Node, scope: Node) -> None:
        # One compiled query finds the few node kinds that matter; walking every node in Python
        # was the scanner's hottest loop.
        captures = _index_query_captures(node)
        for n in captures.get("import", ()):
            for child in n.named_children:
                if child.type == "dotted_name":
                    name = self.src.node_text(child)
                    self.aliases[name.split(".")[0]] = name.split(".")[0]
                elif child.type == "aliased_import":
                    target = child.child_by_field_name("name")
                    alias = child.child_by_field_name("alias")
                    if target is not None and alias is not None:
                        self.aliases[self.src.node_text(alias)] = self.src.node_text(target)
        for n in captures.get("from", ()):
            module = n.child_by_field_name("module_name")
            mod = self.src.node_text(module) if module is not None else ""
            for child in n.children_by_field_name("name"):
                if child.type == "dotted_name":
                    name = self.src.node_text(child)
                    self.aliases[name] = f"{mod}.{name}"
                elif child.type == "aliased_import":
                    target = child.child_by_field_name("name")
                    alias = child.child_by_field_name("alias")
                    if target is not None and alias is not None:
                        self.aliases[self.src.node_text(alias)] = f"{mod}.{self.src.node_text(target)}"
        for n in captures.get("assign", ()):
            left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
            if left is not None and right is not None:
                self._record(self.scope_of(n), self.src.node_text(left), _Assign(n.start_byte, "set", right))
        for n in captures.get("augment", ()):
            left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
            op = n.child_by_field_name("operator")
            if left is not None and right is not None and op is not None and op.type == "+=":
                self._record(self.scope_of(n), self.src.node_text(left), _Assign(n.start_byte, "extend", right))
        for n in captures.get("func", ()):
            parent = n.parent
            if parent is not None and parent.type == "decorated_definition":
                parent = parent.parent
            name = n.child_by_field_name("name")
            if parent is not None and parent.type == "module" and name is not None:
                self.functions.setdefault(self.src.node_text(name), []).append(n)
        for n in captures.get("method", ()):
            fn, args = n.child_by_field_name("function"), n.child_by_field_name("arguments")
            if fn is None or args is None or not args.named_child_count:
                continue
            obj, attr = fn.child_by_field_name("object"), fn.child_by_field_name("attribute")
            if obj is not None and attr is not None and self.src.node_text(attr) in ("append", "extend"):
                self._record(self.scope_of(n), self.src.node_text(obj), _Assign(n.start_byte, self.src.node_text(attr), args.named_children[-1]))

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

    # -- helpers and branches ------------------------------------------------------------

    def helper_returns(self, call: Node) -> list[Node] | None:
        """What a same-file module-level function called here returns (None: not such a call)."""
        fn = call.child_by_field_name("function")
        if fn is None or fn.type != "identifier" or self.budget <= 0:
            return None
        self.budget -= 1
        name = self.src.node_text(fn)
        defs = self.functions.get(name, [])
        if len(defs) != 1 or name in self.aliases or defs[0].id in self._following:
            return None
        return returned_values(defs[0].child_by_field_name("body"), PY_NESTED_SCOPES)[:8]

    def _through(self, call: Node, read):
        """Read each return of the helper `call` runs with `read`; the forms that resolve."""
        returned = self.helper_returns(call)
        if not returned:
            return None
        fn_id = self.functions[self.src.node_text(call.child_by_field_name("function"))][0].id
        self._following.add(fn_id)
        try:
            forms = [got for got in (read(r) for r in returned) if got is not None]
        finally:
            self._following.discard(fn_id)
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
                    out.extend(got if got is not None else [self._dynamic(child)])
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
        if t == "identifier":
            hist = self.history(self.src.node_text(node), node)
            if not hist:
                return None
            out = []
            for item in hist:
                if item.kind == "append":
                    out.append(self.word(item.value, depth + 1))
                    continue
                got = self.words(item.value, depth + 1)
                if got is None:
                    if item.value.type in _STRING_TYPES:
                        return [self.word(item.value, depth + 1)]
                    return None
                out.extend(got)
            return out
        if t == "call":
            fn = node.child_by_field_name("function")
            args = node.child_by_field_name("arguments")
            if fn is not None and self.qualified(fn) == "shlex.split" and args is not None and args.named_children:
                word = self.word(args.named_children[0], depth + 1)
                if not word.dynamic:
                    from scanner.commandline import default_shell_splitter

                    cmds = default_shell_splitter(word)
                    return [w for cmd in cmds for w in cmd]
            forms = self._through(node, lambda r: self.words(r, depth + 1) if r.type not in _STRING_TYPES else None)
            return forms[0] if forms else None
        return None

    def word(self, node: Node, depth: int = 0) -> Word:
        loc = self.src.node_loc(node)
        t = node.type
        if t in _STRING_TYPES:
            value = self.string_value(node)
            if value is not None:
                return Word(value, loc)
            return Word(self._fstring_text(node), loc, dynamic=True)
        if t == "identifier" and depth < 6:
            hist = self.history(self.src.node_text(node), node)
            if hist and len(hist) == 1 and hist[0].kind == "set":
                inner = self.word(hist[0].value, depth + 1)
                return Word(inner.text, loc, inner.dynamic)
            if hist is None:
                # os.environ.get("X", "default") style constants resolve through the call below.
                pass
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
            forms = self._through(node, lambda r: self.word(r, depth + 1))
            if forms:
                chosen = next((w for w in forms if not w.dynamic), forms[0])
                return Word(chosen.text, chosen.location, chosen.dynamic)
        branches = self.branches(node) if depth < 6 else None
        if branches is not None:
            forms = [self.word(b, depth + 1) for b in branches]
            if len({w.text for w in forms}) > 1:
                self.uncertain = True
            return next((w for w in forms if not w.dynamic), forms[0])
        return self._dynamic(node)

    def _dynamic(self, node: Node) -> Word:
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

    def env_info(self, node: Node | None, call: Node, launcher: str, depth: int = 0) -> EnvInfo:
        call_loc = self.src.node_loc(call)
        if node is None:
            return EnvInfo(EnvMode.INHERITED, call_loc, f"{launcher} without env= inherits os.environ")
        loc = self.src.node_loc(node)
        text = " ".join(self.src.node_text(node).split())[:80]
        t = node.type
        if t == "none":
            return EnvInfo(EnvMode.INHERITED, loc, "env=None inherits os.environ")
        if self._is_environ(node):
            return EnvInfo(EnvMode.INHERITED, loc, f"env={text}")
        if t == "dictionary":
            names: list[Word] = []
            inherited = False
            for child in node.named_children:
                if child.type == "dictionary_splat":
                    inner = child.named_children[0] if child.named_children else None
                    if inner is not None and (self._is_environ(inner) or self._env_var_inherits(inner, depth)):
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
            if left is not None and (self._is_environ(left) or self._env_var_inherits(left, depth)):
                return EnvInfo(EnvMode.INHERITED, loc, f"env={text}")
        if t == "call":
            fn = node.child_by_field_name("function")
            args = node.child_by_field_name("arguments")
            name = self.qualified(fn) if fn is not None else ""
            if name == "dict" and args is not None:
                first = next((c for c in args.named_children if c.type != "keyword_argument"), None)
                names = [Word(self.src.node_text(k.child_by_field_name("name")), self.src.node_loc(k))
                         for k in args.named_children if k.type == "keyword_argument" and k.child_by_field_name("name") is not None]
                if first is not None and (self._is_environ(first) or self._env_var_inherits(first, depth)):
                    return EnvInfo(EnvMode.INHERITED, loc, f"env={text}", tuple(names))
                if first is None:
                    return EnvInfo(EnvMode.MINIMAL, loc, "an explicit env mapping", tuple(names))
        if t == "call" and depth < 4:
            forms = self._through(node, lambda r: self.env_info(r, call, launcher, depth + 1))
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
                return self._is_environ(hist[0].value)
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

    def _is_environ(self, node: Node) -> bool:
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
                return first is not None and self._is_environ(first)
        if t == "binary_operator":
            left = node.child_by_field_name("left")
            return left is not None and self._is_environ(left)
        if t == "dictionary":
            return any(
                c.type == "dictionary_splat" and c.named_children and self._is_environ(c.named_children[0])
                for c in node.named_children
            )
        return False


def _unescape(seq: str) -> str:
    try:
        return seq.encode("latin-1", "backslashreplace").decode("unicode_escape")
    except Exception:
        return seq


def _argument_parts(args: Node) -> tuple[list[Node], dict[str, Node]]:
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


def python_module(analysis: Analysis) -> PythonModule:
    """The file's parsed and indexed module, shared by every Python analyzer."""
    src = analysis.source
    return analysis.shared("python-module", lambda: PythonModule(src, parse("python", src.data).root_node))


def analyze_python(analysis: Analysis) -> Iterator[LaunchFound]:
    src = analysis.source
    module = python_module(analysis)
    table = launch_tables()["python"]
    for node in python_calls(module.root):
        fn = node.child_by_field_name("function")
        args = node.child_by_field_name("arguments")
        if fn is None or args is None or args.type != "argument_list":
            continue
        name = module.qualified(fn)
        spec = table.get(name)
        if spec is None:
            continue
        module.uncertain = False
        module.budget = _FOLLOW_BUDGET
        positional, keywords = _argument_parts(args)
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
                    words.extend(got if got is not None else [module._dynamic(item)])
                else:
                    words.append(module.word(item))
        elif "argv" in spec:
            idx = spec["argv"]
            target = positional[idx] if idx < len(positional) else keywords.get(spec.get("argv_kw", ""))
            if target is None:
                continue
            if target.type in _STRING_TYPES or (target.type in ("identifier", "call") and module.words(target) is None):
                word = module.word(target)
                if shell or name in ("pty.spawn",) and " " in word.text:
                    shell_string = word
                else:
                    words = [word]
            else:
                words = module.words(target)
                if words is None:
                    words = [module._dynamic(target)]
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
        env = module.env_info(env_node, node, name)
        timeout = None
        if "timeout_kw" in spec and spec["timeout_kw"] in keywords:
            value = keywords[spec["timeout_kw"]]
            if value.type != "none":
                timeout = src.node_loc(value)
        at = src.node_loc(node)
        yield LaunchFound(surface="python", launcher=name, location=at, words=tuple(words or ()), shell=shell_string,
                          env=env, timeout=timeout, facts=possible_forms(module.uncertain, at))
