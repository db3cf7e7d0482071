"""Small pieces shared by the CLI handlers: the one error style of every command, loading the
simulator with readable errors, reading a JSON input file strictly, writing an output file
without losing the old one, and showing text with its control characters visible.

Every failure, whether argparse refuses an argument or a handler refuses the input, is printed
to stderr as `azmed: error: <what was wrong and how to fix it>` (one line; a pack's list of
problems follows on the next lines), and the command exits non-zero. Control characters in a
message (a program's escape codes, a file name) are written as \\xNN, never acted on.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ERROR_PREFIX = "azmed: error: "


def fail(message: str, code: int = 2) -> int:
    """Print `message` in the error style (control characters shown, not acted on) and return
    the exit code `code` (2: bad input)."""
    print(f"{ERROR_PREFIX}{visible(message)}", file=sys.stderr)
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

    missing = [str(d) for d in extra_dirs if not Path(d).expanduser().exists()]
    if missing:
        fail(f"--packs-dir {', '.join(missing)}: no such folder; give a folder of rule pack *.yaml files "
             "(or one pack file)")
        return None
    try:
        return Simulator.load(extra_dirs=list(extra_dirs))
    except SimulatorError as exc:
        sep = "\n" if "\n" in str(exc) else " "  # one problem: one line
        fail(f"the rule packs do not load:{sep}{exc}")
        return None


def read_json_input(path: str, what: str) -> tuple[Any, int | None]:
    """(document, None) from a JSON file or '-' (stdin), or (None, 2) after a one-line error
    naming the file and the fix: unreadable, not UTF-8, not JSON, a key twice, nested too deep."""
    from simulator.readers import InputError, loads_json

    name = "standard input" if path == "-" else path
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None, fail(f"{name} is not UTF-8 text; save {what} as UTF-8 JSON")
    except OSError as exc:
        return None, fail(f"cannot read {name}: {exc.strerror}; check the path")
    try:
        return loads_json(text), None
    except InputError as exc:
        return None, fail(f"{name}: {exc}; {what} is one JSON object")
    except ValueError as exc:
        return None, fail(f"{name} is not valid JSON ({exc}); {what} is one JSON object")


@contextlib.contextmanager
def open_out(path: str):
    """stdout for '-', else a temporary file beside `path`, moved onto it only when the block
    ends without an error: a failed run leaves an existing file as it was. Raises OSError
    (e.g. a missing folder) before anything is written."""
    if path in ("-", "", None):
        yield sys.stdout
        return
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            yield fh
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def cannot_write(path: str, exc: OSError) -> int:
    """The one-line error for an output path that cannot be written."""
    folder = Path(path).parent
    hint = (f"the folder {folder} does not exist: create it first or write elsewhere" if not folder.is_dir()
            else "check the folder's permissions or write elsewhere")
    return fail(f"cannot write {path}: {exc.strerror or exc}; {hint}")


_VISIBLE = {i: f"\\x{i:02x}" for i in range(32) if chr(i) not in "\n\t"}
_VISIBLE.update({0x7F: "\\x7f"} | {i: f"\\x{i:02x}" for i in range(0x80, 0xA0)})


def visible(text: str) -> str:
    """`text` with terminal control characters (escape codes, carriage returns, bells) shown
    as \\xNN instead of acted on; newlines and tabs stay.

    >>> visible("ok\\x1b[2J\\r")
    'ok\\\\x1b[2J\\\\x0d'
    """
    return text.translate(_VISIBLE)
