"""Diagnostic criteria: parsed from pack YAML, evaluated, and compiled to durable-rules JSON.

A criterion is written in a pack as a string or a group:

    criteria:
      all:
        - glucose >= 250            # a variable compared with a number (canonical unit)
        - 6.8 <= ph < 7.30          # chained comparisons split into two
        - polyuria                  # a finding that must be present
        - not fever                 # a finding that must be absent
        - sex == 'F'
        - any: [...]                # groups nest: all, any, none, at_least
        - at_least: {n: 2, of: [temperature > 38, heart_rate > 90, resp_rate > 20]}

A comparison on a variable the case does not report is false (the evidence is missing), so
`none:`/`not` of it is true. The same tree is evaluated here in Python (`holds`, used to
explain why a rule fired) and compiled for the durable-rules engine (`to_durable`), which is what
decides a case's label.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, Mapping, Union

from simulator.errors import ExpressionError

_OPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
_DURABLE = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", "!=": "$neq"}


@dataclass(frozen=True)
class Cond:
    var: str
    op: str
    value: float | str

    def __str__(self):
        return f"{self.var} {self.op} {self.value!r}" if isinstance(self.value, str) else f"{self.var} {self.op} {self.value:g}"


@dataclass(frozen=True)
class Has:
    finding: str

    def __str__(self):
        return self.finding


@dataclass(frozen=True)
class Not:
    item: "Node"

    def __str__(self):
        return f"not ({self.item})"


@dataclass(frozen=True)
class All:
    items: tuple["Node", ...]

    def __str__(self):
        return "(" + " and ".join(map(str, self.items)) + ")"


@dataclass(frozen=True)
class AnyOf:
    items: tuple["Node", ...]

    def __str__(self):
        return "(" + " or ".join(map(str, self.items)) + ")"


@dataclass(frozen=True)
class AtLeast:
    n: int
    items: tuple["Node", ...]

    def __str__(self):
        return f"at least {self.n} of (" + ", ".join(map(str, self.items)) + ")"


Node = Union[Cond, Has, Not, All, AnyOf, AtLeast]


# ---- parsing -----------------------------------------------------------------------------------
def parse(spec: Any, where: str = "criteria") -> Node:
    """Parse a YAML criteria spec into a tree; raises ExpressionError naming `where`."""
    if isinstance(spec, str):
        return _parse_text(spec, where)
    if isinstance(spec, list):
        return All(tuple(parse(s, f"{where}[{i}]") for i, s in enumerate(spec)))
    if isinstance(spec, dict) and len(spec) == 1:
        (key, body), = spec.items()
        if key in ("all", "any", "none"):
            if not isinstance(body, list) or not body:
                raise ExpressionError(f"{where}.{key}: expected a non-empty list of criteria")
            items = tuple(parse(s, f"{where}.{key}[{i}]") for i, s in enumerate(body))
            if key == "all":
                return All(items)
            if key == "any":
                return AnyOf(items)
            return All(tuple(Not(i) for i in items))
        if key == "at_least":
            if not isinstance(body, dict) or set(body) != {"n", "of"} or not isinstance(body["of"], list):
                raise ExpressionError(f"{where}.at_least: expected {{n: N, of: [criteria...]}}")
            items = tuple(parse(s, f"{where}.at_least.of[{i}]") for i, s in enumerate(body["of"]))
            n = body["n"]
            if not isinstance(n, int) or not 1 <= n <= len(items):
                raise ExpressionError(f"{where}.at_least.n: must be a whole number from 1 to {len(items)}")
            return AtLeast(n, items)
    raise ExpressionError(f"{where}: expected a criterion string or one of all/any/none/at_least, got {spec!r}")


def _parse_text(text: str, where: str) -> Node:
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ExpressionError(f"{where}: cannot parse {text!r} ({exc.msg}); write e.g. 'glucose >= 250' or 'fever'") from None
    return _from_ast(tree, text, where)


def _from_ast(node: ast.AST, text: str, where: str) -> Node:
    if isinstance(node, ast.Name):
        return Has(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return Not(_from_ast(node.operand, text, where))
    if isinstance(node, ast.BoolOp):
        items = tuple(_from_ast(v, text, where) for v in node.values)
        return All(items) if isinstance(node.op, ast.And) else AnyOf(items)
    if isinstance(node, ast.Compare):
        terms = [node.left, *node.comparators]
        parts = []
        for left, op, right in zip(terms, node.ops, terms[1:]):
            parts.append(_comparison(left, op, right, text, where))
        return parts[0] if len(parts) == 1 else All(tuple(parts))
    raise ExpressionError(f"{where}: {text!r} is not a criterion; write 'variable OP number', a finding "
                          "name, or 'not finding'")


def _constant(node: ast.AST):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        return -node.operand.value
    return None


def _comparison(left, op, right, text, where) -> Cond:
    sym = _OPS.get(type(op))
    if sym is None:
        raise ExpressionError(f"{where}: {text!r}: only < <= > >= == != are allowed")
    if isinstance(left, ast.Name) and _constant(right) is not None:
        return Cond(left.id, sym, _constant(right))
    if isinstance(right, ast.Name) and _constant(left) is not None:
        return Cond(right.id, _FLIP[sym], _constant(left))
    raise ExpressionError(f"{where}: {text!r}: compare one variable with one number, e.g. 'ph < 7.30' "
                          "(put arithmetic in a derived variable)")


# ---- inspection --------------------------------------------------------------------------------
def names(node: Node) -> tuple[set[str], set[str]]:
    """(variables, findings) a tree refers to."""
    variables, findings = set(), set()
    for leaf in leaves(node):
        if isinstance(leaf, Cond):
            variables.add(leaf.var)
        else:
            findings.add(leaf.finding)
    return variables, findings


def leaves(node: Node):
    if isinstance(node, (Cond, Has)):
        yield node
    elif isinstance(node, Not):
        yield from leaves(node.item)
    else:
        for i in node.items:
            yield from leaves(i)


def holds(node: Node, facts: Mapping[str, Any]) -> bool:
    """Evaluate in Python: numeric facts by variable id, findings present as True."""
    if isinstance(node, Cond):
        v = facts.get(node.var)
        if v is None:
            return False
        return _compare(v, node.op, node.value)
    if isinstance(node, Has):
        return bool(facts.get(node.finding))
    if isinstance(node, Not):
        return not holds(node.item, facts)
    if isinstance(node, All):
        return all(holds(i, facts) for i in node.items)
    if isinstance(node, AnyOf):
        return any(holds(i, facts) for i in node.items)
    return sum(holds(i, facts) for i in node.items) >= node.n


def possible(node: Node, known: Mapping[str, Any]) -> bool:
    """Whether a tree can still hold when only some facts are decided. `known` maps a variable to
    its value (None: not reported, so comparisons on it are false), a finding to True or False,
    and may give 'age' and 'sex'; every other name could turn out either way. False means no value
    of the undecided names makes the tree hold (a criterion hidden that the diagnosis needs).

    >>> t = parse({"all": [{"any": ["glucose >= 200", "diabetes"]}, "ph < 7.3"]})
    >>> possible(t, {"glucose": None}), possible(t, {"glucose": None, "diabetes": False})
    (True, False)
    """
    return _decided(node, known) is not False


def _decided(node: Node, known: Mapping[str, Any]) -> bool | None:
    """Three-valued (Kleene) evaluation: True or False when the known facts decide it, else None."""
    if isinstance(node, Cond):
        if node.var not in known:
            return None
        v = known[node.var]
        return False if v is None else _compare(v, node.op, node.value)
    if isinstance(node, Has):
        return bool(known[node.finding]) if node.finding in known else None
    if isinstance(node, Not):
        inner = _decided(node.item, known)
        return None if inner is None else not inner
    parts = [_decided(i, known) for i in node.items]
    yes, unknown = parts.count(True), parts.count(None)
    need = len(parts) if isinstance(node, All) else 1 if isinstance(node, AnyOf) else node.n
    if yes >= need:
        return True
    return None if yes + unknown >= need else False


def support(node: Node, facts: Mapping[str, Any]) -> float:
    """How much of a tree's positive evidence the facts show, 0-1: the share of the items of an
    `all` that hold (negated items and age/sex conditions are not evidence and do not count), the
    best item of an `any`, the best n items of an `at_least`. 1.0 does not mean the rule fires
    (a negated item may fail); 0.0 means nothing in the case points to it."""
    hit, total = _support(node, facts)
    return hit / total if total else 0.0


def _support(node: Node, facts) -> tuple[float, int]:
    if isinstance(node, Cond):
        if node.var in ("age", "sex"):
            return 0.0, 0
        return float(holds(node, facts)), 1
    if isinstance(node, Has):
        return float(bool(facts.get(node.finding))), 1
    if isinstance(node, Not):
        return 0.0, 0
    parts = [_support(i, facts) for i in node.items]
    parts = [p for p in parts if p[1]]
    if not parts:
        return 0.0, 0
    if isinstance(node, All):
        return sum(h / t for h, t in parts), len(parts)
    ratios = sorted((h / t for h, t in parts), reverse=True)
    if isinstance(node, AnyOf):
        return ratios[0], 1
    k = min(node.n, len(ratios))
    return sum(ratios[:k]), k


def _compare(v, op, x) -> bool:
    if op == "<": return v < x
    if op == "<=": return v <= x
    if op == ">": return v > x
    if op == ">=": return v >= x
    if op == "==": return v == x
    return v != x


def required_intervals(node: Node) -> dict[str, list[tuple[str, float]]]:
    """Numeric bounds that an `all` group's direct conditions put on each variable (for
    detecting contradictory criteria such as `glucose > 250` and `glucose < 100`)."""
    bounds: dict[str, list[tuple[str, float]]] = {}
    items = node.items if isinstance(node, All) else (node,)
    for it in items:
        if isinstance(it, Cond) and not isinstance(it.value, str):
            bounds.setdefault(it.var, []).append((it.op, float(it.value)))
        elif isinstance(it, All):
            for k, v in required_intervals(it).items():
                bounds.setdefault(k, []).extend(v)
    return bounds


def contradiction(node: Node) -> str | None:
    """A sentence describing why the `all` part of `node` can never hold, else None."""
    for var, conds in required_intervals(node).items():
        lo, lo_strict, hi, hi_strict = float("-inf"), False, float("inf"), False
        for op, x in conds:
            if op in (">", ">=") and (x > lo or (x == lo and op == ">")):
                lo, lo_strict = x, op == ">"
            if op in ("<", "<=") and (x < hi or (x == hi and op == "<")):
                hi, hi_strict = x, op == "<"
            if op == "==":
                lo = hi = x
        if lo > hi or (lo == hi and (lo_strict or hi_strict)):
            return f"{var} cannot be both {' and '.join(f'{o} {x:g}' for o, x in conds)}"
    return None


# ---- compilation to durable-rules --------------------------------------------------------------
def to_durable(node: Node, negate: bool = False) -> dict:
    """Compile to a durable-rules JSON condition on the fact `m`.

    Findings are asserted only when present, so absence is `$nex` (does not exist). Negation is
    pushed to the leaves (De Morgan); a negated comparison also holds when the variable is absent.
    """
    if isinstance(node, Not):
        return to_durable(node.item, not negate)
    if isinstance(node, Has):
        return {"$nex": {node.finding: 1}} if negate else {node.finding: True}
    if isinstance(node, Cond):
        if not negate:
            return _durable_cond(node.var, node.op, node.value)
        return {"$or": [{"$nex": {node.var: 1}}, _durable_cond(node.var, _NEGATE[node.op], node.value)]}
    if isinstance(node, AtLeast):
        return to_durable(_at_least_tree(node.n, node.items), negate)
    parts = [to_durable(i, negate) for i in node.items]
    if len(parts) == 1:
        return parts[0]
    use_and = isinstance(node, All) != negate
    return {"$and" if use_and else "$or": parts}


def _at_least_tree(n: int, items: tuple) -> Node:
    """`at least n of items` as and/or: item i and at least n-1 of the items after it, for some i.
    Listing every n-combination instead grows too large for durable-rules (it refuses a rule of 15
    two-item combinations, e.g. at least 2 of the 6 SOFA organs)."""
    if n == 1:
        return AnyOf(items) if len(items) > 1 else items[0]
    if len(items) == n:
        return All(items)
    return AnyOf(tuple(All((items[i], _at_least_tree(n - 1, items[i + 1:]))) for i in range(len(items) - n + 1)))


def _durable_cond(var, op, value) -> dict:
    if op == "==":
        return {var: value}
    return {_DURABLE[op]: {var: value}}
