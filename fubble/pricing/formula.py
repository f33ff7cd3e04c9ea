"""A tiny, whitelisted arithmetic language for dynamic unit prices.

A formula such as ``base_rate * (1 + market_factor)`` is parsed with Python's own parser (``ast``, eval mode) and
then checked node by node against a whitelist; nothing is ever passed to ``eval``/``compile``, and no Python object
(builtin, attribute, module) is reachable from a formula.

Grammar (everything else is rejected with :class:`~fubble.errors.InvalidInput` naming the construct)
--------------------------------------------------------------------------------------------------------
* numbers: decimal literals such as ``2``, ``0.15``, ``1_000``, ``1.5e3``. The literal's source text is read as a
  ``Decimal`` (never through ``float``); at most 30 digits, magnitude between 1e-30 and 1e30 (or zero). Hex, octal,
  binary, imaginary, string, bytes, boolean, ``None`` and ``...`` literals are refused.
* variables: plain ASCII identifiers (letter first, then letters, digits, underscores) not starting with ``_``.
* ``a + b``, ``a - b``, ``a * b``, ``a / b``, ``-a``, ``+a`` and parentheses.
* ``a ** n`` only when ``n`` is an integer literal 0..10 and ``a`` contains no ``**`` (no power towers); ``a ** 0``
  is 1 for every ``a``.
* ``min(a, b, ...)`` and ``max(a, b, ...)`` with 2..8 positional arguments, ``abs(a)`` with exactly one.

Limits: at most 500 characters, 200 expression nodes and 32 levels of nesting. Brackets are counted before parsing,
so pathological input is refused in microseconds; after parsing, every bracket, call argument, unary operator and
right-hand operand is one level deeper, while a chain such as ``a + b - c + d`` stays at one level.

Evaluation
----------
Arithmetic is ``Decimal`` in a private context: 34 significant digits (half-even; a unit price is a rate, money is
rounded once later by :func:`fubble.pricing.money.round_money`), exponents limited to ±9999, and invalid operations,
division by zero and overflow raise :class:`~fubble.errors.InvalidInput` at evaluation time. A variable that is not
given evaluates to 0 (an external factor that was never set counts as 0).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow

from fubble.errors import InvalidInput

__all__ = ["FUNCTIONS", "MAX_DEPTH", "MAX_LENGTH", "MAX_NODES", "Formula", "compile_formula"]

MAX_LENGTH = 500
MAX_NODES = 200
MAX_DEPTH = 32
MAX_LITERAL_DIGITS = 30
MAX_LITERAL_EXPONENT = 30
MAX_POWER = 10
FUNCTIONS = frozenset({"min", "max", "abs"})
_MAX_ARGS = 8

_CONTEXT = Context(
    prec=34,
    rounding=ROUND_HALF_EVEN,
    Emax=9999,
    Emin=-9999,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
_ZERO = Decimal(0)
_ONE = Decimal(1)
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_NUMBER = re.compile(r"(?P<mantissa>[0-9_]*\.?[0-9_]*)(?:[eE][+-]?[0-9_]+)?")

Env = Mapping[str, Decimal]
_Eval = Callable[[Env], Decimal]
Loc = tuple[str | int, ...]


def _divide(dividend: Decimal, divisor: Decimal) -> Decimal:
    if not divisor:
        raise ZeroDivisionError  # also for 0/0, which decimal reports as an invalid operation
    return _CONTEXT.divide(dividend, divisor)


_BINARY: dict[type[ast.operator], Callable[[Decimal, Decimal], Decimal]] = {
    ast.Add: _CONTEXT.add,
    ast.Sub: _CONTEXT.subtract,
    ast.Mult: _CONTEXT.multiply,
    ast.Div: _divide,
}
_UNARY: dict[type[ast.unaryop], Callable[[Decimal], Decimal]] = {
    ast.USub: _CONTEXT.minus,
    ast.UAdd: _CONTEXT.plus,
}
_OPERATOR_NAMES: dict[type[ast.AST], str] = {
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
    ast.Not: "not",
    ast.Invert: "~",
}
_CONSTRUCT_NAMES: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Slice: "slices",
    ast.Lambda: "lambda",
    ast.Compare: "comparisons",
    ast.BoolOp: "boolean operators (and/or)",
    ast.IfExp: "conditional expressions",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "generator expressions",
    ast.JoinedStr: "f-strings",
    ast.FormattedValue: "f-strings",
    ast.Starred: "starred arguments",
    ast.NamedExpr: "assignment expressions (:=)",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Set: "sets",
    ast.Dict: "dicts",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}


class Formula:
    """A validated formula: :attr:`names` are the variables it reads; :meth:`evaluate` computes it."""

    __slots__ = ("_loc", "_order", "_root", "names", "text")

    def __init__(self, text: str, root: _Eval, names: frozenset[str], loc: Loc) -> None:
        self.text = text
        self.names = names
        self._root = root
        self._order = tuple(sorted(names))
        self._loc = loc

    def __repr__(self) -> str:
        return f"Formula({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Formula) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def evaluate(self, variables: Mapping[str, Decimal]) -> Decimal:
        """Value of the formula; names missing from ``variables`` are 0. Values must be finite Decimals (or ints)."""
        env: dict[str, Decimal] = {}
        for name in self._order:
            value = variables.get(name, _ZERO)
            if type(value) is not Decimal:
                value = self._operand(name, value)
            elif not value.is_finite():
                raise InvalidInput.at(self._loc, f"formula variable {name!r} is not a finite number: {value!r}")
            env[name] = value
        try:
            return self._root(env)
        except ZeroDivisionError:
            raise InvalidInput.at(self._loc, f"formula {self.text!r}: division by zero") from None
        except Overflow:
            raise InvalidInput.at(self._loc, f"formula {self.text!r}: result too large") from None
        except InvalidOperation:
            raise InvalidInput.at(self._loc, f"formula {self.text!r}: undefined arithmetic") from None

    def _operand(self, name: str, value: object) -> Decimal:
        if isinstance(value, Decimal) and value.is_finite():
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return Decimal(value)
        raise InvalidInput.at(self._loc, f"formula variable {name!r} must be a finite Decimal, got {value!r}")


def compile_formula(text: str, *, loc: Sequence[str | int] = ("formula",)) -> Formula:
    """Validate ``text`` against the whitelist and compile it; :class:`InvalidInput` at ``loc`` if it is refused."""
    compiler = _Compiler(text, tuple(loc))
    return compiler.compile()


class _Compiler:
    def __init__(self, text: object, loc: Loc) -> None:
        self.text = text
        self.loc = loc
        self.names: set[str] = set()

    def error(self, message: str) -> InvalidInput:
        return InvalidInput.at(self.loc, f"formula: {message}")

    def operator_error(self, op: ast.AST) -> InvalidInput:
        return self.error(f"operator {_OPERATOR_NAMES.get(type(op), type(op).__name__)} is not allowed")

    def compile(self) -> Formula:
        text = self.text
        if not isinstance(text, str):
            raise self.error(f"must be a string, not {type(text).__name__}")
        if len(text) > MAX_LENGTH:
            raise self.error(f"longer than {MAX_LENGTH} characters ({len(text)})")
        if not text.strip():
            raise self.error("is empty")
        self.check_brackets(text)
        self.check_tokens(text)
        try:
            tree = ast.parse(text, mode="eval")
        except SyntaxError as exc:
            raise self.error(f"not a valid expression ({exc.msg})") from None
        except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
            raise self.error(f"cannot be parsed ({type(exc).__name__})") from None
        nodes = sum(1 for node in ast.walk(tree) if isinstance(node, ast.expr))
        if nodes > MAX_NODES:
            raise self.error(f"too complex: more than {MAX_NODES} expression nodes")
        root = self.build(tree.body, 1)
        return Formula(text, root, frozenset(self.names), self.loc)

    def check_brackets(self, text: str) -> None:
        depth = deepest = 0
        for char in text:
            if char in "([{":
                depth += 1
                deepest = max(deepest, depth)
            elif char in ")]}":
                depth -= 1
        if deepest > MAX_DEPTH:
            raise self.error(f"nested deeper than {MAX_DEPTH} levels")

    def check_tokens(self, text: str) -> None:
        """Refuse what would make Python's parser emit warnings: string literals (escape sequences) and a number
        glued to a name (``1if``, ``0x1for``). Tokenizer errors are left for ``ast.parse`` to report."""
        previous: tokenize.TokenInfo | None = None
        try:
            for token in tokenize.generate_tokens(io.StringIO(text).readline):
                if token.type == tokenize.STRING:
                    prefix = token.string[: len(token.string) - len(token.string.lstrip("rRbBuUfF"))].lower()
                    kind = "f-strings" if "f" in prefix else "bytes literals" if "b" in prefix else "str literals"
                    raise self.error(f"{kind} not allowed")
                glued = previous is not None and previous.type == tokenize.NUMBER and previous.end == token.start
                if glued and token.type in (tokenize.NAME, tokenize.NUMBER):
                    assert previous is not None
                    raise self.error(f"number {previous.string + token.string!r} not allowed")
                previous = token
        except (tokenize.TokenError, SyntaxError):
            pass

    def build(self, node: ast.expr, depth: int) -> _Eval:
        if depth > MAX_DEPTH:
            raise self.error(f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, ast.BinOp):
            return self.binary(node, depth)
        if isinstance(node, ast.UnaryOp):
            unary = _UNARY.get(type(node.op))
            if unary is None:
                raise self.operator_error(node.op)
            operand = self.build(node.operand, depth + 1)
            return lambda env: unary(operand(env))
        if isinstance(node, ast.Constant):
            value = self.literal(node)
            return lambda env: value
        if isinstance(node, ast.Name):
            name = self.variable(node)
            return lambda env: env[name]
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        construct = _CONSTRUCT_NAMES.get(type(node), f"{type(node).__name__} expressions")
        raise self.error(f"{construct} not allowed")

    def binary(self, node: ast.BinOp, depth: int) -> _Eval:
        if isinstance(node.op, ast.Pow):
            return self.power(node, depth)
        operation = _BINARY.get(type(node.op))
        if operation is None:
            raise self.operator_error(node.op)
        left = self.build(node.left, depth)  # a chain a + b + c ... nests to the left without getting deeper
        right = self.build(node.right, depth + 1)
        return lambda env: operation(left(env), right(env))

    def power(self, node: ast.BinOp, depth: int) -> _Eval:
        exponent = node.right
        if not (
            isinstance(exponent, ast.Constant)
            and type(exponent.value) is int
            and 0 <= exponent.value <= MAX_POWER
            and self.source(exponent).isdigit()
        ):
            raise self.error(f"** needs an integer literal exponent from 0 to {MAX_POWER}")
        if any(isinstance(inner, ast.BinOp) and isinstance(inner.op, ast.Pow) for inner in ast.walk(node.left)):
            raise self.error("nested powers (power towers) are not allowed")
        base = self.build(node.left, depth + 1)
        n: int = exponent.value
        if n == 0:

            def zeroth_power(env: Env) -> Decimal:
                base(env)  # still evaluated, so an error inside the base is reported
                return _ONE

            return zeroth_power
        return lambda env: _CONTEXT.power(base(env), n)

    def source(self, node: ast.expr) -> str:
        assert isinstance(self.text, str)
        return ast.get_source_segment(self.text, node) or ""

    def literal(self, node: ast.Constant) -> Decimal:
        value = node.value
        if type(value) not in (int, float):
            kind = "None" if value is None else "..." if value is Ellipsis else type(value).__name__
            raise self.error(f"{kind} literals not allowed (only decimal numbers)")
        source = self.source(node)
        match = _NUMBER.fullmatch(source)
        if match is None or not any(c.isdigit() for c in source):
            raise self.error(f"number {source!r} not allowed (only plain decimal numbers)")
        digits = sum(c.isdigit() for c in match.group("mantissa"))
        if digits > MAX_LITERAL_DIGITS:
            raise self.error(f"number {source[:40]!r} has more than {MAX_LITERAL_DIGITS} digits")
        try:
            number = Decimal(source.replace("_", ""))
        except InvalidOperation:
            raise self.error(f"number {source!r} not allowed") from None
        if number and not -MAX_LITERAL_EXPONENT <= number.adjusted() <= MAX_LITERAL_EXPONENT:
            raise self.error(f"number {source!r} out of range (1e-{MAX_LITERAL_EXPONENT} to 1e{MAX_LITERAL_EXPONENT})")
        return number

    def variable(self, node: ast.Name) -> str:
        name = node.id
        if not isinstance(node.ctx, ast.Load):
            raise self.error(f"assignment to {name!r} not allowed")
        if name.startswith("_"):
            raise self.error(f"name {name!r} not allowed (names must not start with '_')")
        if not _IDENTIFIER.fullmatch(name):
            raise self.error(f"name {name!r} not allowed (ASCII letters, digits and '_' only)")
        if name in FUNCTIONS:
            raise self.error(f"{name} is a function and must be called")
        self.names.add(name)
        return name

    def call(self, node: ast.Call, depth: int) -> _Eval:
        func = node.func
        if not isinstance(func, ast.Name) or func.id not in FUNCTIONS:
            called = func.id if isinstance(func, ast.Name) else type(func).__name__
            raise self.error(f"call of {called!r} not allowed (only min, max, abs)")
        name = func.id
        if node.keywords:
            raise self.error(f"keyword arguments not allowed in {name}()")
        if any(isinstance(arg, ast.Starred) for arg in node.args):
            raise self.error(f"starred arguments not allowed in {name}()")
        count = len(node.args)
        if name == "abs" and count != 1:
            raise self.error(f"abs() takes exactly 1 argument ({count} given)")
        if name != "abs" and not 2 <= count <= _MAX_ARGS:
            raise self.error(f"{name}() takes 2 to {_MAX_ARGS} arguments ({count} given)")
        args = [self.build(arg, depth + 1) for arg in node.args]
        if name == "abs":
            (only,) = args
            return lambda env: _CONTEXT.abs(only(env))
        if count == 2:
            first, second = args
            if name == "min":
                return lambda env: min(first(env), second(env))
            return lambda env: max(first(env), second(env))
        if name == "min":
            return lambda env: min([arg(env) for arg in args])
        return lambda env: max([arg(env) for arg in args])
