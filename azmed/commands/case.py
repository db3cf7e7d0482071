"""`azmed case check FILE.json`: validate one proposed case.

Prints the engine's diagnosis (exit 0), or the rejection reason (exit 1); unreadable input
(missing file, not JSON, a key written twice, nesting too deep) exits 2 with a one-line reason.
"""

from __future__ import annotations

from azmed.commands.common import load_simulator, read_json_input, visible


def run(args) -> int:
    data, code = read_json_input(args.file, "a case")
    if code is not None:
        return code
    sim = load_simulator(args.packs_dir)
    if sim is None:
        return 2
    from simulator.case import Rejection

    result = sim.check(data)
    if isinstance(result, Rejection):
        print(f"rejected ({result.reason}): {visible(result.detail)}")
        return 1
    print(f"valid: {result.label} {result.label_name} (pack {sim.pack_of[result.label]})")
    return 0
