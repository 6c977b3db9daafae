"""Validate stage: every generated script passes; hostile ones are rejected with a reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telemetry_inject.core import language, scripts, worker
from telemetry_inject.core.types import FunctionId, FunctionInfo, FunctionPlan, Op, Span
from telemetry_inject.core.validate import MAX_SCRIPT_CHARS, validate

CORE = (Path(scripts.__file__).with_name("script_core.py.txt")).read_text(encoding="utf-8")
SPAN = Span(0, 0, 0, 0, 0, 0)


def generated(ops: tuple[Op, ...], lang: str = "python") -> str:
    info = FunctionInfo(
        id=FunctionId("pkg.f"), name="f", kind="function", span=SPAN, name_span=SPAN, body=SPAN,
        line=1, indent="", body_indent="    ", depth=0, parent=None, signature="def f():",
    )  # fmt: skip
    plan = FunctionPlan(function=info, snippets=(), ops=ops, params=(("fn", '"f"'),))
    spec = language.get(lang)
    return scripts.generate(spec, next(iter(spec.profiles)), plan, "def f():\n    pass\n").text


@pytest.mark.parametrize("lang", sorted(language.all_languages()))
def test_generated_scripts_are_accepted_for_every_language(lang: str) -> None:
    ops = (
        Op("line", 0, 0, "", "@_tel.probe({{fn}}, {{file}}, {{line}})"),
        Op("inline", 1, 4, "", "t()"),
    )
    assert validate(generated(ops, lang)) is None
    assert validate(generated((), lang)) is None


op_strategy = st.builds(
    Op,
    form=st.sampled_from(["line", "inline"]),
    line=st.integers(0, 10_000),
    col=st.integers(0, 500),
    indent=st.text(alphabet=" \t", max_size=12),
    code=st.text(max_size=80),  # any characters: quotes, backslashes, "__import__", NULs
)


@settings(max_examples=200, deadline=None)
@given(st.lists(op_strategy, max_size=8).map(tuple))
def test_any_generated_script_is_accepted(ops: tuple[Op, ...]) -> None:
    assert validate(generated(ops)) is None


HANDWRITTEN = [
    # What an LLM might plausibly write instead of the template: allowed modules, classes,
    # comprehensions, lambdas, f-strings, a command-line entry point.
    '''"""Insert an entry log."""
import re
import sys
import json
from textwrap import indent, dedent
from functools import reduce
import itertools as it


class Editor:
    def __init__(self, lines):
        self.lines = lines

    def add(self, index, code):
        self.lines.insert(index, code)


def instrument(text, params):
    lines = text.splitlines(keepends=True)
    m = re.match(r"(\\s*)def ", lines[0]) if lines else None
    pad = m.group(1) if m else ""
    ed = Editor(lines)
    ed.add(1, f"{pad}    print({json.dumps(params.get('fn', ''))}, file=sys.stderr)\\n")
    total = reduce(lambda a, b: a + len(b), lines, 0)
    pairs = [x for x in it.chain(lines) if x.strip()]
    assert type(text) is str and total >= 0 and pairs is not None
    return indent(dedent("".join(ed.lines)), "")


if __name__ == "__main__":
    sys.stdout.write(instrument(sys.stdin.read(), dict(a.split("=", 1) for a in sys.argv[1:])))
    sys.exit(0)
''',
    "import math, string\ndef instrument(text, params):\n"
    "    return text + string.ascii_letters[: math.floor(1.5)]\n",
    "def instrument(text, params):\n    global N\n    N = 1\n    return {**params}.get('x', text)",
]


@pytest.mark.parametrize("source", HANDWRITTEN)
def test_plausible_handwritten_scripts_are_accepted(source: str) -> None:
    assert validate(source) is None


FN = "\ndef instrument(text, params):\n    return text\n"
REJECTED = [
    ("import os" + FN, "line 1: import of 'os' is not allowed"),
    ("import json.decoder" + FN, "import of 'json.decoder' is not allowed"),
    ("from os import path" + FN, "import from 'os' is not allowed"),
    ("from . import x" + FN, "import from '.' is not allowed"),
    ("from json import decoder" + FN, "'json.decoder' is a module"),
    ("from json import *" + FN, "'from json import *' is not allowed"),
    ("from sys import modules" + FN, "'sys.modules' is not allowed"),
    ("from string import Formatter" + FN, "'string.Formatter' is not allowed"),
    ("import sys as s\nx = s.modules" + FN, "line 2: 'sys.modules' is not allowed"),
    ("import sys\nsys._getframe(0)" + FN, "'sys._getframe' is not allowed"),
    ("sys.modules['os']" + FN, "'sys.modules' is not allowed"),  # no import needed to be judged
    ("import re\nx = re._compiler" + FN, "'re._compiler' is not allowed"),
    ("import textwrap\nx = textwrap.re" + FN, "'textwrap.re' is a module"),
    ("def g():\n    return textwrap.re\nimport textwrap" + FN, "line 2: 'textwrap.re' is a module"),
    ("import re\nm = re" + FN, "module 're' may only be used as re.NAME"),
    ("import json\njson.dumps = str" + FN, "changing 'json.dumps' is not allowed"),
    ("import textwrap as t\nt.TextWrapper.wrap = 1" + FN, "changing 't.TextWrapper.wrap'"),
    (
        "from json import JSONEncoder\ndel JSONEncoder.default" + FN,
        "changing 'JSONEncoder.default'",
    ),
    ("import sys\nsys.stdout = None" + FN, "changing 'sys.stdout' is not allowed"),
    ("x = open('f')" + FN, "line 1: call to 'open' is not allowed"),
    ("f = open" + FN, "'open' is not allowed"),
    ("eval('1')" + FN, "call to 'eval' is not allowed"),
    ("exec('x = 1')" + FN, "call to 'exec' is not allowed"),
    ("compile('1', 'f', 'eval')" + FN, "call to 'compile' is not allowed"),
    ("__import__('os')" + FN, "call to '__import__' is not allowed"),
    ("getattr(1, 'real')" + FN, "call to 'getattr' is not allowed"),
    ("setattr(1, 'a', 2)" + FN, "call to 'setattr' is not allowed"),
    ("delattr(1, 'a')" + FN, "call to 'delattr' is not allowed"),
    ("g = globals()" + FN, "call to 'globals' is not allowed"),
    ("v = vars()" + FN, "call to 'vars' is not allowed"),
    ("v = locals()" + FN, "call to 'locals' is not allowed"),
    ("v = input()" + FN, "call to 'input' is not allowed"),
    ("breakpoint()" + FN, "call to 'breakpoint' is not allowed"),
    ("m = memoryview(b'')" + FN, "call to 'memoryview' is not allowed"),
    ("T = type('T', (), {})" + FN, "call to 'type' with more than one argument is not allowed"),
    ("t = type" + FN, "'type' may only be called with one argument"),
    ("x = ().__class__" + FN, "attribute '__class__' is not allowed"),
    ("x = object.__subclasses__()" + FN, "attribute '__subclasses__' is not allowed"),
    ("x = instrument.__globals__" + FN, "attribute '__globals__' is not allowed"),
    ("b = __builtins__" + FN, "name '__builtins__' is not allowed"),
    ("x = {}['__builtins__']" + FN, "subscript '__builtins__' is not allowed"),
    ("g = (i for i in ())\nf = g.gi_frame" + FN, "line 2: attribute 'gi_frame' is not allowed"),
    ("import sys\nraw = sys.stdout.buffer.raw" + FN, "attribute 'raw' is not allowed"),
    ("async def instrument(text, params):\n    return text\n", "async code is not allowed"),
    ("def g(xs):\n    return [x async for x in xs]" + FN, "async code is not allowed"),
    ("class C(metaclass=Meta):\n    pass" + FN, "a metaclass is not allowed"),
    ("def instrument(text, params)\n    return text\n", "line 1: syntax error"),
    ("x = 1\0" + FN, "null bytes"),
    ("def other(text, params):\n    return text\n", "no top-level instrument(text, params)"),
    ("x = 1\n" * (MAX_SCRIPT_CHARS // 6 + 1) + FN, "over the"),
]


@pytest.mark.parametrize(("source", "reason"), REJECTED)
def test_hostile_constructs_are_rejected_with_a_reason(source: str, reason: str) -> None:
    why = validate(source)
    assert why is not None and reason in why
    assert "\n" not in why


def test_the_generated_core_fast_path_still_checks_the_script_part() -> None:
    script = generated((Op("line", 0, 0, "", "x"),))
    header, _, _ = script.partition("OPS = [")
    assert script.endswith(CORE)
    evil = script.replace("OPS = [", "import os\nOPS = [", 1)
    assert validate(evil) == f"line {header.count(chr(10)) + 1}: import of 'os' is not allowed"
    # Not ending a line before the core: prefix and core would run together; judged whole.
    assert validate("import os" + CORE) is not None
    # A string opened before the core swallows part of it: judged as one text, never split.
    assert validate('X = """\n' + CORE) is not None
    # A __future__ import changes how the core compiles: judged whole (and accepted).
    assert validate("from __future__ import annotations\n" + CORE) is None


def test_reasons_point_at_the_earliest_problem() -> None:
    source = "x = 1\ny = open('a')\nimport os\nz = eval('1')" + FN
    assert validate(source) == "line 3: import of 'os' is not allowed"  # imports are judged first
    assert (
        validate("x = 1\ny = open('a')\nz = eval('1')" + FN)
        == "line 2: call to 'open' is not allowed"
    )


def test_the_worker_runs_exactly_the_split_the_validator_checked() -> None:
    """Both split a generated script into its data and the core; running the two apart must
    give what running the whole text gives."""
    code = compile(CORE, "<core>", "exec")
    text, params = "def f():\n    pass\n", [("fn", '"f"'), ("stamp", "ab12cd34")]
    for ops in [(), (Op("line", 1, 0, "  ", "a({{fn}})"), Op("inline", 0, 3, "", "b"))]:
        script = generated(ops)
        assert worker.split_core(script, CORE) is not None
        whole: dict[str, Any] = {"__name__": "whole"}
        exec(script, whole)
        want = whole["instrument"](text, dict(params)).encode()
        assert worker.run_one(script, text, params, CORE, code, 1 << 20) == (worker.OK, want)
    assert worker.split_core("x = 1" + CORE, CORE) is None
    assert worker.split_core("from __future__ import annotations\n" + CORE, CORE) is None
    kind, data = worker.run_one('X = """\n' + CORE, "", [], CORE, code, 1 << 20)
    assert kind == worker.ERR and data.startswith(b"SyntaxError")
