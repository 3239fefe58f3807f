"""Dynamic micro-batching: concurrent requests share session runs.

Requests wait in a bounded queue; one worker task drains it into batches of at most
``max_batch_tokens`` tokens, waiting at most ``max_wait_ms`` for a batch to fill, runs
the session once per batch in its own thread (never on the event loop, never queued
behind other work), and hands each request its own results: every head's labels, and of
the probabilities and top-k the batch computed only what that request asked for. A full
queue is a 503 with ``Retry-After``. The fp32 model is padding-invariant, so a request's
tags are the same batched or alone.

Given :class:`~postag.serve.metrics.ServeMetrics`, each session run's requests and tokens
are observed (``postag_batch_requests``, ``postag_batch_tokens``) and the queue's depth
kept (``postag_queue_depth``).
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..batching import regroup
from ..tagger import TaggedSentence, Tagger
from .config import ServeConfig
from .errors import HTTPError
from .metrics import ServeMetrics


@dataclass
class _Job:
    sentences: list[list[str]]
    top_k: int
    probs: bool
    future: asyncio.Future = field(repr=False)

    @property
    def tokens(self) -> int:
        return sum(len(s) for s in self.sentences)


@dataclass
class BatcherStats:
    requests: int = 0
    batches: int = 0
    max_requests_per_batch: int = 0
    rejected: int = 0


class MicroBatcher:
    """Groups concurrent requests into session runs under a token budget and a max wait."""

    def __init__(
        self, tagger: Tagger, cfg: ServeConfig, metrics: ServeMetrics | None = None
    ) -> None:
        self.tagger = tagger
        self.cfg = cfg
        self.metrics = metrics
        self.queue: asyncio.Queue[_Job] = asyncio.Queue(maxsize=cfg.queue_size)
        self.stats = BatcherStats()
        self._worker: asyncio.Task | None = None
        self._session = ThreadPoolExecutor(1, thread_name_prefix="postag-session")

    def start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Finish every queued request, then stop the worker."""
        await self.queue.join()
        if self._worker:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        self._session.shutdown(wait=False)

    async def submit(
        self, sentences: list[list[str]], top_k: int, probs: bool
    ) -> list[TaggedSentence]:
        job = _Job(sentences, top_k, probs, asyncio.get_running_loop().create_future())
        try:
            self.queue.put_nowait(job)
        except asyncio.QueueFull:
            self.stats.rejected += 1
            raise HTTPError(
                503, "overloaded", "the request queue is full; retry shortly", {"Retry-After": "1"}
            ) from None
        self.stats.requests += 1
        self._depth()
        return await job.future

    def _depth(self) -> None:
        if self.metrics is not None:
            self.metrics.queue_depth.set(self.queue.qsize())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self.queue.get()]
            self._depth()
            tokens = batch[0].tokens
            deadline = loop.time() + self.cfg.max_wait_ms / 1000
            while tokens < self.cfg.max_batch_tokens:
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self.queue.get(), timeout)
                except TimeoutError:
                    break
                self._depth()
                batch.append(job)
                tokens += job.tokens
            await self._process(batch)

    async def _process(self, batch: list[_Job]) -> None:
        self.stats.batches += 1
        self.stats.max_requests_per_batch = max(self.stats.max_requests_per_batch, len(batch))
        if self.metrics is not None:
            self.metrics.batch_requests.observe(len(batch))
            self.metrics.batch_tokens.observe(sum(job.tokens for job in batch))
        loop = asyncio.get_running_loop()
        try:
            answers: list[list[TaggedSentence] | Exception] = await loop.run_in_executor(
                self._session, self._tag, batch
            )
        except Exception as exc:  # never leave a request hanging
            answers = [exc] * len(batch)
        for job, answer in zip(batch, answers, strict=True):
            if not job.future.done():
                if isinstance(answer, Exception):
                    job.future.set_exception(answer)
                else:
                    job.future.set_result(answer)
            self.queue.task_done()

    def _tag(self, batch: list[_Job]) -> list[list[TaggedSentence]]:
        """In the session thread: one session run for the whole batch, then each request's
        own results, with exactly the extras it asked for."""
        flat = [s for job in batch for s in job.sentences]
        top_k = max(job.top_k for job in batch)
        probs = any(job.probs for job in batch)
        results = self.tagger.tag_batch(flat, top_k, probs, self.cfg.max_batch_tokens)
        answers = regroup(results, [job.sentences for job in batch])
        for job, mine in zip(batch, answers, strict=True):
            for r in mine:
                trim(r, self.tagger.heads, job.top_k, job.probs)
        return answers


def trim(result: TaggedSentence, heads: list[str], top_k: int, probs: bool) -> None:
    """Keep, for every head, exactly what a request asked for of its batch's results:
    the probabilities with ``probs`` or ``top_k`` (as :meth:`Tagger.tag_batch` gives
    them), the ``top_k`` best (already capped at each head's label count)."""
    for head in heads:
        head_probs = result.head_probs(head) if probs or top_k else None
        top = [row[:top_k] for row in result.head_top_k(head) or []] if top_k else None
        result.set_head(head, result.labels(head) or [], head_probs, top)
