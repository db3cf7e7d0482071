"""What every playground page shares: the settings (runs folder, extra pack folders), the
simulator loaded once per version of the pack files, the clinical environment, a cached model,
and errors shown in the page instead of tracebacks.

    from apps.resources import simulator_or_stop, settings
    sim = simulator_or_stop()          # st.error + st.stop() when the packs do not load

Settings come from the sidebar of the entry script; their defaults come from the environment,
which `azmed app` sets from its options: `AZMED_RUNS` (runs folder, default `runs`) and
`AZMED_PACKS_DIRS` (extra pack folders, separated by the OS path separator).

The simulator is cached with `st.cache_resource` under the paths and modification times of the
pack files, so a pack author who saves a file sees the change on the next interaction. The
model is cached the same way under (model, adapter); nothing here imports torch until a page
asks for a model.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

RUNS_ENV = "AZMED_RUNS"
PACKS_ENV = "AZMED_PACKS_DIRS"
DEFAULT_RUNS = "runs"


# ---- settings ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    runs_dir: Path
    packs_dirs: tuple[str, ...]


def default_runs_dir() -> str:
    return os.environ.get(RUNS_ENV) or DEFAULT_RUNS


def default_packs_dirs() -> str:
    return os.environ.get(PACKS_ENV, "")


def split_dirs(text: str) -> tuple[str, ...]:
    """Folders written one per line, or separated by the OS path separator or commas."""
    parts = text.replace(os.pathsep, "\n").replace(",", "\n").splitlines()
    return tuple(p.strip() for p in parts if p.strip())


def settings() -> Settings:
    """The current settings: the sidebar's values, else the defaults from the environment."""
    runs = st.session_state.get("runs_dir") or default_runs_dir()
    packs = st.session_state.get("packs_dirs", default_packs_dirs())
    return Settings(Path(runs).expanduser(), split_dirs(packs))


def _keep(key: str) -> None:
    st.session_state[key] = st.session_state[f"{key}_input"]


def sidebar_settings() -> None:
    """The settings widgets, drawn by the entry script on every page.

    The values live under plain session keys (`runs_dir`, `packs_dirs`) that the widgets copy
    into on change: Streamlit forgets a widget's state when a run does not draw it, while
    plain keys survive any page, and a test may set them directly."""
    for key, default in (("runs_dir", default_runs_dir()), ("packs_dirs", default_packs_dirs())):
        st.session_state.setdefault(key, default)
        st.session_state[f"{key}_input"] = st.session_state[key]
    st.sidebar.text_input("Runs folder", key="runs_dir_input", on_change=_keep, args=("runs_dir",),
                          help="folder holding training run folders (`azmed train` writes runs/<name>)")
    st.sidebar.text_input("Extra pack folders", key="packs_dirs_input", on_change=_keep, args=("packs_dirs",),
                          help="folders of rule packs (*.yaml) to load beside the installed ones; "
                               "one per line or separated by commas")


# ---- the simulator ----------------------------------------------------------------------------

def pack_signature(packs_dirs: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    """Pack files with their modification times, so an edited pack reloads the simulator."""
    from simulator.packs import REGISTRY_FILE, pack_files
    from simulator.variables import KNOWLEDGE_DIR

    files = [KNOWLEDGE_DIR / REGISTRY_FILE, *pack_files(list(packs_dirs))]
    return tuple((str(f), f.stat().st_mtime) for f in files if f.exists())


@st.cache_resource(show_spinner="Loading the rule packs…", max_entries=4)
def _load_simulator(packs_dirs: tuple[str, ...], signature: tuple) -> Any:
    from simulator.core import Simulator

    return Simulator.load(extra_dirs=list(packs_dirs))


def missing_pack_dirs(packs_dirs: tuple[str, ...]) -> list[str]:
    return [d for d in packs_dirs if not Path(d).expanduser().exists()]


def load_simulator(packs_dirs: tuple[str, ...]):
    """The simulator over the installed packs and `packs_dirs`; raises SimulatorError."""
    from simulator.errors import SimulatorError

    missing = missing_pack_dirs(packs_dirs)
    if missing:
        raise SimulatorError(f"extra pack folder {', '.join(missing)} does not exist; fix or clear "
                             "'Extra pack folders' in the sidebar")
    dirs = tuple(str(Path(d).expanduser()) for d in packs_dirs)
    return _load_simulator(dirs, pack_signature(dirs))


def simulator_or_stop():
    """The simulator, or the load errors in the page and the page stopped."""
    from simulator.errors import PackErrors, SimulatorError

    try:
        return load_simulator(settings().packs_dirs)
    except PackErrors as exc:
        st.error("The rule packs do not load. Fix these problems (file:line: field: problem):\n\n"
                 + "\n".join(f"- {e}" for e in exc.errors))
    except SimulatorError as exc:
        st.error(f"The rule packs do not load: {exc}")
    st.stop()


@st.cache_resource(show_spinner=False, max_entries=8)
def clinical_env(_sim, sim_id: int, options: int, case_format: str = "note"):
    """The clinical environment over the loaded simulator (`options` multiple-choice answers,
    0 for a free answer; cases shown as a "note" or as "lines"). `sim_id` keys the cache to one
    simulator object."""
    from azmed.envs.clinical import ClinicalEnv

    return ClinicalEnv(simulator=_sim, choices=options, case_format=case_format)


# ---- models -----------------------------------------------------------------------------------

@st.cache_resource(show_spinner=False, max_entries=2)
def load_policy(model: str, adapter: str | None):
    """The model (and LoRA adapter), loaded once per (model, adapter) for the whole server.
    Raises azmed.model.ModelError (or the loader's own error) for a person to read."""
    from azmed.model import ModelSpec, load_policy as _load

    return _load(ModelSpec(name=model), adapter=adapter)


@st.cache_resource(show_spinner=False)
def generation_lock() -> threading.Lock:
    """One generation at a time per server: sessions share the cached model, and generating
    merges its LoRA into the weights for the duration of the call."""
    return threading.Lock()


# ---- errors -----------------------------------------------------------------------------------

def show_error(what: str, exc: BaseException) -> None:
    """An error as a sentence in the page: what failed, and the message that says how to fix it."""
    message = str(exc).strip() or exc.__class__.__name__
    st.error(f"{what}: {message}")
