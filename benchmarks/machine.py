"""The machine a benchmark runs on: its CPU flags, its measured matmul peak, and the process's
peak resident set size between two points of a run.

    .venv/bin/python benchmarks/machine.py              # flags and matmul peak at torch's threads
    .venv/bin/python benchmarks/machine.py --threads 2

Imported by the other benchmarks (`from benchmarks.machine import cpu_flags, matmul_peak`).

- `cpu_flags()`: what `lscpu | grep -o 'avx512_bf16\\|avx2' | sort -u` prints, read from
  /proc/cpuinfo (the flags that decide every figure here).
- `matmul_peak(dtype)`: GFLOP/s of `torch.matmul` on large square matrices (2·n³ FLOPs each),
  the best of repeated products over about a second, at the current torch thread count. This is
  the physical limit a model's matmuls can reach on this machine; measure it in the same process
  as the figures it is compared with. bf16 is measured only where the CPU has native bf16
  (the model loader's own test); elsewhere torch emulates it, slower than fp32,
  and AZ-Med does not use it.
- `reset_peak_rss()` / `peak_rss_mb()`: Linux's VmHWM, reset by writing 5 to
  /proc/self/clear_refs, so one process can report the peak of each part it runs.

Limits: Linux for the RSS reset (elsewhere the peak is the process's); the peak is of one
matrix size (`n`, default 2048), enough to leave the overhead-bound regime on 2-64 cores.
"""

from __future__ import annotations

import argparse
import time


def cpu_flags() -> str:
    """'avx2 avx512_bf16', 'avx2', ... as lscpu would list them."""
    try:
        with open("/proc/cpuinfo") as fh:
            flags = next((line.split(":", 1)[1].split() for line in fh if line.startswith("flags")), [])
    except OSError:
        return "unknown"
    return " ".join(sorted(f for f in set(flags) if f in ("avx2", "avx512_bf16"))) or "neither avx2 nor avx512_bf16"


def native_bf16() -> bool:
    """Whether the CPU multiplies bf16 natively (the same test the model loader uses)."""
    from azmed.model import _cpu_has_bf16

    return _cpu_has_bf16()


def matmul_peak(dtype: str = "float32", n: int = 2048, seconds: float = 1.0) -> float:
    """Measured GFLOP/s of an n x n matmul in `dtype` at the current torch thread count."""
    import torch

    dt = getattr(torch, dtype)
    a, b = torch.randn(n, n).to(dt), torch.randn(n, n).to(dt)
    with torch.inference_mode():
        torch.matmul(a, b)  # first call: allocation and kernel selection
        best, start = float("inf"), time.perf_counter()
        while time.perf_counter() - start < seconds or best == float("inf"):
            t0 = time.perf_counter()
            torch.matmul(a, b)
            best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def peaks() -> dict[str, float]:
    """{'float32': GFLOP/s, 'bfloat16': GFLOP/s (only where native)}."""
    out = {"float32": matmul_peak("float32")}
    if native_bf16():
        out["bfloat16"] = matmul_peak("bfloat16")
    return out


def reset_peak_rss() -> bool:
    """Start a new peak-RSS window (Linux); False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> int:
    """Peak resident set size since the process started or `reset_peak_rss`, in MB."""
    from azmed.memory import process_memory

    return process_memory().get("peak_rss_mb", 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    args = ap.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"[cpu] flags: {cpu_flags()} | torch threads {torch.get_num_threads()}")
    for dtype, gflops in peaks().items():
        print(f"[cpu] matmul peak {dtype}: {gflops:.0f} GFLOP/s")


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
    main()
