"""Validate stage: reject insertion scripts that could do more than edit text, before they run.

Scripts may come from an LLM or a shared cache, so they are untrusted. This is an allowlist
over the script's AST — imports of a few pure modules, no dynamic code, no introspection
(dunders, frames, ``getattr``), no ``sys`` beyond its streams, ``argv`` and ``exit`` — and it
is a first gate only: the sandbox is the wall. It is also what keeps scripts that share one
sandbox child (a batch) from reaching one another. Generated scripts are a little data plus
the fixed core; the core is checked once and only the data part is parsed per script.
"""

from __future__ import annotations

import ast
import importlib
import types
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from .worker import ALLOWED_MODULES, split_core

MAX_SCRIPT_CHARS = 1 << 20
SYS_ATTRS = frozenset({"stdin", "stdout", "stderr", "argv", "exit"})
BANNED_NAMES = frozenset(
    {
        *("open", "eval", "exec", "compile", "__import__", "getattr", "setattr", "delattr"),
        *("globals", "locals", "vars", "input", "breakpoint", "memoryview", "help"),
    }
)
# Attributes that reach frames, code, or the raw file descriptors behind sys's streams.
ESCAPE_ATTRS = frozenset(
    {
        *("gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "cr_await"),
        *("ag_frame", "ag_code", "ag_await", "f_globals", "f_locals", "f_builtins"),
        *("f_back", "f_code", "tb_frame", "tb_next", "co_code"),
        *("buffer", "raw", "detach", "fileno"),
    }
)
DENIED_MODULE_ATTRS = {"string": frozenset({"Formatter"})}  # get_field() walks attributes
_ASYNC = (ast.AsyncFunctionDef, ast.AsyncFor, ast.AsyncWith, ast.Await)
_CORE = Path(__file__).with_name("script_core.py.txt")


def validate(script: str) -> str | None:
    """None when the script is acceptable, else one line saying why it is not."""
    if len(script) > MAX_SCRIPT_CHARS:
        return f"script is {len(script)} characters, over the {MAX_SCRIPT_CHARS} limit"
    core, core_aliases = _core()
    # Same split as the worker's, so what is checked is exactly what will run.
    prefix = split_core(script, core) if core else None
    tree = _parse(prefix) if prefix is not None else None
    if isinstance(tree, ast.Module):
        aliases = dict(core_aliases)
    else:
        tree = _parse(script)
        if isinstance(tree, str):
            return tree
        aliases = {"sys": "sys"}  # always: a name bound elsewhere must not dodge the sys check
    problem = _Checker(aliases).check(tree, "import" in (script if prefix is None else prefix))
    if problem:
        return problem
    if prefix is None and not any(
        isinstance(node, ast.FunctionDef) and node.name == "instrument" for node in tree.body
    ):
        return "script defines no top-level instrument(text, params) function"
    return None


def _parse(source: str) -> ast.Module | str:
    try:
        return ast.parse(source)
    except SyntaxError as exc:
        return f"line {exc.lineno or 1}: syntax error: {exc.msg}"
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
        return f"script cannot be parsed: {type(exc).__name__}: {exc}"


@cache
def _core() -> tuple[str, dict[str, str]]:
    """The fixed core and its imports, or ("", {}) if it is missing or does not pass itself."""
    try:
        text = _CORE.read_text(encoding="utf-8")
    except OSError:
        return "", {}
    tree = _parse(text)
    if isinstance(tree, str):
        return "", {}
    checker = _Checker({"sys": "sys"})
    if checker.check(tree, True) is not None:
        return "", {}
    return text, checker.aliases


@cache
def _module_attr(module: str, attr: str) -> str | None:
    if module == "sys":
        return None if attr in SYS_ATTRS else f"'sys.{attr}' is not allowed"
    if attr.startswith("_") or attr in DENIED_MODULE_ATTRS.get(module, ()):
        return f"'{module}.{attr}' is not allowed"
    if isinstance(getattr(importlib.import_module(module), attr, None), types.ModuleType):
        return f"'{module}.{attr}' is a module, which is not allowed"
    return None


class _Checker:
    def __init__(self, aliases: dict[str, str]) -> None:
        self.aliases = aliases  # local name -> allowed module it is bound to
        self.vouched: set[int] = set()  # ids of Name nodes already judged by their parent
        self.borrowed: set[str] = set()  # names bound by "from MODULE import NAME"

    def check(self, tree: ast.Module, has_imports: bool) -> str | None:
        # Imports first (only when the text has any): a use may come before its import.
        if has_imports:
            for node in _statements(tree):
                if isinstance(node, (ast.Import, ast.ImportFrom)) and (
                    problem := self._import(node)
                ):
                    return f"line {node.lineno}: {problem}"
        line = 1
        stack: list[ast.AST] = [tree]
        pop, push, extend = stack.pop, stack.append, stack.extend
        handlers = _HANDLERS
        while stack:  # depth first, children in source order: the first problem is the earliest
            node = pop()
            handler = handlers.get(type(node))
            if handler is not None:
                line = getattr(node, "lineno", line)
                if problem := handler(self, node):
                    return f"line {line}: {problem}"
            for name in reversed(node._fields):
                value = getattr(node, name, None)
                if type(value) is list:
                    if value and not isinstance(value[0], str):  # Global.names and the like
                        # Dict.keys and kw_defaults hold None for ** and missing defaults.
                        extend(
                            reversed([v for v in value if v is not None])
                            if None in value
                            else reversed(value)
                        )
                elif isinstance(value, ast.AST):
                    push(value)
        return None

    def _import(self, node: ast.Import | ast.ImportFrom) -> str | None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name not in ALLOWED_MODULES:
                    return f"import of '{alias.name}' is not allowed"
                self.aliases[alias.asname or alias.name] = alias.name
            return None
        if node.module == "__future__" and not node.level:
            return None  # compiler directives
        if node.level or node.module not in ALLOWED_MODULES:
            return f"import from '{'.' * node.level}{node.module or ''}' is not allowed"
        for alias in node.names:
            if alias.name == "*":
                return f"'from {node.module} import *' is not allowed"
            if problem := _module_attr(node.module, alias.name):
                return problem
            self.borrowed.add(alias.asname or alias.name)
        return None

    def _name(self, node: ast.Name) -> str | None:
        name = node.id
        if id(node) in self.vouched:
            return None
        if name.startswith("__") and name.endswith("__") and name != "__name__":
            return f"name '{name}' is not allowed"
        if name in BANNED_NAMES:
            return f"'{name}' is not allowed"
        if name == "type":
            return "'type' may only be called with one argument"
        if name in self.aliases and isinstance(node.ctx, ast.Load):
            return f"module '{name}' may only be used as {name}.NAME"
        return None

    def _call(self, node: ast.Call) -> str | None:
        func = node.func
        if isinstance(func, ast.Name):
            if func.id in BANNED_NAMES:
                return f"call to '{func.id}' is not allowed"
            if func.id == "type":
                if len(node.args) != 1 or node.keywords or isinstance(node.args[0], ast.Starred):
                    return "call to 'type' with more than one argument is not allowed"
                self.vouched.add(id(func))
        return None

    def _attribute(self, node: ast.Attribute) -> str | None:
        attr, base = node.attr, node.value
        if attr.startswith("__") and attr != "__name__":
            return f"attribute '{attr}' is not allowed"
        if attr in ESCAPE_ATTRS:
            return f"attribute '{attr}' is not allowed"
        if not isinstance(node.ctx, ast.Load):
            # Scripts of one batch share the allowed modules: none may change them for the rest.
            root: ast.expr = base
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and (root.id in self.aliases or root.id in self.borrowed):
                return f"changing '{ast.unparse(node)}' is not allowed"
        if isinstance(base, ast.Name) and base.id in self.aliases:
            if problem := _module_attr(self.aliases[base.id], attr):
                return problem
            self.vouched.add(id(base))
        return None

    def _subscript(self, node: ast.Subscript) -> str | None:
        key = node.slice
        value = key.value if isinstance(key, ast.Constant) else None
        if isinstance(value, str) and value.startswith("__") and value.endswith("__"):
            return None if value == "__main__" else f"subscript '{value}' is not allowed"
        return None

    def _class(self, node: ast.ClassDef) -> str | None:
        if any(k.arg == "metaclass" for k in node.keywords):
            return "a metaclass is not allowed"
        return None

    def _comprehension(self, node: ast.comprehension) -> str | None:
        return "async code is not allowed" if node.is_async else None

    def _async(self, node: ast.AST) -> str | None:
        return "async code is not allowed"


def _statements(tree: ast.Module) -> list[ast.AST]:
    """Every statement, nested ones included; imports are statements, so this finds them all."""
    found: list[ast.AST] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        found.append(node)
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            block = getattr(node, name, None)
            if type(block) is list:
                stack += block
    return found


_HANDLERS: dict[type[ast.AST], Callable[[_Checker, Any], str | None]] = {
    ast.Name: _Checker._name,
    ast.Call: _Checker._call,
    ast.Attribute: _Checker._attribute,
    ast.Subscript: _Checker._subscript,
    ast.ClassDef: _Checker._class,
    ast.comprehension: _Checker._comprehension,
    **dict.fromkeys(_ASYNC, _Checker._async),
}
