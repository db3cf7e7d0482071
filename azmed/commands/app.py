"""`azmed app`: start the Streamlit playground (`apps/playground.py`) on a local port.

    azmed app                                   # http://127.0.0.1:8501
    azmed app --port 8600 --runs runs --packs-dir my_packs
    azmed app --address 0.0.0.0                 # reachable from other machines

The options reach the pages through the environment (`AZMED_RUNS`, `AZMED_PACKS_DIRS`, read by
`apps.resources`); the sidebar can change them while the app runs. Streamlit runs as a child
process (`python -m streamlit run`), headless, without usage statistics and without a file
watcher (the playground reloads edited packs itself). Ctrl+C or SIGTERM stops it.

Problems found before starting (Streamlit missing, a port in use, a missing pack folder) are
reported in one line with the fix, and the command exits 2.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from azmed.commands.common import fail


def playground_script() -> Path:
    """The entry script shipped in the `apps` package."""
    spec = importlib.util.find_spec("apps")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the `apps` package is not installed; reinstall azmed (pip install -e '.[app]')")
    return Path(list(spec.submodule_search_locations)[0]) / "playground.py"


def port_problem(address: str, port: int) -> str | None:
    """Why Streamlit could not listen on (address, port), or None when it can."""
    if not 1 <= port <= 65535:
        return f"port {port} is not between 1 and 65535"
    try:
        with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((address, port))
    except OSError as exc:
        return f"cannot listen on {address}:{port} ({exc.strerror or exc}); choose another --port or --address"
    return None


def streamlit_command(script: Path, address: str, port: int) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(script),
            "--server.address", address, "--server.port", str(port), "--server.headless", "true",
            "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
            "--client.toolbarMode", "viewer"]


def run(args) -> int:
    if importlib.util.find_spec("streamlit") is None:
        return fail("the playground needs Streamlit: pip install 'azmed[app]', or 'azmed[all]' for every command "
                    "(scripts/setup.sh installs it)")
    try:
        script = playground_script()
    except FileNotFoundError as exc:
        return fail(str(exc))
    if not script.is_file():
        return fail(f"{script} is missing; reinstall azmed (pip install -e '.[app]')")
    missing = [d for d in args.packs_dir if not Path(d).expanduser().is_dir()]
    if missing:
        return fail(f"--packs-dir {', '.join(missing)} is not a folder; give a folder of rule pack *.yaml files")
    problem = port_problem(args.address, args.port)
    if problem:
        return fail(problem)
    runs = Path(args.runs).expanduser().resolve()
    env = dict(os.environ)
    # As typed: the server runs in this folder, and the sidebar then shows `runs`, not a long absolute path.
    env["AZMED_RUNS"] = str(Path(args.runs).expanduser())
    env["AZMED_PACKS_DIRS"] = os.pathsep.join(str(Path(d).expanduser()) for d in args.packs_dir)
    host = f"[{args.address}]" if ":" in args.address else args.address
    note = "" if runs.is_dir() else ", not created yet"
    print(f"AZ-Med playground on http://{host}:{args.port} (runs: {runs}{note}); Ctrl+C stops it", flush=True)
    child = subprocess.Popen(streamlit_command(script, args.address, args.port), env=env)

    def stop(signum, frame):  # SIGTERM to `azmed app` stops the server too
        child.terminate()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:  # the terminal sent SIGINT to both; let Streamlit shut down
                child.send_signal(signal.SIGINT)
    finally:
        signal.signal(signal.SIGTERM, previous)
