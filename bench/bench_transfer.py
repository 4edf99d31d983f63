"""Benchmark the localglobus task engine against `cp` on the same disk, in the same run.

Cases:
  (a) one 1 GiB file                      vs  cp
  (b) 5,000 files of 4 KiB                vs  cp -r
  (c) one 1 GiB file with verify_checksum vs  cp followed by sha256sum

Each localglobus run is a real task: submitted through the Transfer API (in process,
Flask test client) and run by the engine's worker thread; it is timed from the POST to
the moment the task is SUCCEEDED. Runs of both tools are interleaved; medians are shown.

    .venv/bin/python bench/bench_transfer.py [--dir DIR] [--runs 3] [--size-mib 1024]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

CASES = ("a", "b", "c")


def make_data(src: Path, size_mib: int, files: int) -> None:
    block = os.urandom(16 << 20)
    with open(src / "big.bin", "wb") as fh:
        for i in range(size_mib // 16):
            # Vary each block a little so nothing can deduplicate it.
            fh.write(i.to_bytes(8, "little") + block[8:])
    small = src / "small"
    small.mkdir()
    payload = os.urandom(4096)
    for i in range(files):
        (small / f"f{i:05d}.dat").write_bytes(payload[:-8] + i.to_bytes(8, "little"))


class LocalGlobus:
    """An in-process localglobus with two mapped collections on `src` and `dst`."""

    def __init__(self, work: Path, src: Path, dst: Path):
        from localglobus.app import create_app
        from localglobus.auth import tokens
        from localglobus.auth.identities import identity_set_of
        from localglobus.auth.tokens import Caller, data_access_scope
        from localglobus.config import Settings
        from localglobus.db import Database
        from localglobus.models import Identity
        from localglobus.transfer.commands import create_collection

        bench_id = "b0000000-0000-4000-8000-000000000001"

        settings = Settings(home=work / "home")
        db = Database(settings.db_path)
        db.create_all()
        with db.session() as session:
            # An identity of the default gateway's domain, so that the tasks may log in.
            session.add(Identity(id=bench_id, username="bench@uni.example", name="Bench"))
            self.src = create_collection(session, "bench-src", root=str(src)).id
            self.dst = create_collection(session, "bench-dst", root=str(dst)).id
            identity_set = identity_set_of(session, bench_id)
        db.engine.dispose()
        consents = frozenset(data_access_scope(c) for c in (self.src, self.dst))
        caller = Caller(
            bench_id,
            "bench@uni.example",
            "bench",
            frozenset(),
            consents,
            identity_set=identity_set,
        )
        tokens.authenticate = lambda resource_server=None: caller  # no tokens in a benchmark
        self.app = create_app(settings)
        self.client = self.app.test_client()
        self.db_path = settings.db_path

    def status(self, task_id: str) -> tuple[str, int]:
        # A plain read of the state file: polling through the API would cost CPU.
        with sqlite3.connect(self.db_path) as conn:
            return conn.execute(
                "SELECT status, faults FROM transfer_tasks WHERE id = ?", (task_id,)
            ).fetchone()

    def transfer(self, source: str, destination: str, recursive: bool, verify: bool) -> float:
        sid = self.client.get("/v0.10/submission_id").json["value"]
        doc = {
            "DATA_TYPE": "transfer",
            "submission_id": sid,
            "source_endpoint": self.src,
            "destination_endpoint": self.dst,
            "verify_checksum": verify,
            "DATA": [
                {"source_path": source, "destination_path": destination, "recursive": recursive}
            ],
        }
        started = time.perf_counter()
        task_id = self.client.post("/v0.10/transfer", json=doc).json["task_id"]
        while (state := self.status(task_id))[0] == "ACTIVE":
            if state[1]:  # a fault (a refused login, say) would make it wait forever
                raise SystemExit(f"task {task_id} met a fault: see its event list")
            time.sleep(0.005)
        status = state[0]
        elapsed = time.perf_counter() - started
        if status != "SUCCEEDED":
            raise SystemExit(f"task {task_id} ended {status}")
        return elapsed

    def stop(self) -> None:
        self.app.extensions["localglobus"].engine.stop()


def timed(*commands: list[str]) -> float:
    started = time.perf_counter()
    for command in commands:
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def run(args) -> None:
    base = Path(tempfile.mkdtemp(prefix="lg-bench-", dir=args.dir))
    src, dst = base / "src", base / "dst"
    src.mkdir()
    dst.mkdir()
    print(f"preparing {args.size_mib} MiB and {args.files} x 4 KiB files in {base} ...")
    make_data(src, args.size_mib, args.files)
    subprocess.run(["sync"], check=True)
    lg = LocalGlobus(base, src, dst)
    times = {f"{case}-{tool}": [] for case in CASES for tool in ("lg", "cp")}
    try:
        for i in range(args.runs):
            for case in CASES:
                target = dst / f"{case}{i}"
                if case in ("a", "c"):
                    times[f"{case}-lg"].append(
                        lg.transfer("/big.bin", f"/{case}{i}-lg.bin", False, case == "c")
                    )
                    copy = dst / f"{case}{i}-cp.bin"
                    commands = [["cp", str(src / "big.bin"), str(copy)]]
                    if case == "c":
                        commands.append(["sha256sum", str(copy)])
                    times[f"{case}-cp"].append(timed(*commands))
                    os.unlink(dst / f"{case}{i}-lg.bin")
                    os.unlink(copy)
                else:
                    times["b-lg"].append(lg.transfer("/small/", f"/{case}{i}-lg/", True, False))
                    times["b-cp"].append(timed(["cp", "-r", str(src / "small"), str(target)]))
                    shutil.rmtree(dst / f"{case}{i}-lg")
                    shutil.rmtree(target)
                subprocess.run(["sync"], check=True)
    finally:
        lg.stop()
        shutil.rmtree(base, ignore_errors=True)
    report(times, args)


def report(times: dict, args) -> None:
    sizes = {
        "a": args.size_mib << 20,
        "b": args.files * 4096,
        "c": args.size_mib << 20,
    }
    labels = {
        "a": f"(a) one {args.size_mib} MiB file",
        "b": f"(b) {args.files} files of 4 KiB",
        "c": f"(c) {args.size_mib} MiB, verify_checksum vs cp+sha256sum",
    }
    aims = {"a": 0.95, "b": 0.8, "c": 1.0}
    print(f"\n{'case':46} {'localglobus':>18} {'cp':>18} {'ratio':>6} {'aim':>5}")
    for case in CASES:
        mib = sizes[case] / (1 << 20)
        lg_s = statistics.median(times[f"{case}-lg"])
        cp_s = statistics.median(times[f"{case}-cp"])
        ratio = cp_s / lg_s  # localglobus throughput relative to cp's
        print(
            f"{labels[case]:46} {lg_s:7.3f}s {mib / lg_s:6.0f}MiB/s"
            f" {cp_s:7.3f}s {mib / cp_s:6.0f}MiB/s {ratio:6.2f} {aims[case]:5.2f}"
        )
    print(f"\nratio = cp time / localglobus time; medians of {args.runs} runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", help="where to put the data (default: the temp dir)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=5000)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
