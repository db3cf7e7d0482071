"""Options of the clinical environment (`envs.clinical.options.*` in a training config,
`ClinicalEnv(**options)` in code), and the seed ranges that keep training and held-out apart.

    from azmed.envs.clinical import ClinicalEnv
    env = ClinicalEnv(case_format="note", choices=0, tools=["calculation"], proposals="spec")

Seeds: training draws cases, vignettes and note wordings from seeds below `TRAIN_SEED_RANGE`;
the held-out suite uses seeds from `HELDOUT_SEED_BASE` upward, so it never overlaps training.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from azmed.envs.base import EnvConfig

TASK_TYPES = ("diagnosis", "abduction", "calculation", "next_step", "self_edit")
# What a task type's proposals specify, in `simulator.spec` terms: a diagnosis or a calculator.
SPEC_KIND = {"diagnosis": "diagnosis", "next_step": "diagnosis", "calculation": "calculation"}
HELDOUT_SEED_BASE = 2_000_000_000
TRAIN_SEED_RANGE = 1_000_000_000
SETTINGS = ("direct", "tools")


class ClinicalEnvConfig(EnvConfig):
    """Options of the clinical environment (`make_env("clinical", **options)`)."""

    task_types: list[str] = Field(default_factory=lambda: list(TASK_TYPES), description="task types offered: "
                                  + ", ".join(TASK_TYPES))
    packs: str | list[str] = Field("all", description="rule packs whose cases are used: 'all', a pack name or "
                                   "a list of them")
    case_format: Literal["note", "lines"] = Field(
        "note", description="how the solver reads a case: 'note' (a clinical note in one of five styles, "
        "simulator.notes) or 'lines' ('name: value unit' lines)")
    choices: int = Field(0, ge=0, description="answer options of a diagnosis task (0 = free-text answer, graded "
                         "through names, synonyms and ICD-10 codes)")
    step_choices: int = Field(0, ge=0, le=8, description="answer options of a next-step task (0 = free text, graded "
                              "through the pack's management entries and synonyms): the case's own first step and "
                              "the first steps of diagnoses confusable with it, none of which is right for the case")
    tools: list[str] = Field(default_factory=lambda: ["calculation"], description="task types the solver answers "
                             "with one calculator call (simulator.tools grammar), executed by the environment; "
                             "[] = every answer is direct")
    direct_share: float = Field(0.0, ge=0.0, le=1.0, description="share of calculation tasks asked directly (answer "
                                "the value) although calculation is in `tools`: a solver that only ever writes calls "
                                "forgets how to answer with a number. Chosen per task from its key, so a task keeps "
                                "its setting (and a repeated specification its duplicate)")
    free_text_share: float = Field(0.0, ge=0.0, le=1.0, description="with `choices`, share of diagnosis tasks asked "
                                   "with no options (a free-text name), chosen per task from its key")
    tool_count: int = Field(3, ge=1, le=10, description="calculators listed in a tool prompt (those whose names "
                            "best match the question)")
    guided_calls: bool = Field(True, description="write the solver's calculator calls inside the grammar while "
                               "they are generated (simulator.tools.CallGuide): the model picks the calculator, "
                               "the inputs and their values; '(' '=' ',' ')' are written for it and not trained")
    guided_values: bool = Field(False, description="with `guided_calls`, a number in a call is chosen among the "
                                "note's numbers that the input reads as plausible (alone, or with the unit the note "
                                "writes after it): the solver copies values from the case, as a clinician does from "
                                "the chart, instead of writing digits of its own; demonstrations copy them the same way")
    grade_inputs: bool = Field(False, description="a calculator call is right only when its result is and every "
                               "input it enters matches the case's value (within 1 %, in any accepted unit; "
                               "simulator.tools.input_differences against the environment's demonstration call): "
                               "a result within the answer's tolerance from misread inputs is wrong (reason "
                               "wrong-input). Off: the result alone is graded, as MedCalc-Bench grades")
    guided_options: bool = Field(True, description="with `choices`, write a diagnosis answer as one of its options "
                                 "while it is generated (simulator.tools.OptionGuide): the model picks the option")
    guided_specs: bool = Field(True, description="write the proposer's specifications inside their format while "
                               "they are generated (simulator.spec.guide.SpecGuide): the model picks the diagnosis "
                               "or calculator, severity, age, sex and twists among known words; the keys are "
                               "written for it and not trained")
    spec_patient: bool = Field(False, description="with `guided_specs`, a specification always names severity, age "
                               "and sex (the model chooses their values): a bare 'diagnosis: X' can be proposed "
                               "once per diagnosis, after which every repeat is a duplicate")
    spec_listing: Literal["uniform", "least_proposed"] = Field(
        "uniform", description="how a proposer prompt samples the diagnoses (calculators) it lists: 'uniform', or "
        "'least_proposed': the names proposed (validly) least so far in this run first, so that a proposer that "
        "prefers a few names is shown the others until every name has been proposed (counts from the tasks this "
        "environment has admitted; after --resume, from the buffers' tasks)")
    proposals: Literal["spec", "edit"] = Field(
        "spec", description="what the proposer writes for diagnosis, calculation and next_step: 'spec' (a case "
        "specification, simulator.spec) or 'edit' (the changed lines of a reference case); abduction and "
        "self_edit always edit a case")
    calculators: str | list[str] = Field("all", description="calculators of calculation tasks drawn from the "
                                         "simulator: 'all' or a list of ids")
    packs_dirs: list[str] = Field(default_factory=list, description="extra folders of rule packs to load")
    seed_tasks_per_type: int = Field(8, ge=1, description="simulator tasks that start each task type's buffer")
    lenient: bool = Field(True, description="drop a minority of unknown lines in an edit proposal instead of "
                          "rejecting it (see simulator.validation.parse_case)")

    @field_validator("task_types", "tools")
    @classmethod
    def _known_task_types(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(TASK_TYPES))
        if unknown:
            raise ValueError(f"unknown clinical task types {unknown}; choose from {list(TASK_TYPES)}")
        return value
