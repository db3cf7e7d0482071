"""Calculator vignettes: for every calculator of the kit, a seeded, plausible patient whose note
carries all of the calculator's inputs, a question, the answer computed by the calculator and the
call that a solver should write. No human label is involved: the simulator knows the truth.

    from simulator import Simulator
    from simulator.vignettes import calculator_case, read_inputs, render_vignette
    sim = Simulator.load()
    cc = calculator_case(sim, "has_bled", seed=7)   # CalculatorCase
    note = render_vignette(sim, cc)                 # Note in one of the five styles
    cc.question                                     # "What is the patient's HAS-BLED score?"
    cc.answer                                       # computed by simulator.calculators
    demonstration(sim, cc, note)                    # 'has_bled(age=71, stroke_history=yes, ...)'
    read_inputs(sim, "has_bled", note.text, cc.question) == cc.inputs    # the round trip

From the shell: `azmed simulate --calculator has_bled --n 3 --format note --reveal`.

Data: `knowledge/calculators/inputs.yaml` (the variables and findings calculators need, in the
registry's schema) and `knowledge/calculators/vignettes.yaml` (how each input is drawn and written,
and per calculator its question, population and fitting pack diagnoses); `schema.py` checks them.
Modules: `schema` (the data's schema and checks), `kit` (the extended simulator and the spec, once
per simulator), `sampling` (drawing a case), `wording` (the note), `reading` (inputs back from a
note and its question).

Limits: adults only; prescriptions are written drug, dose, unit, route, frequency; the note's
style is one of simulator.notes.STYLES; see each module for its own.
"""

from __future__ import annotations

from simulator.vignettes.reading import read_inputs
from simulator.vignettes.sampling import CalculatorCase, calculator_case
from simulator.vignettes.wording import answer_leaks, render_vignette

__all__ = ["CalculatorCase", "answer_leaks", "calculator_case", "demonstration", "read_inputs", "render_vignette"]


def demonstration(sim, cc: CalculatorCase, note=None) -> str:
    """The calculator call that answers vignette `cc`, with numbers in the units `note` used."""
    from simulator import calculators, tools
    from simulator.vignettes.kit import Kit

    return tools.demo_call(calculators.get(cc.calculator), cc.inputs, note.units if note is not None else None,
                           registry=Kit.of(sim).sim.registry)
