"""`azmed data convert`: turn an external data set into the real-case JSONL schema.

    azmed data convert --from agentclinic agentclinic_medqa.jsonl cases.jsonl
    azmed data convert --from medcalc medcalc_bench_dev.csv calc_cases.jsonl [--strict]

Exit 0 when OUT is written (bad rows skipped, counted and the first few listed on stderr),
2 when nothing could be converted or, with --strict, at the first bad row (its line and field).
The input file is only read; OUT is written atomically and must differ from IN.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from azmed.commands.common import cannot_write, fail

SHOWN_PROBLEMS = 5


def run(args: argparse.Namespace) -> int:
    from azmed.finetune.convert import convert
    from azmed.real_cases import RealCaseError, write_cases

    if Path(args.out).resolve() == Path(args.input).resolve():
        return fail(f"OUT {args.out} is the input file: write the converted cases to another file")
    try:
        result = convert(args.source, args.input, strict=args.strict)
    except RealCaseError as exc:
        return fail(str(exc))
    if not result.rows:
        return fail(f"{args.input}: no row could be converted ({len(result.problems)} bad); the first: "
                    f"{result.problems[0]}")
    try:
        n = write_cases(result.cases, args.out)
    except OSError as exc:
        return cannot_write(args.out, exc)
    print(f"converted {n} cases from {args.input} ({args.source}) to {args.out}; {len(result.problems)} rows skipped")
    for problem in result.problems[:SHOWN_PROBLEMS]:
        print(f"skipped {problem}", file=sys.stderr)
    if len(result.problems) > SHOWN_PROBLEMS:
        print(f"... and {len(result.problems) - SHOWN_PROBLEMS} more (--strict stops at the first)", file=sys.stderr)
    return 0
