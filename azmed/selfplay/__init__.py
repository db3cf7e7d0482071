"""Self-play trainer (DESIGN §5): one model and one LoRA adapter play proposer and solver over
the environment protocol; Task-Relative REINFORCE++ updates the adapter.

Modules: `config` (the run config), `rewards` (learnability, solve and format rewards, TRR++
advantages), `buffer` (task buffers), `update` (the LoRA policy-gradient step), `checkpoint`
(atomic save and resume), `metrics` (per-step figures), `heldout` (base vs adapter at the end),
`trainer` (the loop), `distributed` (data parallel over processes launched by `accelerate
launch` or `torchrun`). Generation (`azmed.generation`) and run folders (`azmed.runs`) are shared
with evaluation and fine-tuning. Run it with `azmed train`; plot a run with `azmed plot`.
"""
