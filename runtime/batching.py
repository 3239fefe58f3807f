"""How work is batched, written once and shared by every backend and surface.

* documents → sentences (with each word's character offsets in its text) → one flat
  list → results regrouped per document (:func:`split_documents`, :func:`flatten`,
  :func:`regroup`): ``Tagger.tag_many``, the server and Spark all go through these;
* the flat list → length buckets under a padded-token budget (:func:`length_batches`,
  :func:`run_batched`): the runtime, PyTorch, the gate and the parity suite alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from .tokenizer import TextSentence, text_sentences
from .vocab import EncodedBatch, Encoder

T = TypeVar("T")

#: Default budget of padded tokens per session run. Measured with `make bench`'s data on
#: 2 cores (all 2,077 EWT test sentences, fast graph): 512-1,024 tokens per run give the
#: most words/s (~26k); 8,192 gave 19k (bigger LSTM batches run slower here).
MAX_BATCH_TOKENS = 1024


def split_documents(
    texts: Iterable[str | None], split: Callable[[str], list[TextSentence]] = text_sentences
) -> list[list[TextSentence]]:
    """Raw texts → per-text lists of tokenized sentences, each word with its offsets in
    its text (``None`` or blank → ``[]``); ``split``: the bundle's splitter
    (:meth:`postag.splitter.Splitter.text_sentences`), by default the rule tokenizer."""
    return [split(t) if t else [] for t in texts]


def flatten(docs: Sequence[Sequence[T]]) -> list[T]:
    """All documents' items in one list, document after document."""
    return [item for doc in docs for item in doc]


def regroup(flat: Sequence[T], docs: Sequence[Sequence[object]]) -> list[list[T]]:
    """Inverse of :func:`flatten`: ``flat`` cut back into ``docs``' sizes."""
    out, k = [], 0
    for doc in docs:
        out.append(list(flat[k : k + len(doc)]))
        k += len(doc)
    if k != len(flat):
        raise ValueError(f"{len(flat)} results for {k} items")
    return out


def length_batches(lengths: Sequence[int], max_tokens: int) -> list[list[int]]:
    """Indices grouped by similar length; each batch holds ≤ ``max_tokens`` padded tokens
    (a single sentence longer than the budget gets a batch of its own)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    cur: list[int] = []
    for i in order:  # ascending length: the newest sentence sets the padded width
        if cur and (len(cur) + 1) * lengths[i] > max_tokens:
            batches.append(cur)
            cur = []
        cur.append(i)
    if cur:
        batches.append(cur)
    return batches


def run_batched(
    run: Callable[[EncodedBatch], Any],
    encoder: Encoder,
    sentences: Sequence[Sequence[str]],
    max_tokens: int = MAX_BATCH_TOKENS,
) -> list[Any]:
    """Per-sentence outputs in input order: ``run`` returns ``(batch, seq, labels)``
    log-probabilities, or a dict of them (one per head); each sentence gets its rows
    ``(len, labels)`` (or a dict of those)."""
    out: list[Any] = [None] * len(sentences)
    for idx in length_batches([len(s) for s in sentences], max_tokens):
        got = run(encoder.encode([sentences[i] for i in idx]))  # (batch, seq, labels) [per head]
        for row, i in enumerate(idx):
            n = len(sentences[i])
            if isinstance(got, dict):
                out[i] = {h: lp[row, :n] for h, lp in got.items()}
            else:
                out[i] = got[row, :n]
    return out
