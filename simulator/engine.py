"""The diagnostic rule engine: pack criteria compiled into a durable-rules ruleset.

The engine, not the generator, decides a case's label. Each diagnosis becomes one rule whose
condition is its criteria compiled to durable-rules JSON (`simulator.criteria.to_durable`).
A case is asserted as a *fact* (an event would be consumed by the first matching rule; a fact
is seen by every rule), the fired rules are collected, and the case's state is deleted.

We drive durable-rules' C engine (`durable_rules_engine`, the extension module that
`durable.engine.Host` wraps) directly: the Python `Host` starts a timer thread that can dispatch
actions concurrently with the caller, which makes collecting fired rules racy; it also costs a
closure per action. Rulesets are process-global in durable-rules, so each Engine gets a unique
ruleset name. One Engine serves one thread at a time (a lock guards it).

Label resolution (`Engine.label`): of the fired diagnoses, drop those that another fired
diagnosis `supersedes`; exactly one left is the label, none is "no diagnosis", several is
"ambiguous".
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass
from typing import Any, Mapping

import durable_rules_engine as dre

from simulator import criteria as C

_ENGINE_IDS = itertools.count()
_NOT_HANDLED = 1


class RuleCompileError(Exception):
    """durable-rules refused a ruleset; `diagnosis` is the one whose rule it cannot compile."""

    def __init__(self, diagnosis: str | None, cause: Exception):
        self.diagnosis = diagnosis
        super().__init__(f"durable-rules cannot compile the criteria of {diagnosis or 'a diagnosis'} ({cause}); "
                         "they are probably too large (e.g. an at_least over many items): split or simplify them")


@dataclass(frozen=True)
class Outcome:
    """What the engine concluded about one case."""

    label: str | None
    fired: tuple[str, ...]
    reason: str  # "ok", "no-rule", "ambiguous"

    @property
    def ok(self) -> bool:
        return self.label is not None


class Engine:
    def __init__(self, trees: Mapping[str, C.Node], supersedes: Mapping[str, set[str]] | None = None):
        self.trees = dict(trees)
        self.supersedes = {k: set(v) for k, v in (supersedes or {}).items()}
        self.name = f"azmed_dx_{next(_ENGINE_IDS)}"
        self._rule_to_dx: dict[str, str] = {}
        rules = {}
        for i, (dx, tree) in enumerate(sorted(self.trees.items())):
            rule = f"r{i}"
            self._rule_to_dx[rule] = dx
            rules[rule] = {"all": [{"m": C.to_durable(tree)}]}
        self._handle = None
        try:
            self._handle = dre.create_ruleset(self.name, json.dumps(rules))
        except Exception as exc:  # name the diagnosis whose rule durable-rules cannot compile
            raise RuleCompileError(self._culprit(rules), exc) from None
        self._sids = itertools.count()
        self._lock = threading.Lock()

    def fired(self, facts: Mapping[str, Any]) -> tuple[str, ...]:
        """Diagnosis ids whose rule fires on `facts` (variables, age, sex, present findings).

        Every case is asserted as a fact in one state ("sid" 0) with a unique "id", its actions
        are collected, then the same fact is retracted. durable-rules 2.0.28's `delete_state`
        reads an uninitialised field of the state node and corrupts the heap once a ruleset holds
        a few dozen rules, so states are never deleted per case.
        """
        with self._lock:
            payload = dict(facts)
            payload["sid"] = "0"
            payload["id"] = next(self._sids)
            text = json.dumps(payload)
            result = dre.assert_fact(self._handle, text)
            out = set()
            try:
                if result[0] == _NOT_HANDLED:
                    return ()
                started = dre.start_action_for_state(self._handle, result[1])
                action = started[1] if started else None  # (state, action message, ...)
                while action:
                    # one rule can fire more than once for one fact (two branches of an `any`)
                    out.add(self._rule_to_dx[next(iter(json.loads(action)))])
                    action = dre.complete_and_start_action(self._handle, result[1])
            finally:
                dre.retract_fact(self._handle, text)
            return tuple(sorted(out))

    def held_facts(self) -> int:
        """Facts the engine's state holds now: 0 between calls, since every case is retracted
        once its rules have fired (the state does not grow over a run)."""
        if self._handle is None:
            return 0
        with self._lock:
            return len(json.loads(dre.get_facts(self._handle, "0")))

    def _culprit(self, rules: dict) -> str | None:
        for rule, body in rules.items():
            try:
                handle = dre.create_ruleset(f"{self.name}_probe_{rule}", json.dumps({rule: body}))
            except Exception:
                return self._rule_to_dx[rule]
            dre.delete_ruleset(handle)
        return None

    def resolve(self, fired: tuple[str, ...]) -> Outcome:
        if not fired:
            return Outcome(None, fired, "no-rule")
        beaten = set()
        for dx in fired:
            beaten |= self.supersedes.get(dx, set()) & set(fired)
        left = [d for d in fired if d not in beaten]
        if len(left) == 1:
            return Outcome(left[0], fired, "ok")
        return Outcome(None, fired, "ambiguous")

    def label(self, facts: Mapping[str, Any]) -> Outcome:
        return self.resolve(self.fired(facts))

    def close(self) -> None:
        if self._handle is not None:
            dre.delete_ruleset(self._handle)
            self._handle = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
