"""Programs the end-to-end tests open, instrument and run."""

PYTHON = '''"""A small program: a function, a class with a nested function, one that raises."""
import sys


def add(a, b):
    return a + b


class Greeter:
    def greet(self, name):
        def shout(text):
            return text.upper()
        return shout("hi " + name)


def fail():
    raise ValueError("boom")


if __name__ == "__main__":
    print(add(1, 2), Greeter().greet("ann"))
    try:
        fail()
    except ValueError as exc:
        print("caught", exc, file=sys.stderr)
'''

# Astral characters and CRLF before and inside the functions: UTF-16 columns differ from
# code points and bytes on every line that matters.
PYTHON_EMOJI = (
    'NOTE = "😀 𝔘 é"  # 😀😀\r\n'
    "\r\n"
    "\r\n"
    'def smile(face="😀😀", times=2):\r\n'
    '    return face * times + "\t😀"\r\n'
    "\r\n"
    "\r\n"
    "def 𝔘𝔘pper(s):  # an astral name: NFKC makes it UUpper\r\n"
    "    return s.upper()\r\n"
    "\r\n"
    "\r\n"
    'if __name__ == "__main__":\r\n'
    '    print(smile(), UUpper("😀x"))\r\n'
)

# A one-line function after an emoji: its inline insertions land at UTF-16 columns that are
# not byte or code point columns.
JAVASCRIPT = """const note = "😀😀"; function twice(x) { return x * 2; }
function fail() {
  throw new Error("boom");
}
try { fail(); } catch (e) { console.log("caught", e.message); }
console.log(note, twice(21));
"""

TYPESCRIPT = """class Counter {
  private n = 0;
  add(by: number): number {
    this.n += by;
    return this.n;
  }
}

export function run(times: number): string {
  const c = new Counter();
  for (let i = 0; i < times; i++) c.add(2);
  return `😀 ${c.add(0)}`;
}

console.log(run(3));
"""

GO = """package main

import "fmt"

type shop struct{ items int }

func (s *shop) add(n int) int { s.items += n; return s.items }

func main() {
	s := &shop{}
	s.add(2)
	fmt.Println("😀", s.add(3))
}
"""
