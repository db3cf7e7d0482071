"""The AZ-Med clinical case simulator (no torch).

A seeded hidden diagnosis becomes a plausible patient; the durable-rules engine re-derives the
label from the findings; proposed cases are validated the same way; answers are verified
against the engine's label or a calculator's value.

    from simulator import Simulator
    sim = Simulator.load()                      # every pack in knowledge/
    case = sim.generate(seed=7)                 # a Case; case.label is hidden from solvers
    result = sim.check({"age": 60, "sex": "M", "measurements": {...}, "symptoms": [...]})

Modules: `variables` (registry, units), `expressions` (safe arithmetic for criteria and derived
values), `physiology` (couplings between values: Winter's formula, Henderson-Hasselbalch, ...),
`packs` (YAML rule packs, pydantic schema), `engine` (durable-rules), `generator`, `validation`
(proposed cases), `options` (fair multiple-choice distractors), `verify` (answers),
`calculators`, `report`, `notes` (clinical notes), `spec` (case specifications: the short text a
proposer writes, made into a case and note; docs/specifications.md), `tools` (calculator calls),
`vignettes` (for every calculator, a patient who carries all its inputs; docs/calculator-vignettes.md).
"""

from simulator.errors import PackError, SimulatorError, UnitError

__all__ = ["PackError", "SimulatorError", "UnitError", "Simulator"]


def __getattr__(name):  # lazy: keep `import simulator` cheap
    if name == "Simulator":
        from simulator.core import Simulator

        return Simulator
    raise AttributeError(name)
