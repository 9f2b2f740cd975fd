"""Running a program that starts helpers of its own (a headless browser) without leaving any.

:func:`run_group` runs the program in a process group of its own and, when the call ends
(finished, timed out or interrupted by Ctrl-C), kills the whole group and waits until none of
it runs: no helper writes into a folder after the caller has cleaned it up.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["run_group"]


def run_group(command: Sequence[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``command`` (its output captured as text) and end every process it started.

    Raises ``subprocess.TimeoutExpired`` after ``timeout`` seconds and passes on
    ``KeyboardInterrupt``; either way, as on success, the program and its helpers are killed
    and gone before this returns or raises.

    Examples
    --------
    >>> run_group(["echo", "hello"], timeout=10).stdout
    'hello\\n'
    """
    proc = subprocess.Popen(
        list(command),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group: the helpers it starts can be found and ended
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        _end_group(proc)
        proc.communicate()  # read what is left, close the pipes
        raise
    _end_group(proc)  # helpers the program left running
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _end_group(proc: subprocess.Popen[str], *, wait: float = 5.0) -> None:
    """Kill the process group ``proc`` leads and wait (at most ``wait`` s) until none of it runs."""
    if not hasattr(os, "killpg"):  # pragma: no cover - Windows has no process groups
        proc.kill()
        proc.wait()
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + wait
    while _group_runs(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.02)


def _group_runs(pgid: int) -> bool:
    """Whether a process of the group ``pgid`` still runs (a zombie, already dead, does not)."""
    proc = Path("/proc")
    if not proc.is_dir():  # pragma: no cover - no /proc: signal 0 tells whether any is left
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            state, _, group = stat.read_text(encoding="utf-8").rsplit(")", 1)[1].split()[:3]
        except (OSError, IndexError, ValueError):
            continue
        if group == str(pgid) and state != "Z":
            return True
    return False
