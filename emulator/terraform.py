"""The Terraform module's local-exec, rendered and run the way Terraform would, without Terraform.

    from emulator.terraform import render_local_exec, run_local_exec

    local_exec = render_local_exec({"state_machine_arn": aws.state_machine_arn, **variables})
    completed = run_local_exec(local_exec, aws.endpoint_url, stream=True)

``render_local_exec`` reads terraform/variables.tf and terraform/main.tf with python-hcl2, checks the
values as ``terraform plan`` would (declared names, required values, types, nullability, every
``validation`` and every ``precondition``), then evaluates the ``local-exec`` provisioner of
``null_resource.main``: its ``interpreter``, ``command`` and ``environment``. ``run_local_exec``
runs that exact argv with that environment against an emulator endpoint. The demo and the tests
therefore run the migration client the same way ``terraform apply`` does.

Supported subset of HCL (enough for the module; anything else raises ``TerraformError``):

* literals: numbers, strings with ``${...}`` interpolation (and ``$${`` escapes; no ``%{...}``
  directives, no heredocs), ``true``, ``false``, ``null``, tuples ``[...]``, objects ``{k = v}``;
* references: ``var.<name>``, ``local.<name>``, ``path.module`` / ``path.root`` / ``path.cwd``,
  attribute access and ``[index]``;
* operators: ``! -`` (unary), ``* / % + -``, ``< <= > >= == !=``, ``&& ||``, ``c ? a : b``; as in
  classic HCL, ``&&`` and ``||`` evaluate both sides (so conditions must guard nulls with ``? :``),
  while ``? :`` evaluates only the branch it picks;
* ``[for x in list : expr if cond]`` and ``{for k, v in coll : key => value if cond}``;
* functions: abs alltrue anytrue can ceil coalesce compact concat contains distinct element
  endswith flatten floor join jsondecode jsonencode keys length lookup lower max merge min regex
  regexall replace sha256 split startswith substr tobool tolist tonumber toset tostring trimspace
  try upper values.

Type constraints: string, number, bool, any, list(T), set(T), map(T). ``validation`` conditions see
only their own variable, as Terraform before 1.9 enforces; ``jsonencode`` sorts object keys and
escapes ``<``, ``>`` and ``&`` like Terraform. Regular expressions run on Python's ``re``, which
agrees with RE2 on the patterns the module uses. Tested with python-hcl2 8.x, whose output keeps
string quotes and wraps expressions in ``${...}``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

MODULE_DIR = Path(__file__).resolve().parent.parent / "terraform"
RESOURCE = ("null_resource", "main")


class TerraformError(Exception):
    """What ``terraform plan`` would refuse, one message per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class EvalError(Exception):
    """An expression could not be evaluated (Terraform would report an error diagnostic)."""


@dataclass(frozen=True)
class LocalExec:
    """A rendered ``local-exec``: Terraform runs ``interpreter + [command]`` with ``environment`` added."""

    interpreter: list[str]
    command: str
    environment: dict[str, str]
    working_dir: str | None = None

    @property
    def argv(self) -> list[str]:
        return [*self.interpreter, self.command]


# ==================================================================================================
# Expressions: a small recursive-descent parser producing tuples, and an evaluator over them
# ==================================================================================================

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


class _Parser:
    def __init__(self, source: str) -> None:
        self.s = source
        self.i = 0

    # -- scanning helpers ----------------------------------------------------------------------
    def error(self, message: str) -> EvalError:
        return EvalError(f"{message} at {self.i} in {self.s!r}")

    def skip(self) -> None:
        while self.i < len(self.s):
            if self.s[self.i] in " \t\r\n":
                self.i += 1
            elif self.s.startswith("#", self.i) or self.s.startswith("//", self.i):
                while self.i < len(self.s) and self.s[self.i] != "\n":
                    self.i += 1
            else:
                break

    def peek(self, token: str) -> bool:
        self.skip()
        if not self.s.startswith(token, self.i):
            return False
        if _IDENT.fullmatch(token):  # a keyword must not be the start of a longer name
            end = self.i + len(token)
            return end >= len(self.s) or not (self.s[end].isalnum() or self.s[end] in "_-")
        return True

    def take(self, token: str) -> bool:
        if self.peek(token):
            self.i += len(token)
            return True
        return False

    def expect(self, token: str) -> None:
        if not self.take(token):
            raise self.error(f"expected {token!r}")

    def ident(self) -> str:
        self.skip()
        match = _IDENT.match(self.s, self.i)
        if not match:
            raise self.error("expected a name")
        self.i = match.end()
        return match.group()

    # -- grammar ---------------------------------------------------------------------------------
    def parse(self) -> tuple:
        node = self.expression()
        self.skip()
        if self.i != len(self.s):
            raise self.error("unexpected text")
        return node

    def expression(self) -> tuple:
        condition = self.binary(0)
        if self.take("?"):
            when_true = self.expression()
            self.expect(":")
            when_false = self.expression()
            return ("cond", condition, when_true, when_false)
        return condition

    _LEVELS = (("||",), ("&&",), ("==", "!="), ("<=", ">=", "<", ">"), ("+", "-"), ("*", "/", "%"))

    def binary(self, level: int) -> tuple:
        if level == len(self._LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while True:
            self.skip()
            # two-character operators are listed before their one-character prefixes ("<=" before "<")
            op = next((o for o in self._LEVELS[level] if self.s.startswith(o, self.i)), None)
            if op is None:
                return node
            self.i += len(op)
            node = ("binop", op, node, self.binary(level + 1))

    def unary(self) -> tuple:
        self.skip()
        if self.s.startswith("!", self.i) and not self.s.startswith("!=", self.i):
            self.i += 1
            return ("not", self.unary())
        if self.s.startswith("-", self.i):
            self.i += 1
            return ("neg", self.unary())
        return self.postfix(self.primary())

    def postfix(self, node: tuple) -> tuple:
        while True:
            self.skip()
            if self.s.startswith(".", self.i) and not self.s.startswith("...", self.i):
                self.i += 1
                self.skip()
                if self.s[self.i:self.i + 1].isdigit():
                    match = _NUMBER.match(self.s, self.i)
                    self.i = match.end()
                    node = ("index", node, ("lit", int(match.group())))
                else:
                    node = ("attr", node, self.ident())
            elif self.s.startswith("[", self.i):
                self.i += 1
                key = self.expression()
                self.expect("]")
                node = ("index", node, key)
            else:
                return node

    def primary(self) -> tuple:
        self.skip()
        if self.i >= len(self.s):
            raise self.error("unexpected end")
        char = self.s[self.i]
        if char.isdigit():
            match = _NUMBER.match(self.s, self.i)
            self.i = match.end()
            text = match.group()
            return ("lit", int(text) if text.isdigit() else float(text))
        if char == '"':
            return self.template()
        if self.s.startswith("<<", self.i):
            raise self.error("heredocs are not supported by emulator/terraform.py")
        if char == "(":
            self.i += 1
            node = self.expression()
            self.expect(")")
            return node
        if char == "[":
            return self.tuple_or_for()
        if char == "{":
            return self.object_or_for()
        name = self.ident()
        if name in ("true", "false"):
            return ("lit", name == "true")
        if name == "null":
            return ("lit", None)
        self.skip()
        if self.s.startswith("(", self.i):
            self.i += 1
            args: list[tuple] = []
            while not self.take(")"):
                args.append(self.expression())
                if self.take("..."):
                    raise self.error("argument expansion is not supported")
                if not self.take(","):
                    self.expect(")")
                    break
            return ("call", name, args)
        return ("ref", name)

    def template(self) -> tuple:
        self.i += 1  # opening quote
        parts: list[Any] = []
        text: list[str] = []
        while True:
            if self.i >= len(self.s):
                raise self.error("unterminated string")
            char = self.s[self.i]
            if char == '"':
                self.i += 1
                break
            if char == "\\":
                code = self.s[self.i + 1:self.i + 2]
                if code in _ESCAPES:
                    text.append(_ESCAPES[code])
                    self.i += 2
                elif code in ("u", "U"):
                    width = 4 if code == "u" else 8
                    text.append(chr(int(self.s[self.i + 2:self.i + 2 + width], 16)))
                    self.i += 2 + width
                else:
                    raise self.error(f"unknown escape \\{code}")
            elif self.s.startswith("$${", self.i) or self.s.startswith("%%{", self.i):
                text.append(self.s[self.i + 1:self.i + 3])
                self.i += 3
            elif self.s.startswith("%{", self.i):
                raise self.error("template directives %{...} are not supported")
            elif self.s.startswith("${", self.i):
                if text:
                    parts.append("".join(text))
                    text = []
                self.i += 2
                self.take("~")
                node = self.expression()
                self.take("~")
                self.expect("}")
                parts.append(node)
            else:
                text.append(char)
                self.i += 1
        if text or not parts:
            parts.append("".join(text))
        if len(parts) == 1 and isinstance(parts[0], str):
            return ("lit", parts[0])
        return ("template", parts)

    def tuple_or_for(self) -> tuple:
        self.i += 1
        if self.peek("for"):
            self.take("for")
            key_name, value_name, collection = self.for_head()
            value = self.expression()
            condition = self.expression() if self.take("if") else None
            self.expect("]")
            return ("for_tuple", key_name, value_name, collection, value, condition)
        items: list[tuple] = []
        while not self.take("]"):
            items.append(self.expression())
            if not self.take(","):
                self.expect("]")
                break
        return ("tuple", items)

    def for_head(self) -> tuple[str | None, str, tuple]:
        first = self.ident()
        second = self.ident() if self.take(",") else None
        self.expect("in")
        collection = self.expression()
        self.expect(":")
        return (first, second, collection) if second else (None, first, collection)

    def object_or_for(self) -> tuple:
        self.i += 1
        if self.peek("for"):
            self.take("for")
            key_name, value_name, collection = self.for_head()
            key = self.expression()
            self.expect("=>")
            value = self.expression()
            grouped = self.take("...")
            condition = self.expression() if self.take("if") else None
            self.expect("}")
            return ("for_object", key_name, value_name, collection, key, value, condition, grouped)
        items: list[tuple[tuple, tuple]] = []
        while not self.take("}"):
            self.skip()
            match = _IDENT.match(self.s, self.i)
            if match and re.match(r"\s*[=:](?!=)", self.s[match.end():]):
                self.i = match.end()
                key: tuple = ("lit", match.group())
            else:
                key = self.expression()
            if not (self.take("=") or self.take(":")):
                raise self.error("expected = or : in an object")
            items.append((key, self.expression()))
            self.take(",")
        return ("object", items)


def parse_expression(source: str) -> tuple:
    """Parse one HCL expression (the text between ``${`` and ``}``, or a quoted template)."""
    return _Parser(source).parse()


# -- values ------------------------------------------------------------------------------------------

def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


def _as_number(value: Any) -> int | float:
    if isinstance(value, bool) or value is None:
        raise EvalError(f"a number is required, got {_type_name(value)}")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise EvalError(f"a number is required, got {value!r}") from None
        return int(number) if number.is_integer() and re.fullmatch(r"-?[0-9]+", value.strip()) else number
    raise EvalError(f"a number is required, got {_type_name(value)}")


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise EvalError(f"a bool is required, got {_type_name(value)}")


def _as_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _number_text(value)
    raise EvalError(f"a string is required, got {_type_name(value)}")


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _normalize(value: Any) -> Any:
    """Numbers as Terraform prints them: 3.0 is 3."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    return value


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(_equal(a, b) for a, b in zip(left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_equal(left[k], right[k]) for k in left)
    return type(left) is type(right) and left == right or (
        isinstance(left, (int, float)) and isinstance(right, (int, float)) and left == right
    )


def jsonencode(value: Any) -> str:
    """Like Terraform's: compact, object keys sorted, <, > and & escaped, integral numbers without ``.0``."""
    text = json.dumps(_normalize(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _regex(pattern: str, text: str) -> Any:
    compiled = re.compile(pattern)
    match = compiled.search(text)
    if match is None:
        raise EvalError(f"pattern {pattern!r} did not match {text!r}")
    return _match_value(compiled, match)


def _match_value(compiled: re.Pattern, match: re.Match) -> Any:
    if compiled.groupindex:
        return {name: match.group(name) for name in compiled.groupindex}
    if compiled.groups:
        return list(match.groups())
    return match.group()


def _replace(text: str, search: str, replacement: str) -> str:
    if len(search) > 1 and search.startswith("/") and search.endswith("/"):
        python_replacement = re.sub(r"\$\{?(\w+)\}?", lambda m: f"\\g<{m.group(1)}>",
                                    replacement.replace("\\", "\\\\"))
        return re.sub(search[1:-1], python_replacement, text)
    return text.replace(search, replacement)


def _substr(text: str, offset: int, length: int) -> str:
    offset, length = int(offset), int(length)
    if offset < 0:
        offset = max(0, len(text) + offset)
    return text[offset:] if length == -1 else text[offset:offset + length]


def _length(value: Any) -> int:
    if value is None:
        raise EvalError("length() of null")
    if isinstance(value, (str, list, dict)):
        return len(value)
    raise EvalError(f"length() of a {_type_name(value)}")


def _distinct(values: list) -> list:
    out: list = []
    for value in values:
        if not any(_equal(value, seen) for seen in out):
            out.append(value)
    return out


def _flatten(values: list) -> list:
    out: list = []
    for value in values:
        out.extend(_flatten(value) if isinstance(value, list) else [value])
    return out


def _coalesce(*values: Any) -> Any:
    for value in values:
        if value is not None and value != "":
            return value
    raise EvalError("coalesce(): no non-null, non-empty argument")


def _lookup(mapping: dict, key: str, *default: Any) -> Any:
    if key in mapping:
        return mapping[key]
    if default:
        return default[0]
    raise EvalError(f"lookup(): no key {key!r}")


def _element(values: list, index: Any) -> Any:
    if not values:
        raise EvalError("element() of an empty list")
    return values[int(_as_number(index)) % len(values)]


def _list_of(name: str) -> Callable[[Any], list]:
    def check(value: Any) -> list:
        if not isinstance(value, list):
            raise EvalError(f"{name}() needs a list, got {_type_name(value)}")
        return value
    return check


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": lambda x: abs(_as_number(x)),
    "alltrue": lambda xs: all([_as_bool(x) for x in _list_of("alltrue")(xs)]),
    "anytrue": lambda xs: any([_as_bool(x) for x in _list_of("anytrue")(xs)]),
    "ceil": lambda x: math.ceil(_as_number(x)),
    "coalesce": _coalesce,
    "compact": lambda xs: [x for x in _list_of("compact")(xs) if x not in (None, "")],
    "concat": lambda *xs: [v for x in xs for v in _list_of("concat")(x)],
    "contains": lambda xs, v: any(_equal(x, v) for x in _list_of("contains")(xs)),
    "distinct": lambda xs: _distinct(_list_of("distinct")(xs)),
    "element": _element,
    "endswith": lambda s, suffix: _as_string(s).endswith(_as_string(suffix)),
    "flatten": lambda xs: _flatten(_list_of("flatten")(xs)),
    "floor": lambda x: math.floor(_as_number(x)),
    "join": lambda sep, xs: _as_string(sep).join(_as_string(x) for x in _list_of("join")(xs)),
    "jsondecode": lambda s: json.loads(_as_string(s)),
    "jsonencode": jsonencode,
    "keys": lambda m: sorted(m),
    "length": _length,
    "lookup": _lookup,
    "lower": lambda s: _as_string(s).lower(),
    "max": lambda *xs: max(_as_number(x) for x in xs),
    "merge": lambda *ms: {k: v for m in ms if m is not None for k, v in m.items()},
    "min": lambda *xs: min(_as_number(x) for x in xs),
    "regex": lambda pattern, s: _regex(_as_string(pattern), _as_string(s)),
    "regexall": lambda pattern, s: [_match_value(re.compile(_as_string(pattern)), m)
                                    for m in re.finditer(_as_string(pattern), _as_string(s))],
    "replace": lambda s, search, repl: _replace(_as_string(s), _as_string(search), _as_string(repl)),
    "sha256": lambda s: hashlib.sha256(_as_string(s).encode()).hexdigest(),
    "split": lambda sep, s: _as_string(s).split(_as_string(sep)),
    "startswith": lambda s, prefix: _as_string(s).startswith(_as_string(prefix)),
    "substr": lambda s, offset, length: _substr(_as_string(s), _as_number(offset), _as_number(length)),
    "tobool": lambda x: None if x is None else _as_bool(x),
    "tolist": lambda xs: list(_list_of("tolist")(xs)),
    "tonumber": lambda x: None if x is None else _as_number(x),
    "toset": lambda xs: _distinct(_list_of("toset")(xs)),
    "tostring": lambda x: None if x is None else _as_string(x),
    "trimspace": lambda s: _as_string(s).strip(),
    "upper": lambda s: _as_string(s).upper(),
    "values": lambda m: [m[k] for k in sorted(m)],
}


class _Scope:
    """What names mean while evaluating: variables, locals (lazy), path.*, and for-loop names."""

    def __init__(self, variables: dict[str, Any], local_sources: dict[str, Any] | None = None,
                 paths: dict[str, str] | None = None) -> None:
        self.variables = variables
        self.local_sources = local_sources or {}
        self.paths = paths or {}
        self._locals: dict[str, Any] = {}
        self._evaluating: set[str] = set()

    def local(self, name: str) -> Any:
        if name in self._locals:
            return self._locals[name]
        if name not in self.local_sources:
            raise EvalError(f"local.{name} is not declared")
        if name in self._evaluating:
            raise EvalError(f"local.{name} refers to itself")
        self._evaluating.add(name)
        try:
            value = evaluate_value(self.local_sources[name], self)
        finally:
            self._evaluating.discard(name)
        self._locals[name] = value
        return value


def _evaluate(node: tuple, scope: _Scope, names: dict[str, Any]) -> Any:
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "template":
        pieces = []
        for part in node[1]:
            if isinstance(part, str):
                pieces.append(part)
            else:
                value = _evaluate(part, scope, names)
                if value is None:
                    raise EvalError("a template cannot interpolate null")
                pieces.append(_as_string(value))
        return "".join(pieces)
    if kind == "ref":
        name = node[1]
        if name in names:
            return names[name]
        if name in ("var", "local", "path"):
            raise EvalError(f"{name} needs an attribute, e.g. {name}.something")
        raise EvalError(f"unknown name {name!r}")
    if kind == "attr":
        target, attribute = node[1], node[2]
        if target[0] == "ref" and target[1] not in names:
            root = target[1]
            if root == "var":
                if attribute not in scope.variables:
                    raise EvalError(f"var.{attribute} is not available here")
                return scope.variables[attribute]
            if root == "local":
                return scope.local(attribute)
            if root == "path":
                if attribute not in scope.paths:
                    raise EvalError(f"path.{attribute} is not supported")
                return scope.paths[attribute]
        value = _evaluate(target, scope, names)
        if not isinstance(value, dict) or attribute not in value:
            raise EvalError(f"no attribute {attribute!r} on a {_type_name(value)}")
        return value[attribute]
    if kind == "index":
        value, key = _evaluate(node[1], scope, names), _evaluate(node[2], scope, names)
        if isinstance(value, list):
            index = _as_number(key)
            if not 0 <= index < len(value) or int(index) != index:
                raise EvalError(f"index {key!r} out of range for a list of {len(value)}")
            return value[int(index)]
        if isinstance(value, dict):
            if _as_string(key) not in value:
                raise EvalError(f"no key {key!r}")
            return value[_as_string(key)]
        raise EvalError(f"cannot index a {_type_name(value)}")
    if kind == "not":
        return not _as_bool(_evaluate(node[1], scope, names))
    if kind == "neg":
        return -_as_number(_evaluate(node[1], scope, names))
    if kind == "binop":
        return _binop(node[1], _evaluate(node[2], scope, names), _evaluate(node[3], scope, names))
    if kind == "cond":
        condition = _evaluate(node[1], scope, names)
        if condition is None:
            raise EvalError("the condition of ? : is null")
        return _evaluate(node[2] if _as_bool(condition) else node[3], scope, names)
    if kind == "tuple":
        return [_evaluate(item, scope, names) for item in node[1]]
    if kind == "object":
        result = {}
        for key_node, value_node in node[1]:
            result[_as_string(_evaluate(key_node, scope, names))] = _evaluate(value_node, scope, names)
        return result
    if kind in ("for_tuple", "for_object"):
        return _for(node, scope, names)
    if kind == "call":
        return _call(node[1], node[2], scope, names)
    raise EvalError(f"unsupported expression {kind}")


def _binop(op: str, left: Any, right: Any) -> Any:
    if op == "==":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    if op in ("&&", "||"):
        a, b = _as_bool(left), _as_bool(right)  # both sides always evaluated, as in classic HCL
        return (a and b) if op == "&&" else (a or b)
    a, b = _as_number(left), _as_number(right)
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    if op == ">=":
        return a >= b
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        if b == 0:
            raise EvalError("division by zero")
        return a / b
    if op == "%":
        if b == 0:
            raise EvalError("modulo by zero")
        return math.fmod(a, b) if isinstance(a, float) or isinstance(b, float) else int(math.fmod(a, b))
    raise EvalError(f"unknown operator {op}")


def _for(node: tuple, scope: _Scope, names: dict[str, Any]) -> Any:
    key_name, value_name, collection = node[1], node[2], _evaluate(node[3], scope, names)
    if isinstance(collection, list):
        pairs: Iterable[tuple[Any, Any]] = enumerate(collection)
    elif isinstance(collection, dict):
        pairs = sorted(collection.items())
    else:
        raise EvalError(f"cannot iterate over a {_type_name(collection)}")
    tuple_result: list = []
    object_result: dict = {}
    for key, value in pairs:
        inner = dict(names)
        inner[value_name] = value
        if key_name:
            inner[key_name] = key
        condition = node[5] if node[0] == "for_tuple" else node[6]
        if condition is not None and not _as_bool(_evaluate(condition, scope, inner)):
            continue
        if node[0] == "for_tuple":
            tuple_result.append(_evaluate(node[4], scope, inner))
        else:
            result_key = _as_string(_evaluate(node[4], scope, inner))
            result_value = _evaluate(node[5], scope, inner)
            if node[7]:
                object_result.setdefault(result_key, []).append(result_value)
            elif result_key in object_result:
                raise EvalError(f"duplicate key {result_key!r} in a for expression")
            else:
                object_result[result_key] = result_value
    return tuple_result if node[0] == "for_tuple" else object_result


def _call(name: str, arguments: list[tuple], scope: _Scope, names: dict[str, Any]) -> Any:
    if name == "can":
        try:
            _evaluate(arguments[0], scope, names)
            return True
        except EvalError:
            return False
    if name == "try":
        for argument in arguments:
            try:
                return _evaluate(argument, scope, names)
            except EvalError:
                continue
        raise EvalError("try(): no argument could be evaluated")
    function = _FUNCTIONS.get(name)
    if function is None:
        raise EvalError(f"function {name}() is not supported by emulator/terraform.py")
    values = [_evaluate(argument, scope, names) for argument in arguments]
    try:
        return function(*values)
    except EvalError:
        raise
    except (TypeError, ValueError, AttributeError, IndexError, KeyError, re.error) as exc:
        raise EvalError(f"{name}(): {exc}") from None


def _source_node(text: str) -> tuple:
    """python-hcl2 8 keeps quotes on strings and wraps other expressions in ``${...}``."""
    if text.startswith("${") and text.endswith("}"):
        try:
            return parse_expression(text[2:-1])
        except EvalError:
            pass  # e.g. "${a}-${b}" from an older python-hcl2: a template, not one expression
    if text.startswith('"') and text.endswith('"') and len(text) >= 2:
        return parse_expression(text)
    return parse_expression('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"') if "${" in text \
        else ("lit", text)


def evaluate_value(value: Any, scope: _Scope) -> Any:
    """Evaluate what python-hcl2 gave for an attribute: an expression string, or a list/dict of them."""
    if isinstance(value, str):
        return _evaluate(_source_node(value), scope, {})
    if isinstance(value, list):
        return [evaluate_value(v, scope) for v in value]
    if isinstance(value, dict):
        return {_unquote(k): evaluate_value(v, scope) for k, v in value.items() if k != "__is_block__"}
    return value


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


# ==================================================================================================
# The module
# ==================================================================================================

@dataclass
class Check:
    """A ``validation`` or ``precondition``: a condition and what Terraform prints when it is false."""

    condition: Any
    error_message: Any


@dataclass
class Variable:
    name: str
    type: str
    description: str
    has_default: bool
    default: Any
    nullable: bool
    validations: list[Check] = field(default_factory=list)

    @property
    def required(self) -> bool:
        return not self.has_default


@dataclass(frozen=True)
class Problem:
    """A value Terraform would refuse: the variable (or ``null_resource.main``) and its error_message."""

    subject: str
    message: str


class Module:
    """terraform/ as python-hcl2 reads it, with an evaluator for the subset of HCL it uses."""

    def __init__(self, directory: Path | str = MODULE_DIR) -> None:
        self.directory = Path(directory).resolve()
        self.blocks: dict[str, list[dict]] = {}
        for path in sorted(self.directory.glob("*.tf")):
            with path.open() as handle:
                for key, value in hcl2.load(handle).items():
                    self.blocks.setdefault(key, []).extend(value)
        self.variables = {v.name: v for v in self._read_variables()}
        self.local_sources: dict[str, Any] = {}
        for block in self.blocks.get("locals", []):
            self.local_sources.update({k: v for k, v in block.items() if k != "__is_block__"})
        self.outputs = {_unquote(name): body for block in self.blocks.get("output", []) for name, body in block.items()}

    def _read_variables(self) -> list[Variable]:
        variables = []
        for block in self.blocks.get("variable", []):
            for raw_name, body in block.items():
                name = _unquote(raw_name)
                variables.append(Variable(
                    name=name,
                    type=_type_text(body.get("type", "any")),
                    description=_literal_string(body.get("description", "")),
                    has_default="default" in body,
                    default=evaluate_value(body["default"], _Scope({})) if "default" in body else None,
                    nullable=body.get("nullable", True) is not False and body.get("nullable") != "${false}",
                    validations=[Check(v["condition"], v["error_message"]) for v in body.get("validation", [])],
                ))
        return variables

    def _find_resource(self) -> dict[str, Any] | None:
        for block in self.blocks.get("resource", []):
            for raw_type, named in block.items():
                for raw_name, body in named.items():
                    if (_unquote(raw_type), _unquote(raw_name)) == RESOURCE:
                        return body
        return None

    @property
    def resource(self) -> dict[str, Any]:
        body = self._find_resource()
        if body is None:
            raise TerraformError([f"{'.'.join(RESOURCE)} is not declared in {self.directory}"])
        return body

    @property
    def preconditions(self) -> list[Check]:
        checks: list[Check] = []
        for lifecycle in (self._find_resource() or {}).get("lifecycle", []):
            checks.extend(Check(p["condition"], p["error_message"]) for p in lifecycle.get("precondition", []))
        return checks

    @property
    def local_exec(self) -> dict[str, Any]:
        for provisioner in self.resource.get("provisioner", []):
            for kind, body in provisioner.items():
                if _unquote(kind) == "local-exec":
                    return body
        raise TerraformError([f"{'.'.join(RESOURCE)} has no local-exec provisioner"])

    # -- values as `terraform plan` takes them ---------------------------------------------------
    def resolve(self, values: dict[str, Any]) -> dict[str, Any]:
        """Declared names only, required ones present, types converted, defaults and nullability applied."""
        problems = [f'An input variable with the name "{name}" has not been declared.'
                    for name in values if name not in self.variables]
        resolved: dict[str, Any] = {}
        for name, variable in self.variables.items():
            value = values.get(name)
            if value is None and not variable.nullable or name not in values:
                if not variable.has_default:
                    problems.append(f'The root module input variable "{name}" is not set, and has no default value.'
                                    if name not in values else f'The given value is not suitable for var.{name}: '
                                    "required variable may not be set to null.")
                    continue
                value = variable.default
            try:
                resolved[name] = convert(value, variable.type)
            except EvalError as exc:
                problems.append(f"Invalid value for input variable {name}: {exc}.")
        if problems:
            raise TerraformError(problems)
        return resolved

    def problems(self, values: dict[str, Any]) -> list[Problem]:
        """Every validation and precondition that fails (or cannot be evaluated) for these values."""
        resolved = self.resolve(values)
        found: list[Problem] = []
        for name, variable in self.variables.items():
            # before Terraform 1.9 a validation may refer to its own variable only
            scope = _Scope({name: resolved[name]})
            for check in variable.validations:
                found.extend(self._run_check(name, check, scope))
        scope = self.scope(resolved)
        for check in self.preconditions:
            found.extend(self._run_check(".".join(RESOURCE), check, scope))
        return found

    def scope(self, resolved: dict[str, Any], path_module: str | None = None) -> _Scope:
        module = path_module if path_module is not None else str(self.directory)
        return _Scope(resolved, self.local_sources, {"module": module, "root": module, "cwd": os.getcwd()})

    @staticmethod
    def _run_check(subject: str, check: Check, scope: _Scope) -> list[Problem]:
        message = evaluate_value(check.error_message, _Scope({}))
        try:
            result = evaluate_value(check.condition, scope)
            if result is None or not _as_bool(result):
                return [Problem(subject, message)]
        except EvalError as exc:
            return [Problem(subject, f"{message} (the condition could not be evaluated: {exc})")]
        return []

    def check(self, values: dict[str, Any]) -> dict[str, Any]:
        """``resolve`` plus every validation and precondition; raises ``TerraformError`` like a failed plan."""
        resolved = self.resolve(values)
        problems = self.problems(values)
        if problems:
            raise TerraformError([f"{p.subject}: {p.message}" for p in problems])
        return resolved

    # -- what `terraform apply` runs and prints ----------------------------------------------------
    def render_local_exec(self, values: dict[str, Any], path_module: str | None = None) -> LocalExec:
        scope = self.scope(self.check(values), path_module)
        body = self.local_exec
        interpreter = evaluate_value(body.get("interpreter", ["/bin/sh", "-c"]), scope)
        environment = evaluate_value(body.get("environment", {}), scope)
        working_dir = evaluate_value(body["working_dir"], scope) if "working_dir" in body else None
        for key, value in environment.items():
            if value is None or isinstance(value, (list, dict)):
                raise TerraformError([f"local-exec environment {key}: a string is required, got {_type_name(value)}"])
        return LocalExec(
            interpreter=[_as_string(part) for part in interpreter],
            command=_as_string(evaluate_value(body["command"], scope)),
            environment={key: _as_string(value) for key, value in environment.items()},
            working_dir=working_dir,
        )

    def render_outputs(self, values: dict[str, Any]) -> dict[str, Any]:
        scope = self.scope(self.check(values))
        return {name: evaluate_value(body["value"], scope) for name, body in self.outputs.items()}

    def triggers(self, values: dict[str, Any]) -> dict[str, Any]:
        return evaluate_value(self.resource.get("triggers", {}), self.scope(self.check(values)))

    def evaluate(self, expression: str, values: dict[str, Any]) -> Any:
        """Evaluate HCL source (e.g. ``"local.execution_name"``) with these variable values."""
        return _evaluate(parse_expression(expression), self.scope(self.resolve(values)), {})


def _type_text(value: Any) -> str:
    text = str(value)
    return text[2:-1] if text.startswith("${") and text.endswith("}") else text


def _literal_string(value: Any) -> str:
    if isinstance(value, str):
        node = _source_node(value)
        if node[0] == "lit":
            return node[1]
    return str(value)


def convert(value: Any, type_text: str) -> Any:
    """Convert a value to a type constraint the way Terraform converts input variables."""
    kind = type_text.replace(" ", "")
    if value is None or kind == "any":
        return value
    if kind == "string":
        if isinstance(value, (list, dict)):
            raise EvalError(f"string required, got {_type_name(value)}")
        return _as_string(value)
    if kind == "number":
        return _as_number(value)
    if kind == "bool":
        return _as_bool(value)
    match = re.fullmatch(r"(list|set|map)\((.+)\)", kind)
    if match:
        container, inner = match.groups()
        if container == "map":
            if not isinstance(value, dict):
                raise EvalError(f"map required, got {_type_name(value)}")
            return {k: convert(v, inner) for k, v in value.items()}
        if not isinstance(value, (list, tuple)):
            raise EvalError(f"list of {inner} required, got {_type_name(value)}")
        items = [convert(v, inner) for v in value]
        return _distinct(items) if container == "set" else items
    raise EvalError(f"type {type_text} is not supported by emulator/terraform.py")


# ==================================================================================================
# Public API used by the demo and the tests
# ==================================================================================================

def load_module(directory: Path | str = MODULE_DIR) -> Module:
    """The module in ``directory``, parsed once until one of its .tf files changes."""
    path = Path(directory).resolve()
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(path.glob("*.tf")))
    cached = _MODULES.get(path)
    if cached is None or cached[0] != stamp:
        cached = _MODULES[path] = (stamp, Module(path))
    return cached[1]


_MODULES: dict[Path, tuple[tuple, Module]] = {}


def render_local_exec(variables: dict[str, Any], *, module_dir: Path | str = MODULE_DIR,
                      path_module: str | None = None) -> LocalExec:
    """The local-exec ``terraform apply`` would run for these variables (``TerraformError`` if plan would fail).

    ``path_module`` defaults to the module's absolute path, so the command runs from any directory.
    """
    return load_module(module_dir).render_local_exec(variables, path_module)


def render_outputs(variables: dict[str, Any], *, module_dir: Path | str = MODULE_DIR) -> dict[str, Any]:
    """The module's outputs for these variables."""
    return load_module(module_dir).render_outputs(variables)


def validation_problems(variables: dict[str, Any], *, module_dir: Path | str = MODULE_DIR) -> list[Problem]:
    """Every validation and precondition these variables fail (empty when ``terraform plan`` would pass)."""
    return load_module(module_dir).problems(variables)


def local_exec_environment(local_exec: LocalExec, endpoint_url: str | None, *, region: str = "us-east-1",
                           extra_env: dict[str, str | None] | None = None) -> dict[str, str]:
    """The process environment: ours without any AWS_* setting, fake credentials and the endpoint, then
    the provisioner's ``environment`` (as Terraform adds it to its own), then ``extra_env`` (None removes)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update({
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    })
    if endpoint_url:
        env["AWS_ENDPOINT_URL"] = endpoint_url
    env.update(local_exec.environment)
    for key, value in (extra_env or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def popen_local_exec(local_exec: LocalExec, endpoint_url: str | None, *, region: str = "us-east-1",
                     extra_env: dict[str, str | None] | None = None,
                     separate_stderr: bool = False) -> subprocess.Popen:
    """Start the local-exec with a text pipe for its output; for tests that interrupt it.

    Terraform hands the provisioner one pipe for both stdout and stderr, so by default stderr goes
    to ``stdout`` too and the lines keep their order; ``separate_stderr`` gives it its own pipe.
    """
    return subprocess.Popen(
        local_exec.argv,
        env=local_exec_environment(local_exec, endpoint_url, region=region, extra_env=extra_env),
        cwd=local_exec.working_dir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if separate_stderr else subprocess.STDOUT,
        text=True,
        bufsize=1,
    )


def run_local_exec(local_exec: LocalExec, endpoint_url: str | None, extra_env: dict[str, str | None] | None = None,
                   stream: bool = False, *, region: str = "us-east-1", timeout: float | None = 300,
                   prefix: str = "", separate_stderr: bool = False) -> subprocess.CompletedProcess:
    """Run the local-exec as Terraform would, against ``endpoint_url``; returns its exit code and output.

    The output is in ``stdout`` (stderr merged into it, in order, as Terraform does; ``stderr`` is
    "") unless ``separate_stderr``. With ``stream=True`` each line is also written to our stdout
    (or stderr) as it comes, after ``prefix``, as ``terraform apply`` shows a provisioner's output.
    On ``timeout`` the process gets SIGTERM (the client then says how to follow the execution) and
    ``subprocess.TimeoutExpired`` is raised.
    """
    process = popen_local_exec(local_exec, endpoint_url, region=region, extra_env=extra_env,
                               separate_stderr=separate_stderr)
    captured: dict[str, list[str]] = {"stdout": [], "stderr": []}

    def pump(name: str, source: Any, sink: Any) -> None:
        for line in source:
            captured[name].append(line)
            if stream:
                sink.write(prefix + line)
                sink.flush()

    pumps = [threading.Thread(target=pump, args=("stdout", process.stdout, sys.stdout), daemon=True)]
    if separate_stderr:
        pumps.append(threading.Thread(target=pump, args=("stderr", process.stderr, sys.stderr), daemon=True))
    for thread in pumps:
        thread.start()
    try:
        returncode = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        for thread in pumps:
            thread.join(timeout=5)
        raise subprocess.TimeoutExpired(local_exec.argv, timeout or 0, "".join(captured["stdout"]),
                                        "".join(captured["stderr"])) from None
    for thread in pumps:
        thread.join()
    return subprocess.CompletedProcess(local_exec.argv, returncode, "".join(captured["stdout"]),
                                       "".join(captured["stderr"]))
