"""What every vignette operation shares, built once per simulator: the simulator extended with the
calculators' inputs (`knowledge/calculators/inputs.yaml`), the vignette spec, the vignettes' own
couplings (the registry's physiology couplings are the simulator's), the fitting pack diagnoses of
each calculator and the question text.

    kit = Kit.of(sim)           # cached per simulator
    kit.sim.registry            # shared registry + pack entries + calculator inputs
    kit.question(calc, details) # "What is the patient's target weight for a BMI of 22 kg/m2 in kg?"

Limits: the extended simulator shares the packs, engine and rules of `sim`; its extra findings
and variables are never used by a rule, so labels are unchanged.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from simulator.calculators import Calculator, Input
from simulator.calculators.base import fmt
from simulator.calculators.dates import format_date
from simulator.errors import SimulatorError
from simulator.expressions import Expression
from simulator.vignettes.schema import check_spec, load_spec

ANY_SETTING = "any"


def option_key(inp: Input, key: Any) -> Any:
    """The option of graded input `inp` written `key` in the spec ('4' -> 4, 'elective')."""
    for option in inp.options:
        if str(option) == str(key):
            return option
    raise SimulatorError(f"{inp.name}: {key!r} is not one of its options ({', '.join(map(str, inp.options))}); "
                         "fix knowledge/calculators/vignettes.yaml")


def input_text(inp: Input, value: Any) -> str:
    """A value as a question writes it: a date MM/DD/YYYY, an option's label, a number."""
    if isinstance(value, _dt.date):
        return format_date(value)
    if inp.kind == "choice":
        return str(inp.options[value])
    return fmt(value)


class Kit:
    """The extended simulator and the spec; use `Kit.of(sim)`."""

    def __init__(self, sim):
        extra, spec = load_spec()
        self.base = sim
        self.sim = sim.extended(extra)
        check_spec(spec, self.sim.registry)
        self.spec = spec
        self._couplings: dict[str, tuple[Expression, float]] = {
            c.target: (Expression.parse(c.expr), c.sd) for c in spec.couplings}
        self._settings = {}
        for cid, cs in spec.calculators.items():
            wanted = list(sim.diagnoses) if ANY_SETTING in cs.settings else cs.settings
            self._settings[cid] = [d for d in wanted if d in sim.diagnoses]

    @classmethod
    def of(cls, sim) -> "Kit":
        """The kit of `sim`, built on first use and kept while `sim` lives."""
        return sim.memo("vignette-kit", cls)

    def coupling(self, vid: str) -> tuple[Expression, float] | None:
        """The vignettes' own coupling of `vid` (expected value, noise), if any."""
        return self._couplings.get(vid)

    def coupled(self, vid: str) -> bool:
        """True when `vid` follows other values (a vignette or a registry physiology coupling)."""
        return vid in self._couplings or bool(self.sim.physiology.inputs_of(vid))

    def settings(self, calc_id: str) -> list[str]:
        """Diagnoses of the loaded packs whose cases fit calculator `calc_id`."""
        return self._settings.get(calc_id, [])

    def question_inputs(self, calc: Calculator) -> list[Input]:
        return [i for i in calc.inputs if self.spec.wording_of(i.name).question]

    def question(self, calc: Calculator, details: dict[str, Any]) -> str:
        """'What is the patient's <quantity> in <unit>?' with the question's inputs filled in."""
        cs = self.spec.calculators[calc.id]
        filled = {i.name: input_text(i, details[i.name]) for i in self.question_inputs(calc) if i.name in details}
        quantity = cs.quantity.format(**filled)
        template = cs.question or ("What is the patient's {quantity} in {unit}?" if cs.unit
                                   else "What is the patient's {quantity}?")
        return template.format(quantity=quantity, unit=cs.unit or "")
