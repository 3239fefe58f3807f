"""Raw texts → sentences in worker processes: `postag serve`'s text pool.

    pool = TextPool(workers=2, max_waiting=1024)
    split = await pool.split(["First text. Two sentences.", "Second."], 1000, 20_000)
    split.docs      # [[["First", "text", "."], ["Two", "sentences", "."]], [["Second", "."]]]
    split.offsets   # [([0, 6, 10], [5, 10, 11], []), ([12, 16, 25], [15, 25, 26], []), …]
    pool.stop()

Tokenizing is CPU-bound Python. In a thread it shares the server's GIL and its garbage
collector: a 900 kB text makes ~200,000 token objects, and the collections they trigger
stalled ``/v1/health`` by up to 150 ms (measured on 2 cores; ~25 ms at most with worker
processes). In a worker process it never touches the server's process; only the
sentences and their words' offsets come back (plain lists of strings and integers), or,
past the request limits, just their counts. At most ``workers`` texts are split at once,
at most ``max_waiting`` wait (more → 503); a worker that dies (killed, out of memory) is
replaced and its request answered 503.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from ..batching import split_documents
from ..tokenizer import Multiword, text_sentences
from .errors import HTTPError

#: A sentence's word starts and ends in its text, and its multiword tokens.
Offsets = tuple[list[int], list[int], list[Multiword]]

#: The bundle's splitter in this worker process (:func:`load_worker_splitter`); None:
#: the rule tokenizer alone.
_SPLITTER = None


def load_worker_splitter(bundle: str | None) -> None:
    """The text workers' initializer: load the splitter the bundle's manifest names once
    per worker (a trained segmenter runs its ONNX graph in the worker, one thread), so
    raw text is split in the server as ``postag tag`` and ``Tagger.tag_text`` split it."""
    global _SPLITTER
    if bundle is None:
        return
    from ..bundle import load_manifest
    from ..splitter import load_splitter

    _SPLITTER = load_splitter(load_manifest(bundle, check_model=False), "cpu", 1)


@dataclass
class Split:
    """Sentences (words) per text, each sentence's offsets in its text (all texts' in
    one list, in order), and their counts; ``docs`` and ``offsets`` are ``None`` when the
    counts are over the limits (the sentences are not worth sending back)."""

    docs: list[list[list[str]]] | None
    offsets: list[Offsets] | None
    sentences: int
    tokens: int


def split_counted(texts: list[str], max_sentences: int, max_tokens: int) -> Split:
    """Runs in a worker process: :func:`postag.batching.split_documents` with the
    bundle's splitter, counted."""
    docs = split_documents(texts, _SPLITTER.text_sentences if _SPLITTER else text_sentences)
    n_sentences = sum(len(d) for d in docs)
    n_tokens = sum(len(s.words) for d in docs for s in d)
    if n_sentences > max_sentences or n_tokens > max_tokens:
        return Split(None, None, n_sentences, n_tokens)
    words = [[s.words for s in d] for d in docs]
    offsets = [(s.starts, s.ends, s.multiword) for d in docs for s in d]
    return Split(words, offsets, n_sentences, n_tokens)


class TextPool:
    """A bounded pool of worker processes (spawned on first use) that split raw texts."""

    def __init__(self, workers: int, max_waiting: int, bundle: str | None = None) -> None:
        """``bundle``: where each worker loads its splitter from (None: the rule
        tokenizer alone, as for a bundle without a ``splitter`` field)."""
        self.workers, self.max_waiting, self.bundle = workers, max_waiting, bundle
        self.waiting = 0  # texts submitted and not yet answered
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:  # "spawn": never fork a process that runs threads
            ctx = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=ctx,
                initializer=load_worker_splitter,
                initargs=(self.bundle,),
            )
        return self._pool

    async def split(self, texts: list[str], max_sentences: int, max_tokens: int) -> Split:
        if self.waiting >= self.max_waiting:
            raise HTTPError(
                503, "overloaded", "too many texts waiting; retry shortly", {"Retry-After": "1"}
            )
        self.waiting += 1
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._executor(), split_counted, texts, max_sentences, max_tokens
            )
        except BrokenProcessPool:
            self.stop()  # the next text gets fresh workers
            raise HTTPError(
                503, "overloaded", "a text worker stopped; retry shortly", {"Retry-After": "1"}
            ) from None
        finally:
            self.waiting -= 1

    def stop(self) -> None:
        """Cancel waiting texts; running ones finish in their workers, which then exit."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
