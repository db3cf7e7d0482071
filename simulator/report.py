"""Pack report: how each diagnosis behaves when cases are generated from it.

Per diagnosis: cases generated, acceptance rate (accepted cases / draws: low means the
presentation often fails its own criteria or fires another rule), share of shown values outside
their reference intervals, engine agreement on a round trip (the case written as JSON, read back
through proposal validation, must get the same label from the engine), label balance (share of
the diagnosis when cases are drawn by prior from its pack, against its prior weight share),
realism (the share of cases that break each physiology coupling, simulator/physiology.py, the
diagnosis's declared departures excepted) and how often each of its management steps is the
first step.

    azmed packs report --pack cardiology --n 200
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import asdict, dataclass, field

from simulator.case import Rejection


@dataclass
class DiagnosisReport:
    pack: str
    id: str
    name: str
    cases: int
    acceptance: float
    abnormal_share: float
    engine_agreement: float
    label_share: float
    prior_share: float
    breaks: float = 0.0                                          # share breaking any coupling
    coupling_breaks: dict[str, float] = field(default_factory=dict)  # share breaking each one
    step_shares: list[float] = field(default_factory=list)      # share of cases per management step


def pack_report(sim, pack: str = "all", n: int = 200, seed: int = 0) -> list[DiagnosisReport]:
    rows = []
    packs = sorted(sim.packs) if pack in (None, "all") else [pack]
    for pk in packs:
        p = sim.packs[pk]
        total_w = sum(d.prior.weight for d in p.diagnoses)
        rng = random.Random(seed)
        balance = Counter(sim.choose_diagnosis(rng, pk) for _ in range(max(200, n * len(p.diagnoses))))
        nb = sum(balance.values())
        for d in p.diagnoses:
            draws = agree = abnormal = shown = broken = 0
            per_coupling, steps = Counter(), Counter()
            for i in range(n):
                case, k = sim.generate_counted(seed + i, diagnosis=d.id)
                draws += k
                for vid, v in case.values.items():
                    shown += 1
                    abnormal += sim.registry.variables[vid].is_abnormal(v, case.sex)
                breaks = {b.coupling for b in sim.physiology_breaks(case, d.id)}
                per_coupling.update(breaks)
                broken += bool(breaks)
                steps[sim.management_step(case)[0]] += 1
                back = sim.check(case.to_json(sim.registry))
                agree += (not isinstance(back, Rejection)) and back.label == d.id
            rows.append(DiagnosisReport(pk, d.id, d.name, n, n / draws, abnormal / max(shown, 1), agree / n,
                                        balance[d.id] / nb, d.prior.weight / total_w, broken / n,
                                        {c: per_coupling[c] / n for c in sim.physiology.ids},
                                        [steps[j] / n for j in range(len(d.management))]))
    return rows


def format_report(rows: list[DiagnosisReport]) -> str:
    head = (f"{'pack':<20} {'id':<8} {'diagnosis':<44} {'cases':>5} {'accept':>7} {'abnormal':>8} {'engine':>7} "
            f"{'share':>6} {'prior':>6} {'breaks':>6}  steps")
    lines = [head, "-" * len(head)]
    for r in rows:
        steps = "/".join(f"{s:.0%}" for s in r.step_shares)
        lines.append(f"{r.pack:<20} {r.id:<8} {r.name[:44]:<44} {r.cases:>5} {r.acceptance:>7.1%} {r.abnormal_share:>8.1%} "
                     f"{r.engine_agreement:>7.1%} {r.label_share:>6.1%} {r.prior_share:>6.1%} {r.breaks:>6.1%}  {steps}")
    lines += ["", "physiology couplings: share of generated cases that break each (declared departures excepted)",
              f"{'coupling':<26} {'all':>6}  worst diagnosis"]
    total = sum(r.cases for r in rows) or 1
    for c in (rows[0].coupling_breaks if rows else {}):
        share = sum(r.coupling_breaks[c] * r.cases for r in rows) / total
        worst = max(rows, key=lambda r: r.coupling_breaks[c])
        where = f"{worst.name[:40]} {worst.coupling_breaks[c]:.1%}" if worst.coupling_breaks[c] else "-"
        lines.append(f"{c:<26} {share:>6.1%}  {where}")
    any_share = sum(r.breaks * r.cases for r in rows) / total
    lines.append(f"{'any':<26} {any_share:>6.1%}")
    return "\n".join(lines)


def report_json(rows: list[DiagnosisReport]) -> list[dict]:
    return [asdict(r) for r in rows]
