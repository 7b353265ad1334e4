"""The memory allocator under torch: tcmalloc where it is installed, glibc's malloc otherwise.

Every 4 s chunk the detector scores makes maps of tens of MB (the UNet's first level: 32
channels x 1040 bins x 352 frames, 47 MB in float32), freed and made again for the next
chunk. glibc's malloc serves any block over 32 MB with a fresh ``mmap`` and returns it to the
kernel on ``free``, so each such map is page-faulted in (and zeroed by the kernel) anew;
tcmalloc (Debian's ``libtcmalloc-minimal4``) keeps freed blocks and hands them out again. The
arithmetic is the same, bit for bit; on 2 cores of an Emerald Rapids Xeon without AMX the
default (int8) detector scored 1.4x faster and the classifier's training loop ran 1.3x faster,
while a whole laptop run, two processes at once, did not get measurably faster
(``benchmarks/README.md``; ``benchmarks/allocator.py`` measures it, ``make speed`` prints the
ratio for the default path).

An allocator is chosen when a process starts (``LD_PRELOAD``), not from inside it, so:

* the Makefile starts its Python processes (tests, notebooks, ``make reproduce``,
  ``make speed``) under the library this module finds, and everything they start inherits it;
* the ``artifactnet`` command and the notebook runner
  (``python -m artifactnet_core.experiments.runner``) restart themselves under it once
  (:func:`restart_under_tcmalloc`); a notebook opened in Jupyter runs under the allocator its
  kernel was started with.

``ARTIFACTNET_TCMALLOC=0`` keeps glibc's malloc everywhere. No torch import: the Makefile runs
``python -m artifactnet_core.allocator``, which prints the variables that start a command under
tcmalloc (``LD_PRELOAD=... TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD=...``; nothing if none).
"""

from __future__ import annotations

import glob
import os
import shlex
import sys
from collections.abc import Sequence

#: Where Debian/Ubuntu (multiarch) and other Linux distributions put the library.
TCMALLOC_GLOBS = ("/usr/lib/*-linux-gnu/libtcmalloc_minimal.so.4",
                  "/usr/lib64/libtcmalloc_minimal.so.4", "/usr/lib/libtcmalloc_minimal.so.4",
                  "/usr/local/lib/libtcmalloc_minimal.so.4")
#: tcmalloc writes a line to stderr for every allocation over this many bytes (default 1 GiB,
#: which a long file's spectrogram can reach): raised so that notebooks and the CLI stay quiet.
REPORT_THRESHOLD = str(2 ** 40)


def tcmalloc_library() -> str | None:
    """Path of ``libtcmalloc_minimal.so.4`` on this machine, or ``None`` (not installed, not
    Linux, or ``ARTIFACTNET_TCMALLOC=0``)."""
    if os.environ.get("ARTIFACTNET_TCMALLOC", "") == "0" or not sys.platform.startswith("linux"):
        return None
    for pattern in TCMALLOC_GLOBS:
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    return None


def malloc_in_use() -> str:
    """``"tcmalloc"`` when a tcmalloc library is loaded into this process, else ``"glibc"`` on
    Linux and ``"system"`` elsewhere."""
    try:
        with open("/proc/self/maps") as maps:
            if any("libtcmalloc" in line for line in maps):
                return "tcmalloc"
    except OSError:
        return "system"
    return "glibc"


def tcmalloc_environment(env: dict[str, str] | None = None) -> dict[str, str] | None:
    """A copy of ``env`` (default ``os.environ``) that starts a process under tcmalloc (its
    library first in ``LD_PRELOAD``), or ``None`` where there is no library to load."""
    library = tcmalloc_library()
    if library is None:
        return None
    env = dict(os.environ if env is None else env)
    preload = env.get("LD_PRELOAD", "")
    if library not in preload.split():
        env["LD_PRELOAD"] = f"{library} {preload}".strip()
    env.setdefault("TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD", REPORT_THRESHOLD)
    return env


def glibc_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of ``env`` (default ``os.environ``) that starts a process under glibc's malloc:
    tcmalloc out of ``LD_PRELOAD`` and ``ARTIFACTNET_TCMALLOC=0`` (so it does not restart)."""
    env = dict(os.environ if env is None else env)
    kept = [lib for lib in env.get("LD_PRELOAD", "").split() if "libtcmalloc" not in lib]
    env["LD_PRELOAD"] = " ".join(kept)
    if not kept:
        del env["LD_PRELOAD"]
    env["ARTIFACTNET_TCMALLOC"] = "0"
    return env


def restart_under_tcmalloc(module: str, argv: Sequence[str]) -> None:
    """Replace this process by ``python -m module *argv`` under tcmalloc, unless it already
    runs under it or there is none; returns only in those cases. Call it before reading any
    input: the new process keeps the open files (stdin, stdout) and nothing else."""
    if malloc_in_use() == "tcmalloc":
        return
    env = tcmalloc_environment()
    if env is None or env.get("ARTIFACTNET_TCMALLOC_RESTARTED") == "1":
        return  # a library that would not load must not restart the process forever
    env["ARTIFACTNET_TCMALLOC_RESTARTED"] = "1"
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", module, *argv], env)


def shell_prefix() -> str:
    """``NAME=value`` words that start a shell command under tcmalloc (empty if none)."""
    env = tcmalloc_environment()
    if env is None:
        return ""
    return " ".join(f"{name}={shlex.quote(env[name])}"
                    for name in ("LD_PRELOAD", "TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD"))


if __name__ == "__main__":
    print(shell_prefix())
