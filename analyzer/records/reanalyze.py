"""Re-analyse an archive: every photo missing an analysis at this algorithm version (over its view's
current measured area), in parallel.

Worker processes measure (the pure :func:`analyzer.records.analysis.run`);
this process alone writes the results, one transaction per photo, so an
interrupted run keeps what it finished and the next run does the rest.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field

from tqdm import tqdm

from analyzer.records.access import Actor
from analyzer.records.analysis import Outcome, run
from analyzer.records.repository import Records
from analyzer.records.store import ImageStore

__all__ = ["Summary", "reanalyze"]


@dataclass
class Summary:
    """What a re-analysis did: photos per outcome status, failures with their reasons, seconds."""

    counts: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"photos": sum(self.counts.values()),
                **{k: self.counts[k] for k in ("measured", "refused", "no_skin", "failed")},
                "failures": self.failures, "seconds": round(self.seconds, 1)}


def reanalyze(records: Records, *, workers: int | None = None, everything: bool = False,
              progress: bool = True) -> Summary:
    """Analyse every photo whose analysis is missing (or every photo if ``everything``).

    Parameters
    ----------
    workers : int, optional
        Processes measuring in parallel (default: the machine's cores).
    everything : bool
        Recompute analyses that are already cached too.
    progress : bool
        Show a progress bar on standard error.
    """
    start = time.perf_counter()
    system = Actor.system("reanalyze")
    todo = records.pending_analyses(system, all_versions=everything)
    summary = Summary()
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo) or 1))
    bar = tqdm(total=len(todo), unit="photo", desc="analysing", disable=not progress, file=sys.stderr)
    context = multiprocessing.get_context("spawn")  # no forked copies of open connections or threads
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker) as pool:
        queue = list(reversed(todo))
        running = {}
        while queue or running:
            while queue and len(running) < 2 * workers:  # bounded: photos are read in the workers
                photo_id, baseline_id, sha, base_sha, outline = queue.pop()
                future = pool.submit(_measure, records.store, sha, base_sha, outline)
                running[future] = (photo_id, baseline_id)
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                photo_id, baseline_id = running.pop(future)
                try:
                    outcome = future.result()
                    records.save_analysis(system, photo_id, baseline_id, outcome)
                    summary.counts[outcome.status] += 1
                except Exception as err:  # noqa: BLE001 -- one bad photo must not stop the archive
                    summary.counts["failed"] += 1
                    summary.failures.append(f"photo {photo_id}: {type(err).__name__}: {err}")
                bar.update(1)
    bar.close()
    summary.seconds = time.perf_counter() - start
    return summary


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)  # the processes are the parallelism


def _measure(store: ImageStore, sha: str, base_sha: str | None, outline: list | None) -> Outcome:
    return run(store.get(sha), None if base_sha is None else store.get(base_sha), outline)
