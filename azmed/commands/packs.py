"""`azmed packs list | validate PATH | new NAME | report`."""

from __future__ import annotations

import json
from pathlib import Path

from azmed.commands.common import fail, load_simulator


def run(args) -> int:
    return {"list": _list, "validate": _validate, "new": _new, "report": _report}[args.packs_command](args)


def _list(args) -> int:
    sim = load_simulator(args.packs_dir)
    if sim is None:
        return 2
    for p in sim.packs.values():
        print(f"{p.pack}: {p.title} ({len(p.diagnoses)} diagnoses) [{p.source}]")
        for d in p.diagnoses:
            syn = f" ({', '.join(d.synonyms[:3])})" if d.synonyms else ""
            print(f"  {d.id:<8} {d.name}{syn}")
    print(f"{len(sim.packs)} packs, {len(sim.diagnoses)} diagnoses, {len(sim.registry.variables)} variables, "
          f"{len(sim.registry.findings)} findings")
    return 0


def _validate(args) -> int:
    from simulator.errors import SimulatorError
    from simulator.packs import read_pack

    path = Path(args.path)
    if not path.exists():
        return fail(f"{path} does not exist")
    files = [path] if path.is_file() else sorted(path.glob("*.yaml"))
    if not files:
        return fail(f"no *.yaml pack files in {path}")
    try:
        names = [read_pack(f).pack for f in files]
    except SimulatorError as exc:
        return fail(str(exc), 1)
    sim = load_simulator([path])
    if sim is None:
        return 1
    problems = 0
    for name in names:
        pack = sim.packs[name]
        for d in pack.diagnoses:
            try:
                for seed in range(20):
                    sim.generate(seed, diagnosis=d.id)
            except SimulatorError as exc:
                fail(str(exc))
                problems += 1
        if not problems:
            print(f"ok: {pack.pack} ({pack.source}): {len(pack.diagnoses)} diagnoses, each reachable by the engine")
    return 1 if problems else 0


def _new(args) -> int:
    import re

    from simulator.variables import KNOWLEDGE_DIR

    name = args.name
    if not re.fullmatch(r"[a-z][a-z0-9_\-]*", name):
        return fail(f"pack name {name!r} must be lowercase letters, digits, '_' or '-', starting with a letter")
    out = Path(args.dir) / f"{name}.yaml"
    if out.exists():
        return fail(f"{out} already exists; choose another name or remove it")
    template = (KNOWLEDGE_DIR / "templates" / "new_pack.yaml").read_text(encoding="utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(template.replace("__NAME__", name).replace("__TITLE__", name.replace("_", " ").title()), encoding="utf-8")
    print(f"wrote {out}; edit it, then: azmed packs validate {out}")
    return 0


def _report(args) -> int:
    from simulator.errors import SimulatorError
    from simulator.report import format_report, pack_report, report_json

    sim = load_simulator(args.packs_dir)
    if sim is None:
        return 2
    if args.pack != "all" and args.pack not in sim.packs:
        return fail(f"no pack named {args.pack!r}; installed: {', '.join(sorted(sim.packs))}")
    try:
        rows = pack_report(sim, args.pack, args.n, args.seed)
    except SimulatorError as exc:
        return fail(str(exc))
    print(json.dumps(report_json(rows), indent=1) if args.json else format_report(rows))
    return 0
