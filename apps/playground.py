"""The AZ-Med playground, entry script: page navigation and the shared settings in the sidebar.

    azmed app [--port 8501] [--runs runs] [--packs-dir my_packs]
    streamlit run apps/playground.py            # the same, without the CLI

Pages (one script each in `pages/`):
- Packs: every rule pack; each diagnosis with its criteria, differentials, management and
  references; the variables (clinical units, UCUM codes, ranges, LOINC), a validation report, and
  the generation report of `azmed packs report` as charts.
- Case lab: generate, read, reveal, edit and re-diagnose a case; run calculators; download it.
- Ask a model: the base model or a run's adapter answers a diagnosis task on a case; shows the
  prompt, the raw answer, the parsed answer and the verdict.
- Training runs: a run's status and held-out result, its curves, rejection reasons and
  curriculum from metrics.jsonl, and recent samples, refreshing while the run is running.

Only "Ask a model" imports torch and transformers, and only when a model is asked.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from apps.resources import sidebar_settings

HERE = Path(__file__).resolve().parent

# Material icons ship with Streamlit; emoji would need a colour-emoji font on the machine.
st.set_page_config(page_title="AZ-Med playground", page_icon=":material/stethoscope:", layout="wide")
pages = [  # the Case lab is the start page, at "/"
    st.Page(HERE / "pages" / "case_lab.py", title="Case lab", icon=":material/science:", default=True),
    st.Page(HERE / "pages" / "packs.py", title="Packs", icon=":material/library_books:", url_path="packs"),
    st.Page(HERE / "pages" / "ask_model.py", title="Ask a model", icon=":material/chat:", url_path="ask-model"),
    st.Page(HERE / "pages" / "training_runs.py", title="Training runs", icon=":material/monitoring:",
            url_path="training-runs"),
]
page = st.navigation(pages)
st.sidebar.markdown("**AZ-Med playground**  \nself-play clinical reasoning")
sidebar_settings()
page.run()
