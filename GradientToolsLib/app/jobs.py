"""One queue for all scene-changing work of the app, shared by every browser tab.

trame serves every tab of one server process from one event loop, one state and (here) one MRML
scene. Two tabs clicking at once must not interleave their work on that scene, and long work must
not block the loop (which also streams the rendered images). A :class:`JobQueue` runs one job at a
time, in the order the jobs arrive; each job has up to two parts:

* ``compute(progress)`` in the queue's worker thread: library work on numpy arrays or on nodes of a
  private scene (:func:`GradientToolsLib.mrml.app_scene.detached_volume`), never the shared scene;
* ``finish(result)`` on the event loop: the changes to the shared scene, where trame-slicer renders.

The next job starts only after the previous job's ``finish``, so no job sees another half done.
Jobs submitted with the same ``key`` coalesce: a job still waiting is dropped when a newer one with
its key arrives (dragging a slider queues one suggestion, not fifty).
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional

#: what :meth:`JobQueue.run` returns for a job a newer job with the same key replaced
SUPERSEDED = object()

#: seconds between two progress reports forwarded to the page
PROGRESS_INTERVAL = 0.1


@dataclass
class QueueStatus:
    """What the page shows about the queue: the running job, its progress, how many wait."""

    busy: bool = False
    title: str = ""
    fraction: float = 0.0
    message: str = ""
    waiting: int = 0


class _Worker:
    """A daemon thread running callables; results come back as futures of the caller's loop.

    A daemon thread, unlike a ThreadPoolExecutor's, does not hold the process at exit: a server
    stopped in the middle of an optimisation exits at once. :meth:`stop` ends an idle thread (a
    thread left waiting while VTK objects are destroyed at interpreter exit crashed the process).
    """

    def __init__(self) -> None:
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: Optional[threading.Thread] = None

    def submit(self, function: Callable, *args) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="gradienttools-job", daemon=True)
            self._thread.start()
        self._tasks.put((loop, future, function, args))
        return future

    def stop(self, timeout: float = 1.0) -> None:
        """End the thread after its current task (waiting at most ``timeout`` seconds for it)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._tasks.put(None)
            thread.join(timeout)

    def _serve(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            self._run(*task)
            del task  # hold nothing of a finished job while waiting for the next

    @staticmethod
    def _run(loop, future, function, args) -> None:
        try:
            result = function(*args)
        except BaseException as exc:  # handed to the awaiting coroutine, which decides
            loop.call_soon_threadsafe(_settle, future, None, exc)
        else:
            loop.call_soon_threadsafe(_settle, future, result, None)


def _settle(future: asyncio.Future, result, exc) -> None:
    if future.cancelled():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


class JobQueue:
    """Serialised jobs: compute in a worker thread, then finish on the event loop.

    Parameters
    ----------
    on_status : callable, optional
        ``on_status(QueueStatus)``, called on the event loop whenever a job starts, reports
        progress, finishes, or a job joins the queue.
    """

    def __init__(self, on_status: Optional[Callable[[QueueStatus], None]] = None) -> None:
        self._on_status = on_status
        self._worker = _Worker()
        self._lock: Optional[asyncio.Lock] = None
        self._latest: Dict[str, object] = {}
        self.status = QueueStatus()

    def _notify(self, **changes) -> None:
        for name, value in changes.items():
            setattr(self.status, name, value)
        if self._on_status is not None:
            self._on_status(self.status)

    def _progress_callback(self, loop: asyncio.AbstractEventLoop) -> Callable[[float, str], None]:
        """A ``progress(fraction, message)`` for the worker thread, forwarding at most 10 per second."""
        last = [0.0]

        def progress(fraction: float, message: str = "") -> None:
            now = time.monotonic()
            if now - last[0] < PROGRESS_INTERVAL and fraction < 1.0:
                return
            last[0] = now
            loop.call_soon_threadsafe(self._notify_progress, float(fraction), str(message))

        return progress

    def _notify_progress(self, fraction: float, message: str) -> None:
        if self.status.busy:
            self._notify(fraction=min(max(fraction, 0.0), 1.0), message=message)

    def close(self) -> None:
        """Stop the worker thread (a later :meth:`run` starts a new one)."""
        self._worker.stop()

    async def run(self, title: str, compute: Optional[Callable[[Callable], Any]] = None,
                  finish: Optional[Callable[[Any], Any]] = None, key: Optional[str] = None):
        """Queue a job and wait for it.

        Parameters
        ----------
        title : str
            What the page shows while the job runs ("computing the gradient magnitude").
        compute : callable, optional
            ``compute(progress) -> result``, run in the worker thread.
        finish : callable, optional
            ``finish(result) -> value``, run on the event loop after ``compute``.
        key : str, optional
            Jobs with the same key coalesce while waiting (the newest runs, older ones are dropped).

        Returns
        -------
        The value of ``finish`` (or the result of ``compute`` without ``finish``), or
        :data:`SUPERSEDED` when a newer job with the same key replaced this one before it started.
        Exceptions of either part propagate to the caller; the queue goes on with the next job.
        """
        if self._lock is None:
            self._lock = asyncio.Lock()
        token = object()
        if key is not None:
            self._latest[key] = token
        self._notify(waiting=self.status.waiting + 1)
        async with self._lock:
            self._notify(waiting=self.status.waiting - 1)
            if key is not None and self._latest.get(key) is not token:
                return SUPERSEDED
            self._notify(busy=True, title=title, fraction=0.0, message="")
            try:
                result = None
                if compute is not None:
                    loop = asyncio.get_running_loop()
                    result = await self._worker.submit(compute, self._progress_callback(loop))
                return finish(result) if finish is not None else result
            finally:
                self._notify(busy=False, title="", fraction=0.0, message="")
