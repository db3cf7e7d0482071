"""Units as people read them: every place a person reads a unit (CLI output, the playground,
case JSON) spells it as clinicians write it (mmHg, °C, no unit for a ratio, mL/min/1.73 m²),
and everything spelled that way reads back to the same unit; case JSON keeps the registry's
UCUM code as its own field."""

from __future__ import annotations

import json
import re

import pytest

from simulator.render import DISPLAY_UNITS, display_unit, reader_unit, unit_code, unit_spelling
from simulator.variables import registry
from tests.conftest import run_cli

UCUM_MARKS = re.compile(r"[\[\]{}*]")


@pytest.mark.parametrize("var,spelling", [
    ("sbp", "mmHg"), ("map", "mmHg"), ("temperature", "°C"), ("inr", ""), ("ph", ""),
    ("egfr", "mL/min/1.73 m²"), ("tsh", "mIU/L"), ("gcs", ""), ("bmi", "kg/m²"),
])
def test_canonical_units_are_spelled_as_clinicians_write_them(var, spelling):
    assert reader_unit(registry().get(var), registry().get(var).unit) == spelling


def test_every_spelling_reads_back_to_its_unit():
    """For every accepted unit of every variable: the reader's spelling has no UCUM brackets
    when one is accepted, and converts exactly like the unit it stands for."""
    checked = 0
    for var in registry().variables.values():
        for unit in var.accepted_units():
            shown = reader_unit(var, unit)
            assert unit_code(var, shown) is not None, (var.id, unit, shown)
            for x in (1.0, 37.5, 120.0):
                assert var.to_canonical(x, shown or None) == pytest.approx(var.to_canonical(x, unit)), (var.id, unit)
            if unit == var.unit:
                assert not UCUM_MARKS.search(shown), (var.id, shown)
                assert unit_code(var, shown) == var.unit, (var.id, shown)
            checked += 1
    assert checked > 150


def test_display_mapping_only_names_spellings_the_registry_accepts():
    """A display spelling that no variable could read back would be a dead end for a reader."""
    reg = registry()
    for code, spelling in DISPLAY_UNITS.items():
        users = [v for v in reg.variables.values() if code in v.accepted_units()]
        for var in users:
            assert unit_spelling(var, code) == spelling, (code, var.id)


def test_case_json_spells_units_for_people_and_keeps_the_ucum_code(sim):
    seen = {}
    for seed in range(60):
        case = sim.generate(seed)
        data = case.to_json(sim.registry)
        for vid, m in data["measurements"].items():
            assert set(m) == {"value", "unit", "ucum"}
            assert m["ucum"] == case.units.get(vid, sim.registry.variables[vid].unit)
            assert m["unit"] == reader_unit(sim.registry.variables[vid], m["ucum"])
            seen[m["ucum"]] = m["unit"]
        back = sim.check(data)  # what a person downloads reads back as the same case
        assert back.label == case.label and back.units == case.units
        assert back.to_json(sim.registry)["measurements"] == data["measurements"]
    assert seen["mm[Hg]"] == "mmHg" and seen["Cel"] == "°C" and seen["mL/min/{1.73_m2}"] == "mL/min/1.73 m²"
    assert seen["{ratio}"] == ""


def test_a_unit_spelled_for_people_is_the_canonical_unit(sim):
    """'mmHg' and '°C' in a proposal are the canonical units, not alternative ones."""
    case = sim.generate(4)
    data = case.to_json(sim.registry)
    data["measurements"]["sbp"] = {"value": data["measurements"]["sbp"]["value"], "unit": "mmHg"}
    data["measurements"]["temperature"] = {"value": 37.1, "unit": "°C"}
    back = sim.check(data)
    assert "sbp" not in back.units and "temperature" not in back.units
    data["measurements"]["temperature"] = {"value": 98.8, "unit": "°F"}
    assert sim.check(data).units.get("temperature") == "degF"


def test_simulate_json_and_lines_show_clinical_units():
    r = run_cli("simulate", "--pack", "cardiology", "--n", "3", "--seed", "2")
    assert r.returncode == 0, r.stderr
    for line in r.stdout.splitlines():
        for m in json.loads(line)["measurements"].values():
            assert not UCUM_MARKS.search(m["unit"]), m
    assert '"unit": "mmHg", "ucum": "mm[Hg]"' in r.stdout
    lines = run_cli("simulate", "--pack", "cardiology", "--n", "1", "--seed", "2", "--format", "lines")
    assert "mmHg" in lines.stdout and not UCUM_MARKS.search(lines.stdout.replace("# seed", ""))


def test_calc_prints_clinical_units():
    r = run_cli("calc", "map", "sbp=120", "dbp=80")
    assert r.returncode == 0 and r.stdout.splitlines()[0] == "Mean arterial pressure: 93.333 mmHg"
    r = run_cli("calc", "ckd_epi_2021", "age=60", "sex=F", "creatinine=1.1", "--json")
    assert json.loads(r.stdout)["unit"] == "mL/min/1.73 m²"
    listing = run_cli("calc").stdout
    assert "sbp (mmHg)" in listing and "(Cel)" not in listing and "mm[Hg]" not in listing


def test_display_unit_leaves_plain_units_alone():
    assert display_unit("mg/dL") == "mg/dL" and display_unit("mmol/L") == "mmol/L"


def test_rejections_spell_units_for_people(sim):
    case = sim.generate(4).to_json(sim.registry)
    case["measurements"]["temperature"] = {"value": 440, "unit": "°C"}
    detail = sim.check(case).detail
    assert "Temperature 440 °C is outside the physiological limits 25-44 °C" in detail and "Cel" not in detail


def test_case_lab_unit_choices_show_each_spelling_once():
    from apps.case_view import unit_choices

    for var in registry().variables.values():
        shown = [display_unit(u) for u in unit_choices(var)]
        assert len(shown) == len(set(shown)), var.id
        assert unit_choices(var)[0] == var.unit
    temperature = registry().get("temperature")
    assert [display_unit(u) for u in unit_choices(temperature)] == ["°C", "C", "°F", "F"]
    assert unit_choices(temperature, "degC") == ["degC", "C", "degF", "F"]  # a case's own code is kept, shown once
