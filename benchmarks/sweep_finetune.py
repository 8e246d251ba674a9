"""Run many ``bench_finetune_stability.py`` jobs side by side: a GPU server's cores and its GPU, filled.

Each non-blank line of JOBS (``#`` starts a comment) is one run's arguments for ``bench_finetune_stability.py``,
optionally prefixed by ``after=PATH`` (start only once PATH exists: a model another process is still
pre-training). Jobs start in file order, ``--workers`` at a time, each at ``--threads`` torch threads; a job
waiting for its PATH lets later ones go first. Each finished job's output is appended to LOG as a block headed by
its number, arguments, exit status and seconds. At ``--deadline`` seconds no job starts any more and the running
ones are stopped, their output so far logged, so a hard time limit (a lent GPU's) still returns every result
that finished.

Usage: python benchmarks/sweep_finetune.py JOBS LOG [--workers 6] [--threads 2] [--deadline 3600]
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent / "bench_finetune_stability.py"


@dataclass
class Job:
    """One benchmark run: its number, arguments and the file it waits for."""

    number: int
    arguments: list[str]
    after: Path | None = None
    process: subprocess.Popen | None = None
    output: Path | None = None
    began: float = 0.0

    def ready(self) -> bool:
        return self.after is None or self.after.exists()


def read_jobs(path: Path) -> list[Job]:
    """The jobs of a JOBS file, numbered from 1 in file order."""
    jobs = []
    for line in path.read_text().splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        after = Path(words.pop(0).removeprefix("after=")) if words[0].startswith("after=") else None
        jobs.append(Job(len(jobs) + 1, words, after))
    return jobs


def start(job: Job, threads: int, folder: Path) -> None:
    """Launch ``job`` at ``threads`` torch threads, its output into a file of ``folder``."""
    env = os.environ | {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "PYTHONUNBUFFERED": "1"}
    job.output = folder / f"job{job.number}.log"
    with job.output.open("w") as sink:
        job.process = subprocess.Popen(
            [sys.executable, str(BENCH), *job.arguments], stdout=sink, stderr=subprocess.STDOUT, env=env
        )
    job.began = time.monotonic()


def record(job: Job, log: Path, status: str) -> None:
    """Append a started ``job``'s output to ``log`` as one block."""
    seconds = time.monotonic() - job.began
    text = job.output.read_text(errors="replace")
    with log.open("a") as sink:
        sink.write(f"=== job {job.number}: {shlex.join(job.arguments)} | {status}, {seconds:.0f} s\n{text}\n")


def sweep(jobs: list[Job], log: Path, workers: int, threads: int, deadline: float) -> None:
    """Run ``jobs`` ``workers`` at a time until all have finished or ``deadline`` seconds have passed."""
    began, pending, running = time.monotonic(), list(jobs), []
    with tempfile.TemporaryDirectory() as folder:
        while pending or running:
            for job in [job for job in running if job.process.poll() is not None]:
                running.remove(job)
                record(job, log, f"exit {job.process.returncode}")
            if time.monotonic() - began >= deadline:
                for job in running:
                    job.process.kill()
                    job.process.wait()
                    record(job, log, "stopped at the deadline")
                for job in pending:
                    with log.open("a") as sink:
                        sink.write(f"=== job {job.number}: {shlex.join(job.arguments)} | not started\n")
                return
            while len(running) < workers and (ready := next((job for job in pending if job.ready()), None)):
                pending.remove(ready)
                start(ready, threads, Path(folder))
                running.append(ready)
            time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("jobs", type=Path)
    parser.add_argument("log", type=Path)
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--deadline", type=float, default=float("inf"), help="seconds")
    args = parser.parse_args()
    sweep(read_jobs(args.jobs), args.log, args.workers, args.threads, args.deadline)


if __name__ == "__main__":
    main()
