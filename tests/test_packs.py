"""Every shipped rule pack loads and keeps its invariants (one parametrized test per pack)."""

from __future__ import annotations

import pytest

from simulator.packs import pack_files, read_pack

PACKS = [p.stem for p in pack_files()]


def test_enough_specialties_and_diagnoses(sim):
    required = {"cardiology", "pulmonology", "endocrinology", "nephrology", "infectious_disease"}
    assert required <= set(sim.packs), f"missing packs: {required - set(sim.packs)}"
    assert len(sim.diagnoses) >= 40
    assert len(sim.registry.variables) >= 60


@pytest.mark.parametrize("name", PACKS)
def test_pack_invariants(sim, name):
    pack = next(p for p in sim.packs.values() if p.source.endswith(f"{name}.yaml"))
    reg = sim.registry
    for d in pack.diagnoses:
        # schema-level facts a clinician relies on
        assert d.synonyms, f"{d.id} has no synonyms"
        assert d.differentials and all(x in sim.diagnoses for x in d.differentials)
        refs = set(pack.references) | set(reg.references)
        assert set(d.references) <= refs
        for i, step in enumerate(d.management):  # every step cites its source; the last always applies
            assert step.first_line.strip() and step.ref in refs, (d.id, i)
            assert (step.when is None) == (i == len(d.management) - 1), (d.id, i)
        # every presentation range lies inside the variable's hard limits
        for vid, spec in d.presentation.variables.items():
            lo, hi = reg.variables[vid].limits
            assert all(lo <= x <= hi for x in spec.range), (d.id, vid)
        # reachable: the engine re-derives the seeded diagnosis
        for seed in range(10):
            case = sim.generate(seed, diagnosis=d.id)
            assert case.label == d.id
            assert sim.engine.label(case.facts()).label == d.id
    # no two diagnoses share criteria (the loader checks; assert the compiled trees differ)
    trees = [str(sim.trees[d.id]) for d in pack.diagnoses]
    assert len(set(trees)) == len(trees)


def test_every_variable_has_reference_and_sane_ranges(sim):
    reg = sim.registry
    for vid, var in reg.variables.items():
        assert var.ref in reg.references or any(var.ref in p.references for p in sim.packs.values()), vid
        lo, hi = var.limits
        for nlo, nhi in var.normal_by_sex().values():
            assert lo <= nlo <= nhi <= hi, vid


@pytest.mark.parametrize("name", PACKS)
def test_pack_file_reads_alone(name):
    pack = read_pack(next(p for p in pack_files() if p.stem == name))
    assert pack.diagnoses
