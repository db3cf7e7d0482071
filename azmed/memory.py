"""Process memory: what a run reports (resident and peak resident set size) and a release of
freed heap back to the operating system between the phases of a step.

    from azmed.memory import device_memory, process_memory, release_memory
    process_memory()        # {"rss_mb": 1830, "peak_rss_mb": 2950}
    device_memory()         # {"cuda_peak_mb": 5120} on a GPU (torch.cuda.max_memory_allocated), else {}
    release_memory()        # after generation and after the update

Why: a step allocates and frees gigabytes (generation caches, the update's activations); glibc
keeps freed blocks mapped, so without `malloc_trim` the resident size stays at the largest phase
of any step, and fragmentation slowly raises it. Linux only (`/proc/self/status`, glibc); other
systems report the peak from `resource` and release nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import resource
import sys

_LIBC = None


def process_memory() -> dict[str, int]:
    """Resident set size now and its peak over the process's life, in MB."""
    out: dict[str, int] = {}
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key = "rss_mb" if line.startswith("VmRSS") else "peak_rss_mb"
                    out[key] = int(line.split()[1]) // 1024
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out["peak_rss_mb"] = int(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024)
    return out


def device_memory() -> dict[str, int]:
    """Peak GPU memory allocated by torch in this process, in MB, when torch is already imported
    and a CUDA device is in use; {} otherwise (this never imports torch itself)."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return {}
    return {"cuda_peak_mb": int(torch.cuda.max_memory_allocated() // (1024 * 1024))}


def release_memory() -> None:
    """Collect garbage and hand freed heap back to the operating system (glibc `malloc_trim`)."""
    global _LIBC
    gc.collect()
    if _LIBC is None:
        name = ctypes.util.find_library("c")
        try:
            _LIBC = ctypes.CDLL(name) if name else False
        except OSError:
            _LIBC = False
    if _LIBC and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)
