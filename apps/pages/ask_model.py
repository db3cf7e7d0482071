"""Ask a model: the base model, or the base model with a LoRA adapter from a run folder, answers a
diagnosis task built from the Case lab's current case (or a pasted one), written as a clinical
note or as 'name: value' lines, free answer or multiple choice; the page shows the
prompt, the raw answer, the parsed answer and the verdict of the clinical environment.

Run with `azmed app`. The task, prompt and grading are the clinical environment's own
(`ClinicalEnv.maker.diagnosis`, `solve_prompt`, `verify`), so what you see is what self-play and
`azmed eval` score. Generation is `azmed.generation.generate` (greedy at temperature 0).

Limits: the model is loaded once per (model, adapter) and kept for the whole server (a 135M
model takes about 0.6 GB of memory); torch and transformers are imported only when a model is
asked. Everything is offline: a model id must already be in the local Hugging Face cache.
"""

from __future__ import annotations

import streamlit as st

from apps.case_view import CURRENT_CASE, check_case, draw_case, headline
from apps.resources import clinical_env, generation_lock, load_policy, settings, show_error, simulator_or_stop
from apps.run_folder import find_adapters
from simulator.case import Case, Rejection
from simulator.notes import NoteError

sim = simulator_or_stop()
reg = sim.registry
st.title("Ask a model")
st.caption("Send a case to a model as a diagnosis task; see its raw answer, what was parsed from it and the verdict.")

# ---- the model ----------------------------------------------------------------------------------
runs_dir = settings().runs_dir
adapters = find_adapters(runs_dir)
labels = {a.label: a for a in adapters}
m1, m2 = st.columns([3, 2])
choice = m1.selectbox("Adapter", ["none (base model)", *labels], key="ask_adapter",
                      help=f"LoRA adapters found under the runs folder {runs_dir} (set it in the sidebar)")
adapter = labels.get(choice)
model = m2.text_input("Base model", value="embedded", key="ask_model",
                      help="'embedded' (SmolLM2-135M-Instruct), a local Hugging Face folder, or a cached model id")
if adapter is not None and adapter.base_model and adapter.base_model != model:
    st.info(f"This adapter was trained on `{adapter.base_model}`; that base model is used.")
    model = adapter.base_model
if not adapters:
    st.caption(f"No adapter under {runs_dir}: train one with `azmed train`, or point the sidebar at a runs folder.")

# ---- the case -----------------------------------------------------------------------------------
source = st.radio("Case", ["Current case from the Case lab", "Paste a case"], horizontal=True, key="ask_source")
case: Case | None = None
if source.startswith("Current"):
    case = st.session_state.get(CURRENT_CASE)
    if case is None:
        st.info("No current case yet: generate one in the Case lab, or paste a case.")
        st.page_link("pages/case_lab.py", label="Open the Case lab", icon=":material/science:")
else:
    text = st.text_area("Case, one fact a line ('heart rate: 104 /min') or JSON", height=220, key="ask_pasted",
                        placeholder="age: 64\nsex: M\nsymptoms: chest pain\nhs troponin I: 450 ng/L\n...")
    if text.strip():
        checked = check_case(sim, text)
        if isinstance(checked, Rejection):
            st.error(f"The pasted case is rejected ({checked.reason}): {checked.detail}")
        else:
            case = checked
if case is None:
    st.stop()
if case.label not in sim.diagnoses:
    st.error(f"The current case's diagnosis {case.label} is not in the packs loaded now (a pack changed): generate "
             "a new case in the Case lab.")
    st.stop()
with st.expander(f"The case: {headline(case)}", expanded=False):
    draw_case(case, reg)

# ---- the task -----------------------------------------------------------------------------------
c0, c1, c2, c3 = st.columns(4)
shown_as = c0.radio("Case shown as", ["clinical note", "name: value lines"], key="ask_shown")
answer_format = c1.radio("Answer", ["free answer", "multiple choice (4 options)"], key="ask_format")
max_new_tokens = c2.number_input("Max new tokens", min_value=4, max_value=1024, value=48, step=8, key="ask_tokens")
temperature = c3.slider("Temperature (0 = greedy)", min_value=0.0, max_value=1.5, value=0.0, step=0.1,
                        key="ask_temperature")
env = clinical_env(sim, id(sim), 4 if answer_format.startswith("multiple") else 0,
                   "note" if shown_as.startswith("clinical") else "lines")
try:
    text, style, _ = env.maker.case_text(case, case.seed or 0)
except NoteError as exc:
    st.error(f"This case cannot be written as a note: {exc}. Show it as lines instead.")
    st.stop()
task = env.maker.diagnosis(case, text, style, "playground")
prompt = env.solve_prompt(task)
st.markdown("**Prompt** (the solver's view: the diagnosis is never in it)")
st.code(prompt, language=None, wrap_lines=True)

request = (task.key, prompt, model, adapter.path if adapter else None, int(max_new_tokens), float(temperature))
if st.button("Ask the model", type="primary", key="ask_run"):
    try:
        from azmed.generation import generate  # torch and transformers load here, not before

        with st.spinner(f"Loading {model}" + (f" with {adapter.label}" if adapter else "") + " (once per server)…"):
            policy = load_policy(model, str(adapter.path) if adapter else None)
        with st.spinner("Generating…"), generation_lock():
            completion = generate(policy, [policy.chat(prompt)], max_new_tokens=int(max_new_tokens),
                                  temperature=float(temperature))[0]
    except ImportError as exc:
        show_error("The model stack is not installed (pip install 'azmed[train]')", exc)
    except Exception as exc:  # noqa: BLE001 - any loader or generation failure is shown in the page
        show_error(f"The model {model!r} could not answer", exc)
    else:
        st.session_state["ask_result"] = (request, completion.text, completion.finished,
                                          len(completion.completion_ids), env.verify(task, completion.text))

# ---- the answer ---------------------------------------------------------------------------------
stored = st.session_state.get("ask_result")
if stored and stored[0] == request:
    _, raw, finished, n_tokens, verdict = stored
    st.markdown("**Raw answer**")
    st.code(raw or "(empty)", language=None, wrap_lines=True)
    st.caption(f"{n_tokens} tokens, " + ("the model stopped by itself" if finished else "cut at the token limit"))
    parsed = verdict.parsed
    named = isinstance(parsed, str) and parsed in sim.diagnoses
    shown = f"{sim.diagnoses[parsed].name} ({parsed})" if named else parsed
    st.markdown(f"**Parsed answer:** {shown if parsed is not None else 'nothing could be parsed'}")
    if verdict.correct:
        st.success(f"Correct: {verdict.why}")
    elif not verdict.formatted:
        st.error(f"Unparseable (format penalty in training): {verdict.why}")
    else:
        st.error(f"Wrong: {verdict.why}")
    st.caption(f"The engine's diagnosis: {sim.diagnoses[task.answer].name} ({task.answer}).")
