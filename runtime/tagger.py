"""The torch-free tagger: a verified bundle + onnxruntime on CPU or CUDA.

from postag import Tagger
tagger = Tagger.load("artifacts/postag-en-ewt")          # provider="auto"
tagger.tag(["The", "cat", "sat", "."]).tags               # ['DET', 'NOUN', 'VERB', 'PUNCT']
tagger.tag_text("I don't know. Do you?")                  # tokenized, split, tagged
tagger.tag_batch(sentences, top_k=3)                      # bucketed by length, input order
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .batching import MAX_BATCH_TOKENS, flatten, regroup, run_batched, split_documents
from .bundle import Manifest, load_manifest
from .errors import BundleError
from .layout import MODEL, MODEL_INT8
from .session import FastModel, OnnxModel, load_forms
from .tokenizer import sentences as split_text


@dataclass
class TaggedSentence:
    words: list[str]
    tags: list[str]
    probs: list[float] | None = None  # probability of each chosen tag
    top_k: list[list[tuple[str, float]]] | None = None  # k best (tag, probability)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"words": self.words, "tags": self.tags}
        if self.probs is not None:
            d["probs"] = [round(p, 6) for p in self.probs]
        if self.top_k is not None:
            d["top_k"] = [[[t, round(p, 6)] for t, p in row] for row in self.top_k]
        d.update(self.meta)
        return d


class Tagger:
    def __init__(self, manifest: Manifest, model: OnnxModel) -> None:
        self.manifest = manifest
        self.model = model
        self.encoder = manifest.encoder()
        self.tags = manifest.tags
        self._tag_array = np.array(self.tags, dtype=object)

    @classmethod
    def load(
        cls, bundle: str | Path, provider: str = "auto", threads: int = 0, quantized: bool = False
    ) -> Tagger:
        """Load and check a bundle (format, files, sha256, model identity). ``provider``:
        ``auto`` (CUDA when available, else CPU), ``cpu`` or ``cuda`` (an error when it
        cannot be honoured). fp32 runs the bundle's fast graph (``model.fast.onnx``) where
        it has one, else ``model.onnx``; ``quantized`` picks the int8 one
        (``model.fast.int8.onnx``, else ``model.int8.onnx``)."""
        man = load_manifest(bundle)
        fast = man.fast_path
        model: OnnxModel
        if fast and (not quantized or fast.int8_model):
            # the same outputs, known forms' character features precomputed
            fname = fast.int8_model if quantized else fast.model
            forms = load_forms(man.path(fast.forms))
            model = FastModel(
                man.path(fname), fast.contract, forms, provider, threads, man.identity
            )
        else:
            fname = MODEL_INT8 if quantized else MODEL
            if fname not in man.files:
                raise BundleError(f"{man.root}: this bundle has no {fname}")
            model = OnnxModel(man.path(fname), man.contract, provider, threads, man.identity)
        return cls(man, model)

    @property
    def provider(self) -> str:
        """The execution provider onnxruntime actually uses (read back from the session)."""
        return self.model.provider

    def tag(self, words: Sequence[str], top_k: int = 0, probs: bool = False) -> TaggedSentence:
        return self.tag_batch([words], top_k=top_k, probs=probs)[0]

    def tag_batch(
        self,
        sentences: Sequence[Sequence[str]],
        top_k: int = 0,
        probs: bool = False,
        max_tokens: int = MAX_BATCH_TOKENS,
    ) -> list[TaggedSentence]:
        """Tag pre-tokenized sentences (any number; empty ones give empty results),
        bucketed by length under a token budget and returned in input order."""
        sentences = [list(s) for s in sentences]
        for s in sentences:
            for w in s:
                if not isinstance(w, str) or not w:
                    raise ValueError(f"tokens must be non-empty strings, got {w!r}")
        nonempty = [i for i, s in enumerate(sentences) if s]
        out = [
            TaggedSentence([], [], [] if probs or top_k else None, [] if top_k else None)
            for _ in sentences
        ]
        if not nonempty:
            return out
        log_probs = run_batched(
            self.model.run, self.encoder, [sentences[i] for i in nonempty], max_tokens
        )
        for i, lp in zip(nonempty, log_probs, strict=True):
            best = lp.argmax(-1)  # (len,)
            res = TaggedSentence(sentences[i], self._tag_array[best].tolist())
            if probs or top_k:
                p = np.exp(lp)  # (len, tags)
                res.probs = p[np.arange(len(best)), best].astype(float).tolist()
                if top_k:
                    k = min(top_k, p.shape[1])
                    order = np.argsort(-p, axis=1)[:, :k]  # (len, k)
                    res.top_k = [
                        [(self.tags[j], float(row[j])) for j in o]
                        for o, row in zip(order, p, strict=True)
                    ]
            out[i] = res
        return out

    def tag_text(self, text: str, top_k: int = 0, probs: bool = False) -> list[TaggedSentence]:
        """Tokenize raw English text (UD/EWT conventions), split it into sentences, tag."""
        return self.tag_batch(split_text(text), top_k=top_k, probs=probs)

    def tag_many(
        self, texts: Iterable[str], top_k: int = 0, probs: bool = False
    ) -> list[list[TaggedSentence]]:
        """Raw texts → per-text sentence lists, tagged together in one bucketed pass."""
        docs = split_documents(texts)
        return regroup(self.tag_batch(flatten(docs), top_k=top_k, probs=probs), docs)
