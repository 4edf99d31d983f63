"""`make run`'s process manager: honcho running the Procfile, tied to the life of `make run`.

    python tools/procfile_runner.py [PROCFILE]

It is `honcho start -e /dev/null` (the Makefile has already merged .env into the
environment, which wins over it), using honcho's own Manager, plus what `make run`
promises beyond it:

- SIGINT or SIGTERM: honcho stops every process (SIGTERM to each one's process group,
  SIGKILL 5 s later) and this exits 130 or 143.
- One process stops on its own: honcho stops the others; this then says which one stopped
  and exits non-zero, even when that process exited 0.
- Its parent (make) alone gets SIGINT (`kill -INT <make>` rather than Ctrl-C, which
  reaches every process): make passes SIGINT on to nobody, so this watches for it and
  stops every process as for its own SIGINT.
- Its parent (make) dies, even by SIGKILL: the kernel sends this SIGTERM
  (PR_SET_PDEATHSIG), which stops every process as above.
- This is killed hard itself: honcho's workers die with it (SIGKILL) and each Procfile
  process with its worker (SIGTERM), so no server is left holding its port.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import sys
import threading
import time

from honcho import environ
from honcho.manager import SYSTEM_PRINTER_NAME, Manager
from honcho.printer import Printer
from honcho.process import Popen, Process

PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent(sig: int) -> None:
    """Have the kernel send `sig` to this process when its parent dies (Linux)."""
    parent = os.getppid()
    if _libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != parent:  # the parent died before prctl took effect
        os.kill(os.getpid(), sig)


def _catches(pid: int, sig: int) -> bool | None:
    """Whether process `pid` has a handler for `sig` (None: it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) & (1 << (sig - 1)))
    except OSError:
        return None
    return None


def pass_on_parents_sigint() -> None:
    """GNU make forwards SIGTERM to its recipe but not SIGINT: it expects the terminal to
    have sent SIGINT to the whole process group. Its SIGINT handler first puts SIGINT
    back to the default, which /proc shows; seeing that, stop as for our own SIGINT.
    A make that ignores SIGINT (`make run &` in a script) never gets it: nothing to do."""
    parent = os.getppid()
    if not _catches(parent, signal.SIGINT):
        return

    def watch() -> None:
        while _catches(parent, signal.SIGINT):
            time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=watch, name="parent-sigint", daemon=True).start()


class _Popen(Popen):
    """honcho's Popen (a shell in its own session), dying with the worker that started it."""

    def __init__(self, cmd, **kwargs):
        super().__init__(cmd, preexec_fn=lambda: die_with_parent(signal.SIGTERM), **kwargs)


class _Process(Process):
    """honcho's worker (a fork of this process, ignoring SIGINT and SIGTERM), dying with it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._child_ctor = _Popen

    def run(self, events=None, ignore_signals=False):
        die_with_parent(signal.SIGKILL)
        super().run(events, ignore_signals)


class _Printer(Printer):
    """honcho's printer, remembering what ended the run: a signal or a process stopping."""

    _STOPPED = re.compile(r"(\S+?)(?:\.\d+)? stopped \(rc=(-?\d+)\)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.first_stopped: tuple[str, int] | None = None
        self.signalled = False

    def write(self, message):
        if message.name == SYSTEM_PRINTER_NAME and not (self.signalled or self.first_stopped):
            text = str(message.data)
            stopped = self._STOPPED.match(text)
            if stopped:
                self.first_stopped = (stopped.group(1), int(stopped.group(2)))
            elif " received" in text:
                self.signalled = True
        super().write(message)


def main(argv: list[str]) -> int:
    procfile_path = argv[1] if len(argv) > 1 else "Procfile"
    with open(procfile_path, encoding="utf-8") as f:
        processes = environ.parse_procfile(f.read()).processes
    if not processes:
        print(f"{procfile_path} names no process", file=sys.stderr)
        return 1
    die_with_parent(signal.SIGTERM)
    pass_on_parents_sigint()
    printer = _Printer(sys.stdout)
    manager = Manager(printer)
    manager._process_ctor = _Process
    for p in environ.expand_processes(processes):
        manager.add_process(p.name, p.cmd, quiet=p.quiet, env={**os.environ, **p.env})
    manager.loop()
    if printer.first_stopped and not printer.signalled:
        name, rc = printer.first_stopped
        how = f"killed by {signal.Signals(-rc).name}" if rc < 0 else f"exit status {rc}"
        print(
            f"\n*** {name} stopped ({how}), so honcho stopped the others; its output is above.",
            file=sys.stderr,
            flush=True,
        )
        # A signal's number as a shell reports it (SIGKILL: 137); 0 becomes 1.
        return rc if rc > 0 else 128 - rc if rc < 0 else 1
    return manager.returncode if manager.returncode is not None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
