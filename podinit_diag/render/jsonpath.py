"""kubectl's JSONPath templates (``-o jsonpath=TEMPLATE``, ``-o jsonpath-file=FILE``) over
the JSON report (the document ``-o json`` prints).

The language is kubectl's, as k8s.io/client-go/util/jsonpath parses and runs it, and the
output is what kubectl's printer writes (same template, same document, same bytes):

- parser: https://github.com/kubernetes/kubernetes/blob/master/staging/src/k8s.io/client-go/util/jsonpath/parser.go
- evaluation and ``PrintResults``: https://github.com/kubernetes/kubernetes/blob/master/staging/src/k8s.io/client-go/util/jsonpath/jsonpath.go
- filter comparisons: https://github.com/kubernetes/kubernetes/blob/master/staging/src/k8s.io/client-go/third_party/forked/golang/template/funcs.go
- the printer (missing keys allowed, as ``kubectl get`` defaults): https://github.com/kubernetes/kubernetes/blob/master/staging/src/k8s.io/cli-runtime/pkg/printers/jsonpath.go
- the syntax for users: https://kubernetes.io/docs/reference/kubectl/jsonpath/

Text outside ``{}`` is printed as is; inside, ``.a.b``, ``['a']``, ``[0]``, ``[-1]``,
``[1:3]``, ``[::2]``, ``[*]``, ``.*``, ``..name``, unions ``[0,2]``, filters
``[?(@.severity=="error")]`` (``== != < > <= >=``; a bare ``[?(@.x)]`` keeps the elements
that have ``x``), ``{range …}…{end}`` (nested), quoted strings ``{"\\n"}``, numbers and
``true``/``false``. ``$`` and ``@`` are the current value (inside a range, its element),
as in kubectl. A field name may escape a dot: ``{.a\\.b}``; ``['a.b']`` is ``.a.b``, as
in kubectl. Several results of one ``{}`` are joined by one space; a map or list is
printed as Go's ``encoding/json`` writes it (compact, keys sorted, ``<``, ``>`` and ``&``
as ``\\u003c``…), numbers as Go's ``fmt`` prints them (``1e+06`` for the float 1000000),
``null`` for null.

The template is parsed here (a port of kubectl's parser: what it refuses, this refuses,
with its message); each path is evaluated with jsonpath-ng, the parsed steps being
translated to jsonpath-ng's own nodes (``Fields``, ``Wildcard``, ``Slice``,
``Descendants``, and the ``ext`` ``Filter``/``Expression`` for filters) rather than to
its text syntax, which quotes and escapes differently. What jsonpath-ng does not do is
written here: splitting the template, ``range``/``end`` (with kubectl's rules, even for a
range without an ``end``), kubectl's index bounds, and the output format.

Where this differs from kubectl, on purpose:

- Strings from the document are printed with every non-printable character escaped
  (:func:`podinit_diag.core.sanitize.escape`: ``\\x1b``, ``\\n``, ``\\u202e``), the rule of
  every text output of this tool: data from pods never reaches the terminal raw. So a
  multi-line message prints as one line with ``\\n`` in it; a script that needs the exact
  bytes reads ``-o json``. In a map or list (JSON), such characters are ``\\uXXXX``
  escapes, which keeps the JSON valid and equal as data to kubectl's. The template's
  own text, outside ``{}`` or quoted (``{"\\n"}``, ``{"\\t"}``), is printed as written: it
  comes from the user, and that is how scripts lay out lines and columns.
- Where kubectl stops with an execution error that depends on the data (an index out of
  range, a filter on a map, comparing a string with a number or with null, several
  values on one side of a comparison), that value yields nothing and the rest is printed,
  as for a missing key: one report of a scan without findings must not hide the others.
  A filter comparison with null or with a value of another type is false (``!=``: true),
  as in jsonpath-ng (RFC 9535). What kubectl refuses whatever the data (an unknown
  identifier, an ``{end}`` outside a range, an unknown filter operator, a slice step
  below 1) is refused by :func:`parse`.
- Members of a map are visited in the document's order by ``.*`` and ``..``; kubectl
  visits them in Go's random map order.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from jsonpath_ng import Child, DatumInContext, Descendants, Fields, JSONPath, Slice, This, Wildcard
from jsonpath_ng.ext.filter import Expression, Filter

from podinit_diag.core.errors import InputError
from podinit_diag.core.sanitize import escape

__all__ = ["Template", "parse"]

_EOF = ""


class _SyntaxError(Exception):
    """A template kubectl's parser refuses; the message is kubectl's reason."""


# The nodes of kubectl's parse tree (parser.go's node types).


@dataclass(frozen=True)
class _Field:
    name: str


@dataclass(frozen=True)
class _Wild:
    pass


@dataclass(frozen=True)
class _Param:
    known: bool
    value: int
    derived: bool = False


@dataclass(frozen=True)
class _Array:
    start: _Param
    end: _Param
    step: _Param


@dataclass(frozen=True)
class _FilterNode:
    left: tuple[_Node, ...]
    op: str
    right: tuple[_Node, ...]


@dataclass(frozen=True)
class _Recursive:
    pass


@dataclass(frozen=True)
class _UnionNode:
    parts: tuple[tuple[_Node, ...], ...]


@dataclass(frozen=True)
class _Text:
    text: str


@dataclass(frozen=True)
class _Number:
    value: int | float


@dataclass(frozen=True)
class _Bool:
    value: bool


@dataclass(frozen=True)
class _Identifier:
    name: str


_Node = (
    _Field
    | _Wild
    | _Array
    | _FilterNode
    | _Recursive
    | _UnionNode
    | _Text
    | _Number
    | _Bool
    | _Identifier
)

_DICT_KEY = re.compile(r"'([^']*)'")
_SLICE = re.compile(r"(-?[0-9]*)(:-?[0-9]*)?(:-?[0-9]*)?")
_COMPARISON = re.compile(r"([^!<>=]+)([!<>=]+)(.+?)")
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
_INT64 = range(-(2**63), 2**63)
_OPERATORS = frozenset({"==", "!=", "<", ">", "<=", ">="})


def _terminator(r: str) -> bool:
    return r in (_EOF, " ", "\t", "\r", "\n", ".", ",", "[", "]", "$", "@", "{", "}")


def _alphanumeric(r: str) -> bool:
    # Go's unicode.IsLetter and IsDigit: categories L* and Nd
    return r == "_" or r.isalpha() or r.isdecimal()


def _atoi(text: str) -> int | None:
    """Go's strconv.Atoi: ASCII digits with an optional sign, in 64 bits."""
    if _INT.fullmatch(text) is None:
        return None
    value = int(text)
    return value if value in _INT64 else None


class _Parser:
    """kubectl's parser.go, state for state (``pos``, ``start``, ``width``), with its
    recursion between actions turned into loops: a long template cannot exhaust
    Python's stack."""

    def __init__(self, text: str) -> None:
        self.input = text
        self.pos = 0
        self.start = 0
        self.width = 0

    def parse(self) -> list[str | list[_Node]]:
        """The top level: strings of text and the node lists of the actions."""
        out: list[str | list[_Node]] = []
        while True:
            brace = self.input.find("{", self.pos)
            if brace < 0:
                if len(self.input) > self.start:
                    out.append(self.input[self.start :])
                return out
            if brace > self.start:
                out.append(self.input[self.start : brace])
            self.pos = brace + 1
            self.start = self.pos
            out.append(self._action())

    # the lexer: parser.go's next, peek, backup, consumeText
    def _next(self) -> str:
        if self.pos >= len(self.input):
            self.width = 0
            return _EOF
        self.width = 1
        self.pos += 1
        return self.input[self.pos - 1]

    def _peek(self) -> str:
        r = self._next()
        self._backup()
        return r

    def _backup(self) -> None:
        self.pos -= self.width

    def _consume(self) -> str:
        value = self.input[self.start : self.pos]
        self.start = self.pos
        return value

    def _action(self) -> list[_Node]:
        """parseInsideAction, up to and including the closing ``}``."""
        cur: list[_Node] = []
        while True:
            rest = self.input[self.pos : self.pos + 3]
            if rest.startswith("}"):
                self.pos += 1
                self._consume()
                return cur
            if rest.startswith("[?("):
                self._filter(cur)
                continue
            if rest.startswith(".."):
                self._recursive(cur)
                continue
            r = self._next()
            if r in (_EOF, "\r", "\n"):
                raise _SyntaxError("unclosed action")
            if r in (" ", "@", "$"):  # spaces; the current object, which needs no node
                self._consume()
            elif r == "[":
                self._array(cur)
            elif r in ('"', "'"):
                self._quote(cur, r)
            elif r == ".":
                self._field(cur)
            elif r in ("+", "-") or r.isdecimal():
                self._backup()
                self._number(cur)
            elif _alphanumeric(r):
                self._backup()
                self._identifier(cur)
            else:
                shown = f" '{r}'" if r.isprintable() else ""
                raise _SyntaxError(f"unrecognized character in action: U+{ord(r):04X}{shown}")

    def _identifier(self, cur: list[_Node]) -> None:
        while True:
            if _terminator(self._next()):
                self._backup()
                break
        value = self._consume()
        cur.append(_Bool(value == "true") if value in ("true", "false") else _Identifier(value))

    def _recursive(self, cur: list[_Node]) -> None:
        if cur and isinstance(cur[-1], _Recursive):
            raise _SyntaxError("invalid multiple recursive descent")
        self.pos += 2
        self._consume()
        cur.append(_Recursive())
        if _alphanumeric(self._peek()):
            self._field(cur)

    def _number(self, cur: list[_Node]) -> None:
        if self._peek() in ("+", "-"):
            self._next()
        while True:
            r = self._next()
            if r != "." and not r.isdecimal():
                self._backup()
                break
        value = self._consume()
        number = _atoi(value)
        if number is not None:
            cur.append(_Number(number))
        elif _FLOAT.fullmatch(value):
            cur.append(_Number(float(value)))
        else:
            raise _SyntaxError(f"cannot parse number {value}")

    def _array(self, cur: list[_Node]) -> None:
        while True:
            r = self._next()
            if r in (_EOF, "\n"):
                raise _SyntaxError("unterminated array")
            if r == "]":
                break
        text = self._consume()[1:-1]
        if text == "*":
            text = ":"
        parts = text.split(",")
        if len(parts) > 1:
            cur.append(_UnionNode(tuple(tuple(_sub_action(f"[{p.strip(' ')}]")) for p in parts)))
            return
        key = _DICT_KEY.fullmatch(text)
        if key is not None:
            cur.extend(_sub_action("." + key.group(1)))
            return
        match = _SLICE.fullmatch(text)
        if match is None:
            raise _SyntaxError(f"invalid array index {text}")
        groups = [g or "" for g in match.groups()]
        params: list[_Param] = []
        for i, group in enumerate(groups):
            if group:
                if i > 0:
                    group = group[1:]
                if i > 0 and not group:
                    params.append(_Param(False, 0))
                    continue
                number = _atoi(group)
                if number is None:
                    raise _SyntaxError(f"array index {group} is not a number")
                params.append(_Param(True, number))
            elif i == 1:  # [i]: the slice [i:i+1], whose end moves with a negative i
                params.append(_Param(True, params[0].value + 1, derived=True))
            else:
                params.append(_Param(False, 0))
        if params[2].known and params[2].value <= 0:
            # kubectl refuses it when it runs, whatever the data
            raise _SyntaxError("step must be > 0")
        cur.append(_Array(*params))

    def _filter(self, cur: list[_Node]) -> None:
        self.pos += 3
        self._consume()
        begin = end = False
        pair = ""
        while True:
            r = self._next()
            if r in (_EOF, "\n"):
                raise _SyntaxError("unterminated filter")
            if r in ('"', "'"):
                if not begin:
                    begin, pair = True, r
                    continue
                if self.input[self.pos - 2] != "\\" and r == pair:
                    end = True
            elif r == ")" and begin == end:
                break
        if self._next() != "]":
            raise _SyntaxError("unclosed array expect ]")
        text = self._consume()[:-2]
        comparison = _COMPARISON.fullmatch(text)
        if comparison is None:
            cur.append(_FilterNode(tuple(_sub_action(text)), "exists", ()))
            return
        left, op, right = comparison.groups()
        left_nodes = tuple(_sub_action(left))
        right_nodes = tuple(_sub_action(right))
        if op not in _OPERATORS:
            raise _SyntaxError(f"unrecognized filter operator {op}")
        cur.append(_FilterNode(left_nodes, op, right_nodes))

    def _quote(self, cur: list[_Node], end: str) -> None:
        while True:
            r = self._next()
            if r in (_EOF, "\n"):
                raise _SyntaxError("unterminated quoted string")
            if r == end and self.input[self.pos - 2] != "\\":
                break
        value = self._consume()
        try:
            cur.append(_Text(_unquote(value)))
        except ValueError:
            raise _SyntaxError(f"unquote string {value} error invalid syntax") from None

    def _field(self, cur: list[_Node]) -> None:
        self._consume()
        while self._advance():
            pass
        value = self._consume()
        cur.append(_Wild() if value == "*" else _Field(value.replace("\\", "")))

    def _advance(self) -> bool:
        r = self._next()
        if r == "\\":
            self._next()
        elif _terminator(r):
            self._backup()
            return False
        return True


def _sub_action(text: str) -> list[_Node]:
    """parser.go's parseAction: ``text`` parsed as the inside of an action."""
    parsed = _Parser("{" + text + "}").parse()
    first = parsed[0]
    assert not isinstance(first, str)  # the text starts with "{"
    return first


_SIMPLE_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}
_HEX_DIGITS = {"x": 2, "u": 4, "U": 8}


def _unquote(quoted: str) -> str:
    """parser.go's UnquoteExtend (Go's strconv.Unquote, for single quotes too). Raises
    ValueError for what Go calls invalid syntax."""
    if len(quoted) < 2 or quoted[-1] != quoted[0]:
        raise ValueError(quoted)
    quote = quoted[0]
    s = quoted[1:-1]
    if "\\" not in s and quote not in s:
        return s
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == quote:
            raise ValueError(quoted)
        if c != "\\":
            out += c.encode("utf-8", "surrogateescape")
            i += 1
            continue
        if i + 1 >= len(s):
            raise ValueError(quoted)
        c = s[i + 1]
        i += 2
        if c in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[c])
        elif c in _HEX_DIGITS:
            digits = s[i : i + _HEX_DIGITS[c]]
            if len(digits) < _HEX_DIGITS[c] or not all(
                d in "0123456789abcdefABCDEF" for d in digits
            ):
                raise ValueError(quoted)
            i += _HEX_DIGITS[c]
            point = int(digits, 16)
            if c == "x":
                out.append(point)  # one byte, as Go writes it, even if not UTF-8
            elif point > 0x10FFFF or 0xD800 <= point <= 0xDFFF:
                raise ValueError(quoted)
            else:
                out += chr(point).encode()
        elif c in "01234567":
            digits = c + s[i : i + 2]
            if len(digits) < 3 or not all(d in "01234567" for d in digits):
                raise ValueError(quoted)
            i += 2
            point = int(digits, 8)
            if point > 255:
                raise ValueError(quoted)
            out.append(point)
        elif c in "'\"" and c == quote:
            out += c.encode()
        else:
            raise ValueError(quoted)
    return out.decode("utf-8", "surrogateescape")


# Evaluation: each step becomes a jsonpath-ng node.


class _Const(JSONPath):
    """A number or boolean in a path: kubectl's IntNode, FloatNode and BoolNode give
    their value once for each value they are applied to."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def find(self, data: Any) -> list[DatumInContext]:
        return [DatumInContext(self.value)]


class _Member(JSONPath):
    """A member named ``*`` (written ``\\*``): jsonpath-ng reads ``Fields("*")`` as
    its deprecated wildcard."""

    def __init__(self, name: str) -> None:
        self.name = name

    def find(self, data: Any) -> list[DatumInContext]:
        datum = DatumInContext.wrap(data)
        if isinstance(datum.value, dict) and self.name in datum.value:
            return [DatumInContext(datum.value[self.name], context=datum)]
        return []


class _Index(JSONPath):
    """kubectl's ``[i]``, ``[a:b]``, ``[a:b:s]`` on a list, with its bounds: a negative
    index counts from the end; what kubectl refuses (out of range, start after end)
    matches nothing."""

    def __init__(self, node: _Array) -> None:
        self.node = node

    def find(self, data: Any) -> list[DatumInContext]:
        datum = DatumInContext.wrap(data)
        if not isinstance(datum.value, list):
            return []
        n = len(datum.value)
        start_p, end_p, step_p = self.node.start, self.node.end, self.node.step
        start = start_p.value if start_p.known else 0
        if start < 0:
            start += n
        end = end_p.value if end_p.known else n
        if end < 0 or (end == 0 and end_p.derived):
            end += n
        if start == end or not (0 <= start < n and 0 <= end <= n and start <= end):
            return []
        found: list[DatumInContext] = Slice(
            start, end, step_p.value if step_p.known else None
        ).find(datum)
        return found


class _Recursion(JSONPath):
    """kubectl's ``..``: the value and everything under it, in document order, keeping
    only what has children (a non-empty map, list or string), as kubectl does."""

    _everything = Descendants(This(), This())

    def find(self, data: Any) -> list[DatumInContext]:
        return [
            d
            for d in self._everything.find(data)
            if isinstance(d.value, dict | list | str) and len(d.value) > 0
        ]


class _ListFilter(JSONPath):
    """``[?(…)]``: kubectl filters the elements of a list, and nothing else."""

    def __init__(self, test: JSONPath) -> None:
        self.test = test

    def find(self, data: Any) -> list[DatumInContext]:
        datum = DatumInContext.wrap(data)
        if not isinstance(datum.value, list):
            return []
        found: list[DatumInContext] = self.test.find(datum)
        return found


class _Parts(JSONPath):
    """A union ``[a,b]``: each part's matches, in the order written."""

    def __init__(self, parts: Sequence[JSONPath]) -> None:
        self.parts = tuple(parts)

    def find(self, data: Any) -> list[DatumInContext]:
        return [match for part in self.parts for match in part.find(data)]


@dataclass(frozen=True, eq=False)
class _Expr:
    """One action's nodes: a quoted string replaces whatever came before it (kubectl's
    TextNode ignores its input), then the path after it, if any."""

    literal: str | None
    path: JSONPath | None

    def evaluate(self, current: Any) -> tuple[list[Any], bool]:
        """The values, and whether they are the template's own text."""
        start = current if self.literal is None else self.literal
        if self.path is None:
            return [start], self.literal is not None
        return [m.value for m in self.path.find(start)], False

    def as_path(self) -> JSONPath:
        if self.literal is None:
            return self.path or This()
        if self.path is None:
            return _Const(self.literal)
        return Child(_Const(self.literal), self.path)


def _compile(nodes: Sequence[_Node]) -> _Expr:
    last_text = max((i for i, n in enumerate(nodes) if isinstance(n, _Text)), default=-1)
    literal = None
    if last_text >= 0:
        text = nodes[last_text]
        assert isinstance(text, _Text)
        literal = text.text
    steps = [_step(n) for n in nodes[last_text + 1 :]]
    path = None
    for step in steps:
        path = step if path is None else Child(path, step)
    for node in nodes[: last_text + 1]:
        _step(node)  # what the text replaces is still checked
    return _Expr(literal, path)


def _step(node: _Node) -> JSONPath:
    if isinstance(node, _Field):
        return _Member(node.name) if node.name == "*" else Fields(node.name)
    if isinstance(node, _Wild):
        return Wildcard()
    if isinstance(node, _Array):
        return _Index(node)
    if isinstance(node, _Recursive):
        return _Recursion()
    if isinstance(node, _UnionNode):
        return _Parts([_compile(part).as_path() for part in node.parts])
    if isinstance(node, _FilterNode):
        return _ListFilter(_filter(node))
    if isinstance(node, _Number | _Bool):
        return _Const(node.value)
    if isinstance(node, _Text):
        return _Const(node.text)
    raise _SyntaxError(f"unrecognized identifier {node.name}")


def _filter(node: _FilterNode) -> JSONPath:
    left = _compile(node.left).as_path()
    # kubectl skips an element whose left (or right) side is missing, whatever the operator
    tests: list[JSONPath] = [Expression(left, None, None)]
    if node.op != "exists":
        right: Any
        if len(node.right) == 1 and isinstance(node.right[0], _Text | _Number | _Bool):
            only = node.right[0]
            right = only.text if isinstance(only, _Text) else only.value
        else:
            right = _compile(node.right).as_path()
            tests.append(Expression(right, None, None))
        tests.append(Expression(left, node.op, right))
    test: JSONPath = Filter(tests)
    return test


# The template: its top level, with range and end.


@dataclass(frozen=True, eq=False)
class _Print:
    expr: _Expr


@dataclass(frozen=True, eq=False)
class _Range:
    expr: _Expr


@dataclass(frozen=True)
class _End:
    pass


_Step = _Print | _Range | _End


class _State:
    """What jsonpath.go keeps on the JSONPath object while it runs: how deep in ranges
    it is, and the last ``{end}`` reached (an index into the template's steps)."""

    def __init__(self) -> None:
        self.in_range = 0
        self.last_end = -1


@dataclass(frozen=True, eq=False)
class Template:
    """A parsed template; :meth:`render` applies it to a document, as often as needed."""

    source: str
    steps: tuple[_Step, ...]

    def render(self, doc: Any) -> str:
        """The template applied to ``doc`` (the JSON document, as ``json.loads`` would
        give it), as kubectl prints it."""
        out: list[str] = []
        self._find(0, doc, _State(), out.append)
        return "".join(out)

    def _find(
        self, first: int, data: Any, state: _State, emit: Callable[[str], object] | None
    ) -> None:
        """jsonpath.go's FindResults from step ``first`` on: a range runs the steps after
        it once per value, up to its ``{end}``, then this level resumes after that end.
        Without an ``{end}`` the body runs to the template's end, and this level then
        runs it once more, as kubectl does. Results are printed as they come (kubectl
        prints them all after evaluating, which shows the same)."""
        steps = self.steps
        i = first
        while i < len(steps):
            step = steps[i]
            if isinstance(step, _End):
                if state.in_range > 0:
                    state.last_end = i
                    return
            elif isinstance(step, _Range):
                values, _ = step.expr.evaluate(data)
                state.in_range += 1
                if values:
                    for value in values:
                        self._find(i + 1, value, state, emit)
                else:  # run the body on nothing, only to find its end
                    self._find(i + 1, None, state, None)
                state.in_range -= 1
                if state.last_end > i:
                    i = state.last_end
            elif emit is not None:
                values, literal = step.expr.evaluate(data)
                emit(" ".join(values) if literal else " ".join(map(_text, values)))
            i += 1


def parse(template: str) -> Template:
    """``template`` parsed as kubectl parses ``-o jsonpath=…`` (the whole text of a
    ``-o jsonpath-file``, unchanged: kubectl strips nothing, so a final newline is
    printed). Raises :class:`InputError` with kubectl's reason for what it refuses."""
    try:
        top = _Parser(template).parse()
        steps: list[_Step] = []
        depth = 0
        for item in top:
            if isinstance(item, str):
                steps.append(_Print(_Expr(item, None)))
            elif any(isinstance(n, _Identifier) for n in item):
                step = _keyword(item, depth)
                depth += 1 if isinstance(step, _Range) else -1
                steps.append(step)
            else:
                steps.append(_Print(_compile(item)))
    except _SyntaxError as exc:
        shown = escape(template)
        if len(shown) > 200:
            shown = shown[:200] + "..."
        raise InputError(f"error parsing jsonpath {shown}, {exc}") from None
    return Template(template, tuple(steps))


def _keyword(nodes: list[_Node], depth: int) -> _Range | _End:
    """``{range PATH}`` or ``{end}``. kubectl runs an identifier wherever it is in an
    action; anywhere else than these two forms its effect is meaningless, so it is
    refused here."""
    first = nodes[0]
    if isinstance(first, _Identifier) and first.name == "range":
        if any(isinstance(n, _Identifier) for n in nodes[1:]):
            raise _SyntaxError("range must be followed by a path only")
        return _Range(_compile(nodes[1:]))
    if isinstance(first, _Identifier) and first.name == "end" and len(nodes) == 1:
        if depth <= 0:
            raise _SyntaxError("not in range, nothing to end")
        return _End()
    name = next(n.name for n in nodes if isinstance(n, _Identifier))
    if name == "range":
        raise _SyntaxError("range must begin its action")
    if name == "end":
        raise _SyntaxError("end must stand alone in its action")
    raise _SyntaxError(f"unrecognized identifier {name}")


# Output: kubectl's PrintResults (fmt.Fprint for scalars, encoding/json for maps and lists).


def _text(value: Any) -> str:
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, dict | list | tuple):
        return _safe_json(_go_json(value))
    return _scalar(value, _go_print_float)


def _scalar(value: Any, floats: Callable[[float], str]) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        # kubectl decodes a JSON integer that does not fit in 64 bits as a float
        return str(value) if value in _INT64 else floats(float(value))
    if isinstance(value, float):
        return floats(value)
    return escape(str(value))


def _go_json(value: Any) -> str:
    """Go's json.Marshal of the decoded value: compact, map keys sorted, <, >, & and the
    line and paragraph separators escaped as \\u sequences, floats as Go writes them."""
    if isinstance(value, str):
        return _go_json_string(value)
    if isinstance(value, dict):
        members = (
            f"{_go_json_string(str(k))}:{_go_json(v)}" for k, v in sorted(value.items(), key=_key)
        )
        return "{" + ",".join(members) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_go_json(v) for v in value) + "]"
    return _scalar(value, _go_json_float)


def _key(item: tuple[Any, Any]) -> str:
    return str(item[0])


_GO_HTML = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def _go_json_string(s: str) -> str:
    # Python escapes what Go escapes below U+0020 (\b and \f by name too, as Go >= 1.22)
    return json.dumps(s, ensure_ascii=False).translate(_GO_HTML)


_UNSAFE = re.compile(r"[^ -~]")


def _json_escape(match: re.Match[str]) -> str:
    char = match.group()
    if char.isprintable():
        return char
    point = ord(char)
    if point > 0xFFFF:  # a surrogate pair, as JSON writes it
        point -= 0x10000
        return f"\\u{0xD800 + (point >> 10):04x}\\u{0xDC00 + (point & 0x3FF):04x}"
    return f"\\u{point:04x}"


def _safe_json(text: str) -> str:
    """JSON text with every character a terminal could act on (DEL, C1, bidi, lone
    surrogates) as a \\u escape: still the same JSON value. Such characters only occur
    inside strings, so the escape is valid there."""
    return text if text.isprintable() else _UNSAFE.sub(_json_escape, text)


def _shortest(f: float) -> tuple[str, int, str]:
    """The sign, the shortest digits that read back as ``f``, and the position of the
    decimal point relative to them (Go's decimal ``d``, ``dp``)."""
    d = Decimal(repr(f)).normalize()
    sign, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    return ("-" if sign else ""), len(text) + exponent, text


def _fixed(f: float) -> str:
    """strconv.FormatFloat(f, 'f', -1, 64)."""
    return format(Decimal(repr(f)).normalize(), "f")


def _exponent(sign: str, point: int, digits: str) -> str:
    """strconv.FormatFloat(f, 'e', -1, 64): d.ddde±XX."""
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    x = point - 1
    return f"{sign}{mantissa}e{'-' if x < 0 else '+'}{abs(x):02d}"


def _not_finite(f: float) -> str | None:
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    return None


def _go_print_float(f: float) -> str:
    """fmt.Print of a float64 (%v): the shortest digits, in exponent form when the
    exponent is below -4 or at least 6 (``1e+06``, ``1e-05``, ``123456``)."""
    special = _not_finite(f)
    if special is not None:
        return special
    if f == 0:
        return "-0" if math.copysign(1, f) < 0 else "0"
    sign, point, digits = _shortest(f)
    if point - 1 < -4 or point - 1 >= 6:
        return _exponent(sign, point, digits)
    return _fixed(f)


def _go_json_float(f: float) -> str:
    """encoding/json's float64: fixed notation, exponent form below 1e-6 and from 1e21
    on (``1e-7``, ``1e+21``). Not a number or infinite (never in a report): null."""
    if _not_finite(f) is not None:
        return "null"
    if f != 0 and (abs(f) < 1e-6 or abs(f) >= 1e21):
        text = _exponent(*_shortest(f))
        return re.sub(r"e-0(\d)$", r"e-\1", text)
    return _fixed(f)
