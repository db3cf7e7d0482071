"""The words of case specifications, taken from the loaded packs, and the text a prompt shows.

Everything a specification may name comes from the simulator it is written for, so a pack added
as a file extends the vocabulary with no code change:
- diagnoses by id, name or synonym (the verifier's `DiagnosisIndex`);
- calculators by id, name or alias (`simulator.calculators.get`), limited to those a case can
  carry (`Words.feeding`: every required input measured in the cases of some pack diagnosis, at
  least one of them a measured value, not only age and sex);
- findings and variables by id, name or alias (the registry and the notes' lexicon);
- note styles (`simulator.notes.STYLES`) and their usual names ("progress note", "GP letter");
- units: only those that change the number (mmol/L for glucose, not mEq/L for sodium);
- thresholds: every comparison of a variable with a number in any diagnosis's criteria, with
  the diagnosis it belongs to and whether meeting it counts for or against that diagnosis.

    words = Words.of(sim)                   # built once per simulator
    words.diagnosis("DKA")                  # 'E11.10', or a Rejection with close names
    print(vocabulary(sim, "diagnosis"))     # what a proposer's prompt lists (about 1,000 characters)

Limits: a calculator whose inputs no pack case carries (QTc, BMI, Child-Pugh ...) is not in the
vocabulary until a vignette source makes its patients (see `simulator.spec.instantiate`).
"""

from __future__ import annotations

import difflib
import importlib
import random
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Mapping, Sequence

from simulator import calculators
from simulator import criteria as C
from simulator.case import Rejection
from simulator.notes import STYLES
from simulator.notes.draft import MAX_SHOWN, mid_sentence
from simulator.notes.lexicon import lexicon
from simulator.unit_spelling import unit_spelling
from simulator.verify import normalise

LABEL_LENGTH = 24  # longer display names are written as their first short alias in canonical text
SEVERITY_BANDS = {"mild": (0.0, 1 / 3), "moderate": (1 / 3, 2 / 3), "severe": (2 / 3, 1.0)}
SEVERITY_WORDS = {"mild": "mild", "low": "mild", "minor": "mild", "moderate": "moderate", "medium": "moderate",
                  "intermediate": "moderate", "severe": "severe", "high": "severe", "critical": "severe",
                  "life threatening": "severe"}
STYLE_NAMES = {
    "triage": ("triage", "triage note", "ed triage", "ed triage note", "emergency triage", "ed note", "er note"),
    "admission": ("admission", "admission note", "history and physical", "h and p", "h p", "admission h p",
                  "admission history and physical", "clerking"),
    "ward_round": ("ward round", "ward round note", "progress note", "soap", "soap note", "ward note", "ward"),
    "referral": ("referral", "referral letter", "gp letter", "letter", "gp referral", "referral note"),
    "lab_report": ("lab report", "lab", "labs", "laboratory report", "laboratory", "results", "lab results"),
}


@dataclass(frozen=True)
class Threshold:
    """One comparison of a variable with a number in a diagnosis's criteria. `meets` is the truth
    value of the comparison under which it counts towards the diagnosis (False under a `not`)."""

    diagnosis: str
    cond: C.Cond
    meets: bool


def leaves_with_polarity(node, positive: bool = True):
    """(leaf, positive) for every comparison and finding of a criteria tree; `positive` is False
    under an odd number of `not`s (the leaf then counts against the diagnosis)."""
    if isinstance(node, C.Not):
        yield from leaves_with_polarity(node.item, not positive)
    elif isinstance(node, (C.Cond, C.Has)):
        yield node, positive
    else:
        for i in node.items:
            yield from leaves_with_polarity(i, positive)


def suggest(text: str, options) -> str:
    """'; did you mean 'x'?' for the closest option, or ''."""
    close = difflib.get_close_matches(normalise(text), list(options), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


VIGNETTE_SOURCE = ("simulator.vignettes", "calculator_case")


def vignette_source() -> Any:
    """`calculator_case(sim, calculator_id, seed)` of simulator.vignettes when installed, else None."""
    module_name, function = VIGNETTE_SOURCE
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return getattr(module, function, None)



class Words:
    """The vocabulary of one simulator (see the module docstring)."""

    def __init__(self, sim):
        self.sim = sim
        self.reg = sim.registry
        self.lex = lexicon(sim)

    @classmethod
    def of(cls, sim) -> "Words":
        return sim.memo("spec-words", cls)

    # ---- what cases of a diagnosis show ----------------------------------------------------------
    def measured(self, dx: str) -> set[str]:
        """Variables every generated case of `dx` reports (sampled and derived)."""
        plan = self.sim.plan(dx)
        return set(plan.sampled) | {v for v, _ in plan.derived}

    def findings_shown(self, dx: str) -> set[str]:
        """Findings a case of `dx` may show: its presentation, its pack's background, and findings
        that physiology couplings tie to values the case reports (fever with temperature)."""
        d = self.sim.diagnoses[dx]
        out = {f for f, p in {**d.presentation.symptoms, **d.presentation.history}.items() if p > 0}
        out |= {f for f, p in self.sim.packs[self.sim.pack_of[dx]].background.items() if p > 0}
        measured = self.measured(dx)
        out |= {c.spec.finding for c in self.sim.physiology.findings if c.variables & measured}
        return out

    def criteria_names(self, dx: str) -> tuple[set[str], set[str]]:
        """(variables, findings) the criteria of `dx` refer to (age and sex left out)."""
        variables, findings = C.names(self.sim.trees[dx])
        return variables - {"age", "sex"}, findings

    # ---- calculators -----------------------------------------------------------------------------
    @cached_property
    def calculators(self) -> list[str]:
        """Calculator ids a calculation specification may name: those pack cases can carry, and
        every calculator of the kit when calculator vignettes are installed."""
        return sorted(calculators.CALCULATORS) if vignette_source() is not None else sorted(self.feeding)

    @cached_property
    def feeding(self) -> dict[str, list[str]]:
        """Calculator id -> the diagnoses whose cases carry every required input of it (at least
        one a measured value), for calculators with a numeric answer."""
        out: dict[str, list[str]] = {}
        measured = {dx: self.measured(dx) for dx in self.sim.diagnoses}
        for c in calculators.CALCULATORS.values():
            if c.output != "number" or not c.required:
                continue
            values = [n for n in c.required if n not in ("age", "sex")]
            dxs = [dx for dx in self.sim.diagnoses if values and set(values) <= measured[dx]]
            if dxs:
                out[c.id] = dxs
        return out

    # ---- thresholds and units --------------------------------------------------------------------
    @cached_property
    def thresholds(self) -> dict[str, list[Threshold]]:
        """Variable id -> every numeric comparison of it in any diagnosis's criteria."""
        out: dict[str, list[Threshold]] = {}
        for dx, tree in sorted(self.sim.trees.items()):
            for leaf, positive in leaves_with_polarity(tree):
                if isinstance(leaf, C.Cond) and leaf.var in self.reg.variables and leaf.op not in ("==", "!=") \
                        and not isinstance(leaf.value, str):
                    out.setdefault(leaf.var, []).append(Threshold(dx, leaf, positive))
        return out

    def real_units(self, vid: str) -> dict[str, str]:
        """Units other than the canonical one that change the number and can be written, one per
        conversion: {unit as accepted: its spelling} (glucose: {'mmol/L': 'mmol/L'}; sodium has
        none, since mEq/L is the same number)."""
        var = self.reg.variables[vid]
        out, seen = {}, {self._conversion(vid, var.unit)}
        for unit in var.units:
            spelling, key = unit_spelling(var, unit), self._conversion(vid, unit)
            probe = self._probes(vid)[0]
            if spelling is None or key in seen or abs(var.from_canonical(probe, unit)) >= MAX_SHOWN > abs(probe):
                continue  # not writable, the same number under another name, or absurd (weight in g)
            seen.add(key)
            out[unit] = spelling
        return out

    def unit(self, vid: str, text: str) -> str | None:
        """The unit of `vid` that `text` spells: the canonical unit when it is the same number
        (mEq/L for sodium), the first accepted unit of the same conversion (umol/L for µmol/L),
        or None when `vid` does not accept it."""
        from simulator.variables import unit_key

        var = self.reg.variables[vid]
        want = unit_key(text)
        for unit in var.accepted_units():
            if want in (unit_key(unit), unit_key(unit_spelling(var, unit) or unit)):
                key = self._conversion(vid, unit)
                if key == self._conversion(vid, var.unit):
                    return var.unit
                return next((u for u in self.real_units(vid) if self._conversion(vid, u) == key), unit)
        return None

    def _probes(self, vid: str) -> tuple[float, float]:
        lo, hi = self.reg.variables[vid].normal_for("M")
        return (lo + hi) / 2 or 1.0, 2 * hi + 1

    def _conversion(self, vid: str, unit: str) -> tuple[float, float]:
        var = self.reg.variables[vid]
        return tuple(round(var.to_canonical(p, unit), 9) for p in self._probes(vid))

    # ---- lookups ---------------------------------------------------------------------------------
    def diagnosis(self, text: str) -> str | Rejection:
        """The diagnosis an id, name or synonym names ('E11.10', 'DKA', 'E11.10 Diabetic
        ketoacidosis'), else Rejection('unknown-diagnosis')."""
        index = self.sim.diagnosis_index
        dx = text if text in self.sim.diagnoses else index.lookup(text)
        if dx is None:
            found = index.mentions(text)
            dx = found[0] if len(found) == 1 else None
        if dx is None:
            return Rejection("unknown-diagnosis", f"'{text}' is not a diagnosis of the packs"
                             f"{suggest(text, index.names)}; write a name, synonym or ICD-10 id")
        return dx

    def calculator(self, text: str) -> str | Rejection:
        """The calculator an id, name or alias names, if a case can carry its inputs."""
        try:
            cid = calculators.get(text).id
        except calculators.CalculatorInputError:
            names = {normalise(n): c.id for c in calculators.CALCULATORS.values() for n in (c.id, c.name)}
            return Rejection("unknown-calculator", f"'{text}' is not a calculator of the kit{suggest(text, names)}; "
                             f"write one of {', '.join(self.calculators)}")
        return cid

    def name(self, text: str) -> str | None:
        """The finding or variable id `text` names (registry names and aliases, and the notes'
        forms: 'hypertension' for 'history of hypertension'), else None."""
        t = text.strip().strip("'\"`*").strip()
        return self.reg.resolve(t) or self.lex.resolve(t) or self.reg.resolve(t.replace(" ", "_"))

    def label(self, target: str) -> str:
        """How a finding or variable is written in canonical text: its display name as written
        mid-sentence ('potassium', 'arterial pH'), or its first short alias when the name is long
        ('FEV1/FVC', 'eGFR'), whichever names it back; else its id."""
        item = self.reg.findings.get(target) or self.reg.variables.get(target)
        if item is None:
            return target
        names = [mid_sentence(item.name)] if len(item.name) <= LABEL_LENGTH else []
        names += [a for a in item.aliases if len(a) <= LABEL_LENGTH] + [mid_sentence(item.name)]
        return next((n for n in names if self.name(n) == target), target)

    def style(self, text: str) -> str | None:
        key = " ".join(w for w in normalise(text.replace("&", " and ")).split() if w not in ("a", "an", "the", "as", "style"))
        for style, names in STYLE_NAMES.items():
            if key == style.replace("_", " ") or key in names:
                return style
        return None


# ---- the text a proposer's prompt shows ---------------------------------------------------------

LISTED = {"diagnosis": "diagnosis: one of ", "calculation": "calculator: one of "}


def vocabulary(sim, kind: str = "diagnosis", rng: random.Random | None = None, names: int = 8,
               only_listed: bool = False, weights: Mapping[str, float] | None = None) -> str:
    """The specification format for a prompt: each key, what it takes and a few examples.
    `names` diagnoses are listed (sampled with `rng`, else the first by id) and the text says
    that any other diagnosis of the packs may be written too; for `kind="calculation"` as many
    calculator ids are listed the same way. With `only_listed` the first line offers only the
    listed ones ("diagnosis: one of A, B, ..."; `listed_names` reads them back): a guided
    proposer chooses among them (`simulator.spec.guide.SpecGuide`), so each prompt's sample
    steers it to other diagnoses, as Absolute Zero's sampled references do. `weights` (by
    diagnosis id or calculator id; 1 when absent) make the sample weighted, without replacement:
    an environment lists what was proposed least more often."""
    words = Words.of(sim)
    ids = sorted(sim.diagnoses)
    shown = _sample(ids, names, rng, weights)
    dx_names = ", ".join(sim.diagnoses[d].name for d in shown)
    lines = ["Write a case specification, one 'key: value' per line:"]
    if kind == "calculation":
        calcs = words.calculators
        listed = _sample(calcs, names, rng, weights)
        if only_listed:
            lines.append(LISTED[kind] + ", ".join(listed))
        else:
            lines.append(f"calculator: any calculator id, e.g. {', '.join(listed)}")
            lines.append(f"diagnosis: optional, a diagnosis whose patients carry its inputs, e.g. {dx_names}")
    elif only_listed:
        lines.append(LISTED[kind] + dx_names)
    else:
        lines.append(f"diagnosis: any diagnosis of the packs (name, synonym or ICD-10 id), e.g. {dx_names}")
    lines += ["severity: mild, moderate or severe (or 0-1)", "age: 18-105", "sex: M or F",
              "twist: 1 to 3 lines, each one of",
              f"  add <finding or comorbidity>, e.g. {_examples(sim, words, shown, 'add')}; or add confounder, "
              "add comorbidity",
              f"  hide <finding or value the case shows>, e.g. {_examples(sim, words, shown, 'hide')}; or hide give-away",
              f"  units <value> <unit>, e.g. {_examples(sim, words, shown, 'units')}",
              f"  push <value> toward threshold (or short of threshold), e.g. push {_examples(sim, words, shown, 'push', 1)}"
              " toward threshold",
              f"  style {' | '.join(STYLES)}"]
    return "\n".join(lines)



def _sample(ids: Sequence[str], k: int, rng: random.Random | None, weights: Mapping[str, float] | None) -> list[str]:
    """`k` of `ids`: the first without `rng`; a uniform sample; or, with `weights`, a weighted
    sample without replacement (each id's key u ** (1 / w), the k largest: Efraimidis and
    Spirakis, Inf. Process. Lett. 2006).

    >>> _sample(["a", "b", "c"], 2, None, None)
    ['a', 'b']
    >>> _sample(["a", "b", "c"], 2, random.Random(0), {"a": 1e-9, "b": 1e-9})[0]  # c, whatever the draw
    'c'
    """
    k = min(k, len(ids))
    if rng is None:
        return list(ids[:k])
    if not weights:
        return rng.sample(list(ids), k)
    keys = {i: rng.random() ** (1.0 / max(weights.get(i, 1.0), 1e-12)) for i in ids}
    return sorted(ids, key=lambda i: -keys[i])[:k]


def listed_names(prompt: str, kind: str = "diagnosis") -> list[str] | None:
    """The diagnosis names (or calculator ids) a `vocabulary(..., only_listed=True)` prompt
    offers, read back from its text; None when the prompt offers any.

    >>> listed_names("Write ...\\ndiagnosis: one of Gout, Asthma\\nseverity: ...")
    ['Gout', 'Asthma']
    """
    head = LISTED[kind]
    for line in prompt.splitlines():
        if line.startswith(head):
            return [n.strip() for n in line[len(head):].split(", ") if n.strip()]
    return None


def _examples(sim, words: Words, dxs: list[str], what: str, k: int = 2) -> str:
    """A few example arguments for one twist, taken from the listed diagnoses' own words."""
    out: list[str] = []
    for dx in dxs:
        d = sim.diagnoses[dx]
        variables, findings = words.criteria_names(dx)
        if what == "add":
            pool = [f for o in d.differentials for f in sorted(words.criteria_names(o)[1])
                    if f not in findings and words.lex.finding_phrases(f)]
            out += [f"add {words.label(f).lower()}" for f in pool[:1]]
        elif what == "hide":
            out += [f"hide {words.label(f).lower()}" for f in sorted(findings & words.findings_shown(dx))[:1]]
        elif what == "units":
            for v in sorted(variables & words.measured(dx)):
                real = words.real_units(v)
                if real and not sim.registry.variables[v].derive:
                    out.append(f"units {words.label(v).lower()} {next(iter(real.values()))}")
                    break
        else:
            out += [words.label(v).lower() for v in sorted(variables & words.measured(dx))[:1]]
        out = list(dict.fromkeys(out))
        if len(out) >= k:
            break
    return ", ".join(out[:k]) or "-"
