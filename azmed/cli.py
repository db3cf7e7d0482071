"""`azmed` command line: argparse subcommands, each handled by a module of `azmed.commands`
imported only when that subcommand runs, so `azmed --help` answers without torch.

    azmed simulate --pack all --n 5 --seed 1 --reveal --out cases.jsonl
    azmed simulate --n 3 --format note --style referral
    azmed simulate --calculator cha2ds2_vasc --n 3 --format note --reveal
    azmed case check case.json
    azmed packs list | validate PATH | new NAME | report
    azmed calc anion_gap sodium=140 chloride=104 bicarbonate=24
    azmed exec run prog.py --input "3" ; azmed exec check triplet.json
    azmed train --env clinical --config configs/clinical.yaml trainer.lr=1e-5
    azmed train --help-config ; azmed finetune --help-config ; azmed eval --help-config
    azmed eval --suite sim-heldout --model embedded --out base.json
    azmed tasks export --type calculation --n 500 --seed 1 --out calc.jsonl
    azmed data convert --from agentclinic IN.jsonl cases.jsonl ; azmed finetune --data cases.jsonl
    azmed app --port 8501 --runs runs
"""

from __future__ import annotations

import argparse
import importlib
import sys

from azmed import __version__
from azmed.commands.common import Parser


def _handler(module: str):
    """Run `azmed.commands.<module>.run(args)` lazily."""

    def call(args: argparse.Namespace) -> int:
        return importlib.import_module(f"azmed.commands.{module}").run(args)

    return call


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="azmed", description="AZ-Med: self-play clinical reasoning kit (for research and education; "
                                         "not for clinical use).")
    p.add_argument("--version", action="version", version=f"azmed {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    # ---- simulator -------------------------------------------------------------------------
    s = sub.add_parser("simulate", help="generate cases from rule packs (JSONL)")
    s.add_argument("--pack", default="all", help="pack name, or 'all' (default)")
    s.add_argument("--n", type=int, default=10, help="number of cases (default 10)")
    s.add_argument("--seed", type=int, default=0, help="first seed; case i uses seed+i (default 0)")
    s.add_argument("--diagnosis", help="only this diagnosis (ICD-10 id or name); it must belong to --pack")
    s.add_argument("--reveal", action="store_true", help="write the hidden diagnosis into each case")
    s.add_argument("--packs-dir", action="append", default=[], help="extra folder of rule packs")
    s.add_argument("--format", choices=("json", "lines", "note"),
                   help="json: one case a line (default, or note when --style is given); lines: the editable "
                   "line format; note: a clinical note")
    s.add_argument("--style", help="note style (triage, admission, ward_round, referral, lab_report); "
                   "default: drawn from each case's seed")
    s.add_argument("--calculator", help="calculator vignettes instead of pack cases: a patient who carries every "
                   "input of this calculator (id, name or MedCalc-Bench ID), with its question; --reveal adds the "
                   "answer and the calculator call that gives it")
    s.add_argument("--out", default="-", help="output file ('-' for stdout, the default)")
    s.set_defaults(func=_handler("simulate"))

    c = sub.add_parser("case", help="work with one proposed case")
    csub = c.add_subparsers(dest="case_command", metavar="ACTION", required=True)
    cc = csub.add_parser("check", help="validate a proposed case: exit 0 valid, 1 rejected, 2 unreadable")
    cc.add_argument("file", metavar="FILE", help="the case, as one JSON object or 'name: value unit' lines ('-' reads stdin)")
    cc.add_argument("--packs-dir", action="append", default=[], help="extra folder of rule packs")
    cc.set_defaults(func=_handler("case"))

    k = sub.add_parser("packs", help="list, validate, create and report on rule packs")
    ksub = k.add_subparsers(dest="packs_command", metavar="ACTION", required=True)
    kl = ksub.add_parser("list", help="list the installed rule packs")
    kv = ksub.add_parser("validate", help="validate a rule pack file or folder")
    kv.add_argument("path", metavar="PATH", help="a pack YAML file, or a folder of them")
    kn = ksub.add_parser("new", help="write a small new pack that validates and generates cases")
    kn.add_argument("name", metavar="NAME", help="the new pack's name: lowercase letters, digits, '_' or '-' (becomes NAME.yaml)")
    kn.add_argument("--dir", default=".", help="folder to write NAME.yaml into (default .)")
    kr = ksub.add_parser("report", help="per-diagnosis generation report")
    kr.add_argument("--pack", default="all", help="pack name, or 'all' (default)")
    kr.add_argument("--n", type=int, default=200, help="cases per diagnosis (default 200)")
    kr.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    kr.add_argument("--json", action="store_true", help="print JSON instead of a table")
    for q in (kl, kr):
        q.add_argument("--packs-dir", action="append", default=[], help="extra folder of rule packs")
    k.set_defaults(func=_handler("packs"))

    a = sub.add_parser("calc", help="evaluate a clinical calculator: azmed calc NAME key=value[unit] ...")
    a.add_argument("name", nargs="?", help="calculator id, name or MedCalc-Bench name or Calculator ID (omit to list them)")
    a.add_argument("inputs", nargs="*", help="key=value with an optional unit, e.g. creatinine=1.2mg/dL")
    a.add_argument("--entities", metavar="JSON|FILE", default=None,
                   help="MedCalc-Bench entities instead of key=value, e.g. '{\"Sodium\": [140, \"mmol/L\"]}', "
                        "or a file holding them")
    a.add_argument("--json", action="store_true", help="print JSON")
    a.set_defaults(func=_handler("calc"))

    # ---- code executor ---------------------------------------------------------------------
    e = sub.add_parser("exec", help="run programs in the sandbox; check code triplets")
    esub = e.add_subparsers(dest="exec_command", metavar="ACTION", required=True)
    er = esub.add_parser("run", help="run FILE.py's f(...) on an input in the sandbox")
    er.add_argument("file", metavar="FILE.py", help="Python file; its f(...) is called with --input ('-' reads stdin)")
    er.add_argument("--input", default="", help="the call's arguments as a Python literal, e.g. \"3, 'a'\"")
    er.add_argument("--timeout", type=float, default=None, help="wall-clock seconds")
    ec = esub.add_parser("check", help="validate a proposed triplet given as JSON")
    ec.add_argument("file", metavar="FILE", help="the triplet as one JSON object ('-' reads stdin)")
    ec.add_argument("--task-type", default=None, help="deduction, abduction or induction (default: from the file)")
    for q in (er, ec):
        q.add_argument("--allow-unconfined", action="store_true",
                       help="run even when a sandbox layer is missing here (e.g. seccomp); says which")
    e.set_defaults(func=_handler("exec"))

    # ---- training and evaluation -----------------------------------------------------------
    t = sub.add_parser("train", help="self-play training (propose + solve) with a LoRA adapter")
    t.add_argument("--env", default=None, metavar="NAME[,NAME]",
                   help="environment(s) to play: clinical, code, both, or names joined by commas; overrides the "
                        "config's envs")
    t.add_argument("--config", default=None, help="YAML run config (default: configs/clinical.yaml)")
    t.add_argument("--resume", default=None, metavar="RUN_DIR", help="continue a run from its last checkpoint")
    t.add_argument("--init-adapter", default=None, metavar="DIR", help="start from this LoRA adapter")
    t.add_argument("--help-config", action="store_true", help="print every setting (type, default, description)")
    t.add_argument("overrides", nargs="*", help="dotted overrides, e.g. trainer.lr=1e-5")
    t.set_defaults(func=_handler("train"))

    k = sub.add_parser("tasks", help="export an environment's tasks (prompt, answer, metadata) for other trainers")
    ksub = k.add_subparsers(dest="tasks_command", metavar="ACTION", required=True)
    ke = ksub.add_parser("export", help="write tasks as JSONL rows of prompt, answer, demonstration and metadata")
    ke.add_argument("--env", default="clinical", help="environment (default clinical)")
    ke.add_argument("--type", required=True, help="task type, e.g. diagnosis, calculation, next_step")
    ke.add_argument("--n", type=int, default=100, help="number of tasks (default 100)")
    ke.add_argument("--seed", type=int, default=0, help="seed: the same seed gives the same tasks (default 0)")
    ke.add_argument("--format", choices=("note", "lines"), help="clinical cases as notes (default) or lines")
    ke.add_argument("--setting", choices=("direct", "tools"), help="calculations answered with the value or with "
                    "a calculator call (default: the environment's, tools)")
    ke.add_argument("--out", default="-", help="output JSONL ('-' for stdout, the default)")
    ke.set_defaults(func=_handler("tasks"))

    v = sub.add_parser("eval", help="evaluate a model or adapter on held-out and external suites")
    v.add_argument("--suite", action="append", default=[],
                   help="suite (repeatable): sim-heldout, medcalc, agentclinic, code-heldout, humaneval, real-cases")
    v.add_argument("--model", default=None, help="'embedded' (default), a local HF folder or a cached model id "
                                                 "(default with --adapter: the model its run trained)")
    v.add_argument("--adapter", default=None, help="LoRA adapter folder")
    v.add_argument("--limit", type=int, default=None, help="at most N items per suite")
    v.add_argument("--setting", choices=("direct", "tools", "both"), default=None,
                   help="how sim-heldout and medcalc ask: direct (answer the value, default), tools (answer with "
                        "one calculator call, executed), or both side by side ('<suite>-tools' in the results)")
    v.add_argument("--out", default=None, help="summary JSON file")
    v.add_argument("--compare", nargs=2, metavar=("A", "B"), help="print two summaries side by side")
    v.add_argument("--medcalc-csv", default=None, help="MedCalc-Bench CSV (default: the shipped dev copy)")
    v.add_argument("--agentclinic-jsonl", default=None, help="AgentClinic OSCE JSONL (default: the shipped MedQA copy)")
    v.add_argument("--batch-size", type=int, default=None, help="prompts generated together (default 16)")
    v.add_argument("--help-config", action="store_true", help="print every setting (type, default, description)")
    v.add_argument("overrides", nargs="*", help="dotted overrides, e.g. model.device=cuda batch_size=64")
    v.set_defaults(func=_handler("eval"))

    f = sub.add_parser("finetune", help="supervised fine-tuning of a LoRA adapter on real cases (JSONL)")
    f.add_argument("--data", default=None, metavar="FILE.jsonl", help="real cases (schema: docs/real-cases.md)")
    f.add_argument("--from-adapter", default=None, metavar="DIR", help="start from this LoRA adapter (e.g. self-play's)")
    f.add_argument("--config", default=None, help="YAML config (default: configs/finetune.yaml)")
    f.add_argument("--eval-fraction", type=float, default=None, metavar="F",
                   help="share of cases held out for early stopping and scoring (sets data.eval_fraction)")
    f.add_argument("--strict", action="store_true", help="stop at the first bad row (default: skip and count)")
    f.add_argument("--resume", default=None, metavar="RUN_DIR", help="continue a run from its last checkpoint")
    f.add_argument("--help-config", action="store_true", help="print every setting (type, default, description)")
    f.add_argument("overrides", nargs="*", help="dotted overrides, e.g. trainer.lr=1e-4")
    f.set_defaults(func=_handler("finetune"))

    d = sub.add_parser("data", help="convert external data sets to the real-case JSONL schema")
    dsub = d.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    dc = dsub.add_parser("convert", help="AgentClinic OSCE JSONL or MedCalc-Bench CSV -> real-case JSONL")
    dc.add_argument("--from", dest="source", choices=["agentclinic", "medcalc"], required=True,
                    help="format of IN: agentclinic (OSCE JSONL) or medcalc (MedCalc-Bench CSV)")
    dc.add_argument("input", metavar="IN", help="the file to convert (only read)")
    dc.add_argument("out", metavar="OUT.jsonl", help="where to write the real-case JSONL (written atomically)")
    dc.add_argument("--strict", action="store_true", help="stop at the first bad row (default: skip and count)")
    d.set_defaults(func=_handler("data"))

    pl = sub.add_parser("plot", help="plot a run's learning curve from metrics.jsonl to a PNG")
    pl.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by `azmed train` (holds metrics.jsonl)")
    pl.add_argument("--out", default=None, help="PNG path (default RUN_DIR/curve.png)")
    pl.set_defaults(func=_handler("plot"))

    # ---- playground ------------------------------------------------------------------------
    ap = sub.add_parser("app", help="start the Streamlit playground: packs, case lab, ask a model, training runs")
    ap.add_argument("--port", type=int, default=8501, help="port to serve on (default 8501)")
    ap.add_argument("--address", default="127.0.0.1",
                    help="address to listen on (default 127.0.0.1; 0.0.0.0 shares it on the network)")
    ap.add_argument("--runs", default="runs", help="folder of training runs to show (default runs)")
    ap.add_argument("--packs-dir", action="append", default=[], help="extra folder of rule packs")
    ap.set_defaults(func=_handler("app"))
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `azmed simulate --n 1000 | head`: the reader left, not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
