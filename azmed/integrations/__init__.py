"""AZ-Med's environments in other trainers: TRL's `GRPOTrainer` and `verifiers` (DESIGN §8).

    from azmed.integrations.trl import task_dataset, correctness_reward, format_reward, CalculatorTools
    from azmed.integrations.verifiers import load_environment

- `tasks`: tasks drawn from any registered environment (`azmed.envs.ENVIRONMENTS`) as rows that
  carry the prompt AZ-Med's own trainer shows and the task serialised for grading, and the
  grading itself: the environment's own `verify`, so a completion scores the same here as in
  `azmed train` and `azmed eval`.
- `trl`: a `datasets.Dataset` of those rows and reward functions `(completions, **kwargs) ->
  list[float]` for `GRPOTrainer` (extra `trl`).
- `calculator_tools`: the kit's calculators as tools for `GRPOTrainer(environment_factory=...)`,
  with a chat template and response parser that write and read calls in AZ-Med's own grammar
  (`simulator.tools`), which SmolLM2 needs because TRL has no tool template for it.
- `verifiers`: `load_environment()` returning a `verifiers` environment scored by a `Rubric`
  over the same grading (extra `verifiers`).

Only the environment protocol is used; nothing here imports the self-play trainer or the
evaluation. Each integration imports its library lazily, so `azmed` works without them.
"""
