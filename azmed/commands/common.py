"""Small pieces shared by the CLI handlers: the one error style of every command, loading the
simulator with readable errors, and opening an output file or stdout.

Every failure, whether argparse refuses an argument or a handler refuses the input, is printed
to stderr as `azmed: error: <what was wrong and how to fix it>` (one line; a pack's list of
problems follows on the next lines), and the command exits non-zero.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

ERROR_PREFIX = "azmed: error: "


def fail(message: str, code: int = 2) -> int:
    """Print `message` in the error style and return the exit code `code` (2: bad input)."""
    print(f"{ERROR_PREFIX}{message}", file=sys.stderr)
    return code


class Parser(argparse.ArgumentParser):
    """argparse with the error style of every other failure: the usage line of the (sub)command,
    then `azmed: error: ...`. Subcommand parsers inherit it."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(2, f"{ERROR_PREFIX}{message}\n")


def load_simulator(extra_dirs=()):
    """The Simulator over every installed pack plus `extra_dirs`; None after printing errors."""
    from simulator.core import Simulator
    from simulator.errors import SimulatorError

    try:
        return Simulator.load(extra_dirs=list(extra_dirs))
    except SimulatorError as exc:
        fail(f"the rule packs do not load:\n{exc}")
        return None


@contextlib.contextmanager
def open_out(path: str):
    if path in ("-", "", None):
        yield sys.stdout
    else:
        with open(path, "w", encoding="utf-8") as fh:
            yield fh
