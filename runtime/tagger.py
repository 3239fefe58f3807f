"""The torch-free tagger: a verified bundle + onnxruntime on CPU or CUDA.

from postag import Tagger
tagger = Tagger.load()                                    # the model shipped with postag
tagger = Tagger.load("artifacts/postag-en-ewt")          # a bundle directory
tagger = Tagger.load("en-ewt")                            # an installed model, by name
tagger.tag(["The", "cat", "sat", "."]).tags               # ['DET', 'NOUN', 'VERB', 'PUNCT']
tagger.tag_text("I don't know. Do you?")                  # tokenized, split, tagged
tagger.tag_text("I don't know.")[0].start                 # [0, 2, 4, 8, 12]: offsets
tagger.tag_batch(sentences, top_k=3)                      # bucketed by length, input order

Misuse is refused, never guessed at: a string where a token list is expected (``tag("The
cat")`` would tag characters) or a token that is not a string is a ``TypeError``; an
empty token or a negative ``top_k`` is a ``ValueError``. ``top_k`` larger than the tag
set gives every tag (it is capped at ``len(tagger.tags)``). A name that is empty or that
no bundle answers to is a :class:`~postag.errors.BundleError` (:mod:`postag.registry`).

Invisible characters: the model looks every word up without the format characters the
tokenizer reads through (:func:`postag.tokenizer.lookup_form`: ``co\\u00adoperate`` is
tagged as ``cooperate``), while ``words`` and the offsets keep the text as given.
Pre-tokenized input is tagged as given, a token of format characters only included.

Long sentences: one of more than :data:`WINDOW_TOKENS` tokens is tagged in windows of
that many tokens, overlapping so that every token but the sentence's first and last
:data:`WINDOW_CONTEXT` has at least that many tokens of context on each side; memory per
sentence is so bounded (tagging 100,000 tokens at once took 1.4 GB; in windows, 95 MB).
Measured with the shipped model on EWT dev cut into four "sentences" of 5,000 tokens: 0
of 60,000 labels (all heads) differ from one run over each whole sentence. Sentences are
run in groups of about :data:`GROUP_TOKENS` tokens, each group's outputs let go once its
labels are taken.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .batching import MAX_BATCH_TOKENS, flatten, regroup, run_batched, split_documents
from .bundle import Manifest, load_manifest
from .contract import decoded, scores
from .layout import FAST_GRAPHS
from .registry import resolve_bundle
from .session import FastModel, OnnxModel, load_forms
from .splitter import RULES, Splitter, load_splitter
from .tokenizer import Multiword, TextSentence, lookup_form

TopK = list[list[tuple[str, float]]]  # per word: the k best (label, probability)

#: A sentence longer than this many tokens is tagged in overlapping windows of at most
#: this many (the longest EWT sentence has 159 tokens; raw text is cut into sentences of
#: at most 1,000).
WINDOW_TOKENS = 1024
#: Each token of a windowed sentence takes its labels from a window that gives it at
#: least this many tokens of context on each side (the sentence's ends aside).
WINDOW_CONTEXT = 64
#: Tokens run through the model before their labels are taken and its outputs let go
#: (at least one run's ``max_tokens``): what :meth:`Tagger.tag_batch` holds at once.
GROUP_TOKENS = 32_768


@dataclass
class TaggedSentence:
    """One tagged sentence. ``tags`` are UPOS; a joint tagger's bundle also fills
    ``xpos`` (Penn Treebank tags for English) and ``feats`` (FEATS strings, ``_`` = none).
    Probabilities and top-k are given per head where asked (``probs``/``top_k`` for
    UPOS, ``xpos_probs``/``xpos_top_k``, ``feats_probs``/``feats_top_k``). Words tagged
    from raw text have their character offsets in it (``start``/``end``: code points,
    ``text[start[i]:end[i]] == words[i]``); pre-tokenized ones have none. The words of a
    multiword token ("don't" → do n't, French "du" → de le) are listed in ``multiword``
    as ``(first, last, token text)`` and each has the whole token's offsets."""

    words: list[str]
    tags: list[str]
    probs: list[float] | None = None  # probability of each chosen tag
    top_k: TopK | None = None  # k best (tag, probability)
    xpos: list[str] | None = None
    feats: list[str] | None = None
    xpos_probs: list[float] | None = None
    xpos_top_k: TopK | None = None
    feats_probs: list[float] | None = None
    feats_top_k: TopK | None = None
    start: list[int] | None = None  # each word's first character in the text
    end: list[int] | None = None  # one past its last character
    # multiword tokens: (first word, last word, the token's text), word indices inclusive
    multiword: list[Multiword] | None = None

    @property
    def upos(self) -> list[str]:
        return self.tags

    def labels(self, head: str) -> list[str] | None:
        """One head's labels: ``upos`` (= ``tags``), ``xpos`` or ``feats``."""
        return self.tags if head == "upos" else getattr(self, head)

    def head_probs(self, head: str) -> list[float] | None:
        return self.probs if head == "upos" else getattr(self, f"{head}_probs")

    def head_top_k(self, head: str) -> TopK | None:
        return self.top_k if head == "upos" else getattr(self, f"{head}_top_k")

    def set_head(
        self, head: str, labels: list[str], probs: list[float] | None, top_k: TopK | None
    ) -> None:
        prefix = "" if head == "upos" else f"{head}_"
        setattr(self, "tags" if head == "upos" else head, labels)
        setattr(self, f"{prefix}probs", probs)
        setattr(self, f"{prefix}top_k", top_k)

    def to_dict(self) -> dict[str, Any]:
        """``words``, ``start``/``end`` where known, ``multiword`` (``[[first, last,
        text], …]``) where the text had multiword tokens, ``tags`` (UPOS), ``xpos``, ``feats``
        where the model has them, and ``probs``/``top_k`` (and ``xpos_probs``, … per
        head) where they were asked for."""
        d: dict[str, Any] = {"words": self.words}
        if self.start is not None and self.end is not None:
            d["start"], d["end"] = self.start, self.end
        if self.multiword:
            d["multiword"] = [list(m) for m in self.multiword]
        d["tags"] = self.tags
        for head in ("xpos", "feats"):
            if self.labels(head) is not None:
                d[head] = self.labels(head)
        for head in ("upos", "xpos", "feats"):
            prefix = "" if head == "upos" else f"{head}_"
            if (probs := self.head_probs(head)) is not None:
                d[f"{prefix}probs"] = [round(p, 6) for p in probs]
            if (top := self.head_top_k(head)) is not None:
                d[f"{prefix}top_k"] = [[[t, round(p, 6)] for t, p in row] for row in top]
        return d


class Tagger:
    def __init__(self, manifest: Manifest, model: OnnxModel, splitter: Splitter = RULES) -> None:
        self.manifest = manifest
        self.model = model
        self.splitter = splitter  # raw text → sentences (the bundle's manifest says which)
        self.encoder = manifest.encoder()
        self.tags = manifest.tags  # UPOS
        self.labels = manifest.labels  # every head's labels, in output order
        self.heads = list(self.labels)
        self._label_arrays = {h: np.array(v, dtype=object) for h, v in self.labels.items()}

    @classmethod
    def load(
        cls,
        bundle: str | Path | None = None,
        provider: str = "auto",
        threads: int = 0,
        quantized: bool | None = None,
    ) -> Tagger:
        """Load and check a bundle (format, files, sha256, model identity). ``bundle``: a
        bundle directory or an installed model's name; none: ``$POSTAG_BUNDLE``, else the
        model shipped with postag (:func:`postag.registry.resolve_bundle`). ``provider``:
        ``auto`` (CUDA when available, else CPU), ``cpu`` or ``cuda`` (an error when it
        cannot be honoured). The graph (:meth:`Manifest.runtime_graph`): by default the
        bundle's first float32 graph (``model.fast.onnx``, a slim bundle's
        ``model.fast.compact.onnx``, ``model.onnx``), else its int8 one; ``quantized=True``
        an int8 graph (``model.fast.int8.onnx``, else ``model.int8.onnx``),
        ``quantized=False`` a float32 one; a choice the bundle cannot honour is a
        :class:`BundleError`."""
        # the graph's identity metadata: checked when its session opens (OnnxModel)
        man = load_manifest(resolve_bundle(bundle), check_model=False)
        fname = man.runtime_graph(quantized)
        model: OnnxModel
        if fname in FAST_GRAPHS and man.fast_path is not None:
            # the same outputs, known forms' character features precomputed
            fast = man.fast_path
            forms = load_forms(man.path(fast.forms))
            model = FastModel(
                man.path(fname), fast.contract, forms, provider, threads, man.identity
            )
        else:
            model = OnnxModel(man.path(fname), man.contract, provider, threads, man.identity)
        return cls(man, model, load_splitter(man, provider, threads))

    @property
    def provider(self) -> str:
        """The execution provider onnxruntime actually uses (read back from the session)."""
        return self.model.provider

    def tag(self, words: Sequence[str], top_k: int = 0, probs: bool = False) -> TaggedSentence:
        """Tag one pre-tokenized sentence (a list of tokens; raw text goes to
        :meth:`tag_text`). ``top_k`` also gives the k most probable tags per word (and
        ``probs``); ``probs`` the probability of each chosen tag."""
        if isinstance(words, str):
            raise TypeError("tag() takes a list of tokens; for raw text use tag_text()")
        return self.tag_batch([words], top_k=top_k, probs=probs)[0]

    def tag_batch(
        self,
        sentences: Sequence[Sequence[str]],
        top_k: int = 0,
        probs: bool = False,
        max_tokens: int = MAX_BATCH_TOKENS,
    ) -> list[TaggedSentence]:
        """Tag pre-tokenized sentences (any number; empty ones give empty results),
        bucketed by length under a token budget and returned in input order. Words are
        looked up by their :func:`~postag.tokenizer.lookup_form`; sentences longer than
        :data:`WINDOW_TOKENS` are tagged in windows (see the module docstring)."""
        sentences = _check_sentences(sentences)
        k = _check_top_k(top_k)
        nonempty = [i for i, s in enumerate(sentences) if s]
        out = [self._empty(k, probs) for _ in sentences]
        if not nonempty:
            return out
        pieces, kept = windows([sentences[i] for i in nonempty])
        # (sentence, its rows in the piece, whether the piece is the whole sentence)
        rows = [
            (i, a, b, len(rk) == 1) for i, rk in zip(nonempty, kept, strict=True) for a, b in rk
        ]
        parts: dict[int, list[TaggedSentence]] = {i: [] for i in nonempty}
        # in groups of pieces: what is held at once (every label's log-probability of
        # every token run) is bounded, however many and however long the sentences
        for lo, hi in _groups([len(p) for p in pieces], max(GROUP_TOKENS, max_tokens)):
            forms = [[lookup_form(w) for w in piece] for piece in pieces[lo:hi]]
            outs = run_batched(self.model.run, self.encoder, forms, max_tokens)
            for (i, a, b, whole), piece, lp in zip(rows[lo:hi], pieces[lo:hi], outs, strict=True):
                words = sentences[i] if whole else piece[a:b]
                parts[i].append(self._result(words, {h: v[a:b] for h, v in lp.items()}, k, probs))
        for i, got in parts.items():
            out[i] = got[0] if len(got) == 1 else _joined(sentences[i], got)
        return out

    def _empty(self, k: int, probs: bool) -> TaggedSentence:
        res = TaggedSentence([], [])
        for head in self.heads:
            res.set_head(head, [], [] if probs or k else None, [] if k else None)
        return res

    def _result(
        self, words: list[str], outs: dict[str, np.ndarray], k: int, probs: bool
    ) -> TaggedSentence:
        """One sentence's outputs (log-probabilities ``{head: (len, labels)}``, a CRF
        head's path ``(len,)``) → its labels per head: the decoded path where the model
        has one, else each word's argmax; and what was asked: the chosen label's
        probability and the k best (capped at each head's label count), from the
        log-probabilities (a CRF head's posterior marginals)."""
        res = TaggedSentence(words, [])
        paths = decoded(outs)
        for head, lp in scores(outs).items():
            best = paths[head]  # (len,)
            labels = self._label_arrays[head]
            head_probs, top = None, None
            if probs or k:
                p = np.exp(lp)  # (len, labels)
                head_probs = p[np.arange(len(best)), best].astype(float).tolist()
                if k:
                    order = np.argsort(-p, axis=1)[:, : min(k, p.shape[1])]  # (len, k)
                    top = [
                        [(labels[j], float(row[j])) for j in o]
                        for o, row in zip(order, p, strict=True)
                    ]
            res.set_head(head, labels[best].tolist(), head_probs, top)
        return res

    def tag_text(self, text: str, top_k: int = 0, probs: bool = False) -> list[TaggedSentence]:
        """Split raw text into sentences of words with the bundle's splitter (the rule
        tokenizer for English, or its trained segmenter: :mod:`postag.splitter`), tag;
        each word comes with its offsets in ``text`` (``start``/``end``) and multiword
        tokens are listed (``multiword``)."""
        if not isinstance(text, str):
            raise TypeError(f"tag_text() takes a string, got {type(text).__name__}")
        return self.tag_many([text], top_k=top_k, probs=probs)[0]

    def tag_many(
        self, texts: Iterable[str], top_k: int = 0, probs: bool = False
    ) -> list[list[TaggedSentence]]:
        """Raw texts → per-text sentence lists, tagged together in one bucketed pass
        (``None`` or blank texts give ``[]``); each word with its offsets in its text."""
        if isinstance(texts, str):
            raise TypeError("tag_many() takes a list of texts; for one text use tag_text()")
        texts = list(texts)
        for t in texts:
            if t is not None and not isinstance(t, str):
                raise TypeError(f"tag_many() takes texts (strings), got {type(t).__name__}")
        docs = split_documents(texts, self.splitter.text_sentences)
        flat = flatten(docs)
        tagged = self.tag_batch([s.words for s in flat], top_k=top_k, probs=probs)
        return regroup(with_offsets(tagged, flat), docs)


Kept = list[tuple[int, int]]  # the rows of each of a sentence's pieces that count


def windows(
    sentences: Sequence[list[str]], size: int = WINDOW_TOKENS, context: int = WINDOW_CONTEXT
) -> tuple[list[list[str]], list[Kept]]:
    """The pieces the model runs on: a sentence of at most ``size`` tokens whole, a longer
    one as windows of ``size`` tokens overlapping by ``2 * context``; and for each
    sentence, the rows of each of its pieces that count, in order (every token once,
    from a window where it has ``context`` tokens on each side, the sentence's ends
    aside)."""
    if size <= 2 * context:
        raise ValueError(f"a window of {size} tokens leaves no room for {context} on each side")
    pieces: list[list[str]] = []
    kept: list[Kept] = []
    for words in sentences:
        n = len(words)
        if n <= size:
            pieces.append(words)
            kept.append([(0, n)])
            continue
        rows: Kept = []
        lo = 0
        while True:
            hi = min(n, lo + size)
            pieces.append(words[lo:hi])
            rows.append((0 if lo == 0 else context, hi - lo if hi == n else hi - lo - context))
            if hi == n:
                break
            lo += size - 2 * context
        kept.append(rows)
    return pieces, kept


def _groups(lengths: Sequence[int], budget: int) -> Iterator[tuple[int, int]]:
    """``[lo, hi)`` ranges of consecutive pieces of about ``budget`` tokens together (a
    piece longer than that alone)."""
    lo = total = 0
    for hi, n in enumerate(lengths):
        if hi > lo and total + n > budget:
            yield lo, hi
            lo, total = hi, 0
        total += n
    if lo < len(lengths):
        yield lo, len(lengths)


#: The fields of a :class:`TaggedSentence` that hold one item per word, but ``words``.
_PER_WORD = ("tags", "probs", "top_k", "xpos", "feats", "xpos_probs", "xpos_top_k",
             "feats_probs", "feats_top_k")  # fmt: skip


def _joined(words: list[str], parts: Sequence[TaggedSentence]) -> TaggedSentence:
    """One sentence's result from its windows' (each for the rows it counts, in order)."""
    res = TaggedSentence(words, [])
    for name in _PER_WORD:
        values = [getattr(p, name) for p in parts]
        setattr(res, name, None if values[0] is None else [x for v in values for x in v])
    return res


def with_offsets(
    results: list[TaggedSentence], sentences: Sequence[TextSentence]
) -> list[TaggedSentence]:
    """``results`` (the tagged ``sentences``, in order) with each word's offsets and the
    multiword tokens set."""
    for res, sent in zip(results, sentences, strict=True):
        res.start, res.end = sent.starts, sent.ends
        res.multiword = list(sent.multiword) or None
    return results


def _check_sentences(sentences: Sequence[Sequence[str]]) -> list[list[str]]:
    """Sentences as lists of non-empty string tokens, or a TypeError/ValueError saying
    what is wrong (a string in place of a token list would otherwise tag characters)."""
    if isinstance(sentences, str):
        raise TypeError("tag_batch() takes a list of token lists; for raw text use tag_text()")
    out = []
    for n, s in enumerate(sentences):
        if isinstance(s, str):
            raise TypeError(
                f"tag_batch() takes a list of token lists, but sentence {n} is a string; "
                "for raw text use tag_text() or tag_many()"
            )
        words = list(s)
        for w in words:
            if not isinstance(w, str):
                raise TypeError(f"tokens must be strings, got {type(w).__name__} {w!r}")
            if not w:
                raise ValueError(f"tokens must be non-empty strings, got {w!r} in sentence {n}")
        out.append(words)
    return out


def _check_top_k(top_k: int) -> int:
    """``top_k`` as the number of alternatives to give (each head caps it at its label
    count)."""
    if isinstance(top_k, bool) or not isinstance(top_k, int | np.integer):
        raise TypeError(f"top_k must be an integer, got {type(top_k).__name__}")
    if top_k < 0:
        raise ValueError(f"top_k must be 0 (none) or more, got {top_k}")
    return int(top_k)
