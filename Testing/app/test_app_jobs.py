"""The app's job queue: one job at a time in arrival order, compute off the event loop, coalescing.

Pure asyncio and threads (no trame, no Slicer): the rules every tab's actions rely on.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from GradientToolsLib.app.jobs import SUPERSEDED, JobQueue


def run(coroutine):
    return asyncio.run(coroutine)


def test_jobs_from_many_callers_never_overlap_and_keep_their_order():
    spans, order = [], []
    lock = threading.Lock()

    def job(name, seconds):
        def compute(progress):
            start = time.perf_counter()
            time.sleep(seconds)
            with lock:
                spans.append((start, time.perf_counter(), name))
            return name

        def finish(result):
            order.append(result)
            return result.upper()

        return compute, finish

    async def main():
        queue = JobQueue()
        tasks = []
        for i in range(6):
            compute, finish = job(f"job{i}", 0.02 * (6 - i))  # later jobs are shorter: no natural order
            tasks.append(asyncio.ensure_future(queue.run(f"job {i}", compute, finish)))
            await asyncio.sleep(0)
        return await asyncio.gather(*tasks)

    results = run(main())
    assert results == [f"JOB{i}" for i in range(6)]
    assert order == [f"job{i}" for i in range(6)]
    spans.sort()
    for (_, end, _), (start, _, _) in zip(spans, spans[1:]):
        assert start >= end, "two jobs computed at the same time"


def test_compute_runs_in_the_worker_thread_and_finish_on_the_event_loop():
    threads = {}

    async def main():
        queue = JobQueue()
        loop_thread = threading.get_ident()

        def compute(progress):
            threads["compute"] = threading.get_ident()

        def finish(_):
            threads["finish"] = threading.get_ident()

        await queue.run("t", compute, finish)
        return loop_thread

    loop_thread = run(main())
    assert threads["finish"] == loop_thread
    assert threads["compute"] != loop_thread


def test_the_event_loop_keeps_running_while_a_job_computes():
    ticks = []

    async def main():
        queue = JobQueue()

        async def ticker():
            while True:
                ticks.append(time.perf_counter())
                await asyncio.sleep(0.01)

        task = asyncio.ensure_future(ticker())
        await queue.run("slow", lambda progress: time.sleep(0.3))
        task.cancel()

    run(main())
    assert len(ticks) >= 10  # a blocked loop would have ticked once


def test_a_waiting_job_is_dropped_when_a_newer_one_with_its_key_arrives():
    ran = []

    async def main():
        queue = JobQueue()
        first = asyncio.ensure_future(queue.run("busy", lambda p: time.sleep(0.1)))
        await asyncio.sleep(0.01)
        waiting = [asyncio.ensure_future(queue.run("s", lambda p, i=i: ran.append(i) or i, key="suggest"))
                   for i in range(5)]
        await asyncio.sleep(0)
        return await first, await asyncio.gather(*waiting)

    _, results = run(main())
    assert results[:4] == [SUPERSEDED] * 4
    assert results[4] == 4 and ran == [4]


def test_errors_reach_the_caller_and_the_queue_goes_on():
    async def main():
        queue = JobQueue()

        def broken(progress):
            raise ValueError("bad input")

        failed = asyncio.ensure_future(queue.run("broken", broken))
        after = asyncio.ensure_future(queue.run("after", lambda p: 42))
        with pytest.raises(ValueError, match="bad input"):
            await failed
        return await after, queue.status.busy

    assert run(main()) == (42, False)


def test_progress_and_status_reach_the_page_on_the_event_loop():
    seen = []

    async def main():
        loop_thread = threading.get_ident()

        def on_status(status):
            seen.append((threading.get_ident() == loop_thread, status.busy, status.title, status.fraction,
                         status.message, status.waiting))

        queue = JobQueue(on_status)

        def compute(progress):
            progress(0.5, "half")
            time.sleep(0.05)
            progress(1.0, "done")

        await queue.run("working", compute)

    run(main())
    assert all(on_loop for on_loop, *_ in seen)
    assert (True, True, "working", 0.5, "half", 0) in seen
    assert (True, True, "working", 1.0, "done", 0) in seen
    assert seen[-1][1:3] == (False, "")
