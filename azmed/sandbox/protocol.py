"""What crosses the pipes between the pool, a worker and a run: statuses, the result
records a run writes, and the ban-list matching rule. Standard library only: the pool imports
it as `azmed.sandbox.protocol`, the worker (a bare `python -I -S` script) as `protocol`.

    from azmed.sandbox.protocol import RecordReader, encode_result, encode_violation
    reader = RecordReader(cap=1 << 20)
    reader.feed(encode_violation("os.remove") + encode_result("ok", "42", ""))
    reader.outcome()      # {'status': 'violation', 'value': None, 'error': 'blocked by the sandbox: os.remove'}

A run holds one pipe to its worker, at file descriptor `RESULT_FD`, and writes records to it:
- `V` + length + text: something the guard refused. The guard writes it *before* raising, so
  the refusal is in the worker's hands even if the program catches the exception or tampers
  with anything in its own process afterwards; any `V` makes the run a "violation".
- `R` + header + texts: the run's own outcome (status, repr of the value, error), written
  last. A program can write records too; it can only make its own result worse (a `V`) or
  claim a value it could have returned anyway, never undo a `V`, a signal, or the
  output limit, which the worker checks itself.
Printed output goes through a separate pipe (the run's fd 1) that the worker counts.

Limits: a program can forge its own value; the sandbox contains programs, it does not
attest their answers.
"""

from __future__ import annotations

import struct

STATUSES = ("ok", "error", "timeout", "out-of-memory", "violation")
OUTPUT_TOO_LARGE = "output too large"
RESULT_FD = 3  # the run's end of its result pipe (the system-call filter guards this number)
ERROR_CHARS = 4000  # an error message is cut to this length (it is a message, not output)

_LENGTH = struct.Struct("<I")
_RESULT = struct.Struct("<BBIII")  # status, has value, byte lengths of value, error, reserved


def banned_name(module: str, banned) -> str | None:
    """The ban-list entry that `module` (a dotted name) falls under, else None.

    An entry bans the name itself and everything below it, on dotted boundaries only:
    "os.path" bans "os.path" and "os.path.x" but not "os" or "os.pathlib"; "time" does not
    ban "timeit".

    >>> banned_name("os.path.join", {"os.path"}), banned_name("timeit", {"time"})
    ('os.path', None)
    """
    for entry in banned:
        if module == entry or module.startswith(entry + "."):
            return entry
    return None


def _utf8(text: str | None) -> bytes:
    return (text or "").encode("utf-8", "backslashreplace")


def encode_violation(what: str) -> bytes:
    data = _utf8(what[:ERROR_CHARS])
    return b"V" + _LENGTH.pack(len(data)) + data


def encode_result(status: str, value: str | None, error: str) -> bytes:
    value_bytes, error_bytes = _utf8(value), _utf8(error[:ERROR_CHARS])
    header = _RESULT.pack(STATUSES.index(status), value is not None, len(value_bytes), len(error_bytes), 0)
    return b"R" + header + value_bytes + error_bytes


class RecordReader:
    """Parses the records of one run as they arrive; never raises on bad input."""

    def __init__(self, cap: int) -> None:
        self.cap = cap  # most bytes accepted in all
        self.buffer = bytearray()
        self.violation = ""  # the first refusal
        self.result: dict | None = None  # the last complete result record
        self.problem = ""  # garbled or oversized input

    def feed(self, data: bytes) -> None:
        if self.problem:
            return
        self.buffer += data
        if len(self.buffer) > self.cap:
            self.problem = f"{OUTPUT_TOO_LARGE}: the result has more than {self.cap} bytes"
            return
        while self.buffer and not self.problem:
            if not self._take():
                break

    def _take(self) -> bool:
        """Consume one complete record from the buffer; False when more bytes are needed."""
        tag, buf = self.buffer[:1], self.buffer
        if tag == b"V":
            if len(buf) < 1 + _LENGTH.size:
                return False
            n = _LENGTH.unpack_from(buf, 1)[0]
            end = 1 + _LENGTH.size + n
            if len(buf) < end:
                return False
            if not self.violation:
                self.violation = bytes(buf[1 + _LENGTH.size:end]).decode("utf-8", "backslashreplace") or "refused"
        elif tag == b"R":
            if len(buf) < 1 + _RESULT.size:
                return False
            code, has_value, n_value, n_error, _ = _RESULT.unpack_from(buf, 1)
            start = 1 + _RESULT.size
            end = start + n_value + n_error
            if len(buf) < end:
                return False
            if code >= len(STATUSES):
                self.problem = "the program garbled its result"
                return False
            value = bytes(buf[start:start + n_value]).decode("utf-8", "backslashreplace")
            error = bytes(buf[start + n_value:end]).decode("utf-8", "backslashreplace")
            self.result = {"status": STATUSES[code], "value": value if has_value else None, "error": error}
        else:
            self.problem = "the program garbled its result"
            return False
        del self.buffer[:end]
        return True

    def outcome(self) -> dict | None:
        """The run's status, value and error from its records; None without a result."""
        if self.violation:
            return {"status": "violation", "value": None, "error": f"blocked by the sandbox: {self.violation}"}
        if self.problem:
            status = "violation" if self.problem.startswith(OUTPUT_TOO_LARGE) else "error"
            return {"status": status, "value": None, "error": self.problem}
        return self.result
