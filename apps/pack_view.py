"""A rule pack as a person reads it, for the Packs page: each diagnosis's criteria as an indented
list in clinical words (names, clinical units, ≥ and ≤), its prior, differentials, supersessions,
first management steps (with the conditions that choose between them) and full references; and the pack's variables as table rows that fit a
page (long formulas and citations go to their own lists).

    criteria_markdown(sim.trees["I21.3"], sim.registry)
    # - ST elevation on ECG
    # - any of: chest pain, diaphoresis, dyspnea
    # - any of:
    #     - High-sensitivity troponin I > 34 ng/L
    #     - all of: sex = female, High-sensitivity troponin I > 16 ng/L
    diagnosis_markdown(sim, pack, dx)           # everything else about one diagnosis, as Markdown

Pure functions of the simulator's objects (no Streamlit), so they are tested directly. Numbers
in criteria are in the variable's canonical unit, as the rule engine compares them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simulator import criteria as C
from simulator.render import display_unit

OPERATORS = {">=": "≥", "<=": "≤", "==": "=", "!=": "≠", "<": "<", ">": ">"}
INLINE_WIDTH = 90  # a group whose items are all single conditions and fit this many characters stays on one line
SEX = {"F": "female", "M": "male"}


# ---- criteria -------------------------------------------------------------------------------------

def condition_text(node, reg) -> str:
    """One condition in clinical words: 'Potassium ≥ 6 mmol/L', 'no fever', 'sex = female'."""
    if isinstance(node, C.Has):
        finding = reg.findings.get(node.finding)
        return finding.name if finding else node.finding
    if isinstance(node, C.Not) and isinstance(node.item, C.Has):
        return f"no {condition_text(node.item, reg)}"
    if isinstance(node, C.Not):  # kept as written: a missing value satisfies "not (x < 5)", not "x >= 5"
        return f"not ({condition_text(node.item, reg)})"
    var = reg.variables.get(node.var)
    name = var.name if var else node.var
    if isinstance(node.value, str):
        return f"{name} {OPERATORS[node.op]} {SEX.get(node.value, node.value) if node.var == 'sex' else node.value}"
    unit = display_unit(var.unit) if var else ("years" if node.var == "age" else "")
    return f"{name} {OPERATORS[node.op]} {node.value:g} {unit}".rstrip()


def _single(node) -> bool:
    return isinstance(node, (C.Cond, C.Has)) or (isinstance(node, C.Not) and isinstance(node.item, (C.Cond, C.Has)))


def _heading(node) -> str:
    if isinstance(node, C.AtLeast):
        return f"at least {node.n} of"
    return "all of" if isinstance(node, C.All) else "any of"


def _lines(node, reg, depth: int) -> list[str]:
    pad = "    " * depth
    if _single(node):
        return [f"{pad}- {condition_text(node, reg)}"]
    if isinstance(node, C.Not):  # not (a group)
        return [f"{pad}- none of:", *(_lines(node.item, reg, depth + 1) if not isinstance(node.item, C.All)
                                      else [ln for i in node.item.items for ln in _lines(i, reg, depth + 1)])]
    items = node.items
    if all(_single(i) for i in items):
        inline = f"{_heading(node)}: " + ", ".join(condition_text(i, reg) for i in items)
        if len(inline) <= INLINE_WIDTH:
            return [f"{pad}- {inline}"]
    return [f"{pad}- {_heading(node)}:", *(ln for i in items for ln in _lines(i, reg, depth + 1))]


def criteria_markdown(tree, reg) -> str:
    """The criteria as a Markdown list: a top-level 'all of' (and any 'all of' directly inside
    it, such as a pack's `none:` list) becomes the list itself."""
    items, flat = [tree], []
    while items:
        node = items.pop(0)
        if isinstance(node, C.All):
            items[:0] = node.items
        else:
            flat.append(node)
    items = flat
    return "\n".join(ln for item in items for ln in _lines(item, reg, 0))


# ---- one diagnosis ----------------------------------------------------------------------------------

def reference_text(ref_id: str, pack, reg) -> str:
    return pack.references.get(ref_id) or reg.references.get(ref_id) or ref_id


def diagnosis_markdown(sim, pack, dx) -> str:
    """Synonyms, prior, criteria, what it supersedes, differentials, first-line management and
    references of one diagnosis, as Markdown sections."""
    reg = sim.registry

    def named(ids) -> str:
        return "; ".join(f"{i} {sim.diagnoses[i].name}" if i in sim.diagnoses else i for i in ids)

    prior = dx.prior
    parts = [f"**Synonyms:** {', '.join(dx.synonyms) or '—'}",
             f"**Prior:** weight {prior.weight:g} · age {prior.age.mean:g} ± {prior.age.sd:g} years · "
             f"{prior.female:.0%} female",
             "**Criteria** (all must hold; values in the canonical unit):", criteria_markdown(sim.trees[dx.id], reg)]
    if dx.supersedes:
        parts.append(f"**Supersedes:** {named(dx.supersedes)} (when both rules fire, this diagnosis is the label)")
    parts.append(f"**Differentials:** {named(dx.differentials) or '—'}")
    parts.append(management_markdown(dx.management, reg))
    refs = list(dict.fromkeys([*dx.references, *(m.ref for m in dx.management if m.ref)]))
    parts.append("**References:**\n" + "\n".join(f"- [{r}] {reference_text(r, pack, reg)}" for r in refs))
    return "\n\n".join(parts)


def management_markdown(steps, reg) -> str:
    """The first management step(s): one line for an unconditional step; with conditions, a list
    in order ('if ...:' then 'otherwise:'), since the first step whose condition holds is the
    answer for a case."""
    def step_text(m) -> str:
        also = f" (also accepted: {', '.join(m.synonyms)})" if m.synonyms else ""
        return f"**{m.first_line}**{also}" + (f" [{m.ref}]" if m.ref else "")

    if len(steps) == 1 and steps[0].when is None:
        return f"**First-line management:** {step_text(steps[0])}"
    lines = ["**First-line management** (the first step whose condition holds on the case):"]
    for m in steps:
        if m.when is None:
            lines.append(f"- otherwise: {step_text(m)}")
            continue
        condition = criteria_markdown(C.parse(m.when, "management.when"), reg).splitlines()
        head = f"- {step_text(m)}, if "
        if sum(not ln.startswith(" ") for ln in condition) == 1:  # one condition, perhaps a group
            lines += [head + condition[0][2:], *condition[1:]]
        else:
            lines += [head + "all of:", *("    " + ln for ln in condition)]
    return "\n".join(lines)


def diagnosis_rows(pack) -> list[dict[str, Any]]:
    """The pack's diagnoses as a short overview table (details go to `diagnosis_markdown`)."""
    return [{"id": d.id, "name": d.name, "prior weight": d.prior.weight,
             "age": f"{d.prior.age.mean:g} ± {d.prior.age.sd:g}", "female": f"{d.prior.female:.0%}",
             "differentials": ", ".join(d.differentials)} for d in pack.diagnoses]


# ---- variables --------------------------------------------------------------------------------------

def interval_text(var) -> str:
    by_sex = var.normal_by_sex()
    if len({tuple(v) for v in by_sex.values()}) == 1:
        lo, hi = next(iter(by_sex.values()))
        return f"{lo:g}–{hi:g}"
    return "; ".join(f"{s} {lo:g}–{hi:g}" for s, (lo, hi) in by_sex.items())


def variable_rows(reg, used: set[str], pack) -> list[dict[str, Any]]:
    """One row per variable the pack uses, in registry order, with the units a person writes
    (`also accepted` lists each other spelling once) and the UCUM code in its own column."""
    rows = []
    for vid, var in reg.variables.items():
        if vid not in used:
            continue
        unit = display_unit(var.unit)
        others = [u for u in dict.fromkeys(display_unit(u) for u in var.units) if u and u != unit]
        rows.append({"name": var.name, "id": vid, "unit": unit, "UCUM": var.unit, "also accepted": ", ".join(others),
                     "hard limits": f"{var.limits[0]:g}–{var.limits[1]:g}", "reference interval": interval_text(var),
                     "LOINC": var.loinc or "", "computed": bool(var.derive), "from this pack": vid in pack.variables,
                     "source": var.ref})
    return rows


def short_path(path) -> str:
    """`path` relative to the current folder when it lies inside it (knowledge/cardiology.yaml),
    else as given."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
