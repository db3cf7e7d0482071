"""Real-case fine-tuning (DESIGN §7): adapt a base model or a self-play adapter to a small set
of real cases with supervised fine-tuning.

Modules: `convert` (AgentClinic OSCE JSONL and MedCalc-Bench CSV readers), `config` (the run
config), `trainer` (TRL SFTTrainer + peft LoRA, held-out split, early stopping, checkpoints and
resume). The real-case JSONL schema is `azmed.real_cases` and the suite that scores held-out
cases is `azmed.eval.real_cases` (both shared with evaluation). Run it with `azmed data convert`
and `azmed finetune`; the schema is documented in docs/real-cases.md.
"""
