"""Evaluation on held-out and external benchmarks (`azmed eval`, DESIGN §6).

Modules: `config` (the typed settings), `harness` (suite registry, batched greedy generation,
per-item records, summaries), one module per suite (`sim_heldout`, `medcalc`, `agentclinic`,
`code_heldout`, `humaneval`, `real_cases`) and `compare` (Markdown tables of one or two runs);
the command is `azmed.commands.eval`. Answers are read by the simulator's one answer reader
(`simulator.answers`), the same the self-play reward uses.
Shipped data and its licences: `azmed/eval/data/` (see `LICENSES.md` there).

    azmed eval --suite medcalc --suite agentclinic --model embedded --limit 20 --out base.json
    azmed eval --compare base.json adapter.json
"""
