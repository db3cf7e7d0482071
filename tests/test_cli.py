"""The `azmed` command line as a newcomer meets it: help on every argument, one error style for
every command, `simulate` refusing a diagnosis outside --pack, and `case check` reading the line
format as well as JSON, from a file or stdin. Each check runs the real CLI in a subprocess."""

from __future__ import annotations

import argparse

import pytest

from azmed.cli import build_parser
from tests.conftest import run_cli


def _arguments(parser: argparse.ArgumentParser, name: str = "azmed"):
    """(command, argument) for every argument of every (sub)command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub, subparser in action.choices.items():
                yield from _arguments(subparser, f"{name} {sub}")
        elif not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            yield name, action


def test_every_argument_has_help():
    arguments = list(_arguments(build_parser()))
    assert len(arguments) > 50
    missing = [f"{cmd} {a.option_strings[0] if a.option_strings else a.dest}" for cmd, a in arguments
               if not (a.help or "").strip()]
    assert missing == []
    positional = [(cmd, a.dest) for cmd, a in arguments if not a.option_strings]
    assert ("azmed case check", "file") in positional and ("azmed plot", "run_dir") in positional


@pytest.mark.parametrize("args", [
    ("simulate", "--n", "x"),                                  # argparse refuses a value
    ("simulate", "--pack", "dermatology"),                     # a handler refuses the input
    ("calc", "map", "sbp=120"),                                # a calculator refuses its inputs
    ("case", "check", "/no/such/case.json"),
    ("packs", "validate", "/no/such/pack.yaml"),
    ("plot", "/no/such/run"),
    ("eval", "--compare", "/no/a.json", "/no/b.json"),
    ("exec", "run", "/no/such/prog.py"),
    ("packs", "frobnicate"),
])
def test_one_error_style_for_every_command(args):
    r = run_cli(*args)
    assert r.returncode != 0
    errors = [line for line in r.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and errors[0].startswith("azmed: error: "), r.stderr
    assert "Traceback" not in r.stderr


def test_simulate_refuses_a_diagnosis_outside_the_pack():
    r = run_cli("simulate", "--pack", "cardiology", "--diagnosis", "E87.6", "--n", "1")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip() == ("azmed: error: --diagnosis E87.6 (Hypokalemia) is in pack nephrology, not "
                                "cardiology; use --pack nephrology or leave --pack out")
    ok = run_cli("simulate", "--pack", "nephrology", "--diagnosis", "hypokalemia", "--n", "1", "--reveal")
    assert ok.returncode == 0 and '"id": "E87.6"' in ok.stdout
    unknown = run_cli("simulate", "--diagnosis", "E99.9", "--n", "1")
    assert unknown.returncode == 2 and unknown.stderr.startswith("azmed: error: unknown diagnosis 'E99.9'")


def test_case_check_reads_the_line_format_from_stdin_and_a_file(tmp_path):
    lines = run_cli("simulate", "--pack", "nephrology", "--diagnosis", "E87.6", "--n", "1", "--seed", "3",
                    "--format", "lines").stdout
    assert lines.startswith("# seed=3 pack=nephrology\n")
    r = run_cli("case", "check", "-", input=lines)
    assert r.returncode == 0 and r.stdout.startswith("valid: E87.6 Hypokalemia"), r.stdout + r.stderr
    path = tmp_path / "case.txt"
    path.write_text(lines)
    assert run_cli("case", "check", path).stdout == r.stdout
    as_json = run_cli("simulate", "--pack", "nephrology", "--diagnosis", "E87.6", "--n", "1", "--seed", "3").stdout
    assert run_cli("case", "check", "-", input=as_json).stdout == r.stdout
    edited = lines.replace("potassium: ", "potassium: 5.0 mmol/L\n# was: ")
    rejected = run_cli("case", "check", "-", input=edited)
    assert rejected.returncode == 1 and rejected.stdout.startswith("rejected ("), rejected.stdout


def test_case_check_says_what_is_wrong_with_unreadable_input():
    r = run_cli("case", "check", "-", input='{"age": 60, "sex": "M"')
    assert r.returncode == 2
    assert r.stderr.startswith("azmed: error: standard input is not valid JSON (Expecting ',' delimiter at line 1")
    r = run_cli("case", "check", "-", input="just some words\n")
    assert r.returncode == 2 and "neither one JSON object nor 'name: value unit' lines" in r.stderr
