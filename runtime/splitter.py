"""How a bundle turns raw text into sentences of words: the one choice every surface (the
``Tagger``, ``postag tag``, the server, Spark) goes through.

    from postag.splitter import load_splitter
    splitter = load_splitter(manifest)               # what the bundle's manifest says
    splitter.kind                                     # "rules" or "model"
    for tokens in splitter.iter_sentences(text):      # lists of postag.tokenizer.Token
        ...
    splitter.text_sentences(text)                     # TextSentence: words, offsets, MWTs

* ``rules`` (every bundle without a ``splitter`` field, and any that says so): the rule
  tokenizer and sentence splitter (:mod:`postag.tokenizer`, UD/EWT conventions). With
  the bundle's multiword-token lexicon (``mwt.json``), the rule tokenizer's pieces that
  a treebank writes as one multiword token are joined into it (``do`` + ``n't`` →
  don't, words do n't; :func:`postag.tokenizer.join_multiword`).
* ``model``: the bundle's trained segmenter (:mod:`postag.segmenter`: a character model
  in ONNX that marks token, sentence and multiword-token ends), its multiword tokens
  expanded by the lexicon it was trained with. Nothing English-specific is used.

Either way a "sentence" is closed after ``max_tokens`` tokens, so no input makes the
tagger's work unbounded; both run in linear time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .bundle import Manifest, _read_json
from .errors import BundleError, CorpusError
from .mwt import MwtLexicon
from .tokenizer import (
    MAX_SENTENCE_TOKENS,
    TextSentence,
    Token,
    iter_sentences,
    join_multiword,
    sentence_words,
)

if TYPE_CHECKING:
    from .conll18 import Conll18Result
    from .segmenter import Segmenter


@dataclass(frozen=True, eq=False)
class Splitter:
    """Raw text → sentences of tokens (see the module docstring)."""

    kind: str  # "rules" | "model"
    lexicon: MwtLexicon | None = None
    segmenter: Segmenter | None = None

    def iter_sentences(
        self, text: str, max_tokens: int = MAX_SENTENCE_TOKENS
    ) -> Iterator[list[Token]]:
        """The sentences of ``text``, one at a time; a multiword token carries its words."""
        if self.segmenter is not None:
            yield from self.segmenter.iter_sentences(text, max_tokens=max_tokens)
            return
        for sent in iter_sentences(text, max_tokens=max_tokens):
            yield join_multiword(sent, self.lexicon) if self.lexicon else sent

    def text_sentences(self, text: str) -> list[TextSentence]:
        """All sentences of ``text`` as words with their offsets and multiword tokens."""
        return [sentence_words(s) for s in self.iter_sentences(text)]

    def describe(self) -> str:
        """One line for ``postag info``."""
        if self.segmenter is not None:
            return f"trained segmenter ({self.segmenter.describe()})"
        rules = "rule tokenizer (UD English conventions)"
        if self.lexicon is None:
            return rules
        return f"{rules}, multiword tokens joined by a lexicon of {len(self.lexicon):,} forms"


#: The rule tokenizer alone: bundles without a ``splitter`` field.
RULES = Splitter("rules")


def load_lexicon(manifest: Manifest) -> MwtLexicon | None:
    """The bundle's multiword-token lexicon (``splitter.mwt``), or ``None``."""
    name = manifest.splitter.mwt
    if name is None:
        return None
    path = manifest.path(name)
    data = _read_json(path)
    try:
        return MwtLexicon.from_dict(data)
    except CorpusError as exc:  # a malformed lexicon
        raise BundleError(f"{path}: {exc}") from None


def summary(manifest: Manifest) -> str:
    """What ``postag info`` says of a bundle's splitter, without opening its graph."""
    ref = manifest.splitter
    lexicon = load_lexicon(manifest)
    mwt = f"multiword tokens from a lexicon of {len(lexicon):,} forms" if lexicon else ""
    if ref.kind == "rules":
        rules = "rule tokenizer and sentence splitter (UD English conventions)"
        return f"{rules}; {mwt}" if mwt else f"{rules}; no multiword tokens"
    assert ref.segmenter_config is not None
    cfg = _read_json(manifest.path(ref.segmenter_config))
    treebank = cfg.get("treebank", "?") if isinstance(cfg, dict) else "?"
    return f"trained segmenter ({ref.segmenter}, trained on {treebank})" + (
        f"; {mwt}" if mwt else ""
    )


def load_splitter(manifest: Manifest, provider: str = "cpu", threads: int = 0) -> Splitter:
    """The splitter the bundle's manifest names (its files were hash-checked with the
    manifest); ``provider``/``threads`` are the segmenter graph's session settings."""
    ref = manifest.splitter
    lexicon = load_lexicon(manifest)
    if ref.kind == "rules":
        return Splitter("rules", lexicon) if lexicon is not None else RULES
    from .segmenter import Segmenter  # onnxruntime: only for a bundle that has one

    assert ref.segmenter is not None and ref.segmenter_config is not None  # parse checked
    seg = Segmenter.load(
        manifest.path(ref.segmenter),
        manifest.path(ref.segmenter_config),
        provider=provider,
        threads=threads,
    )
    return Splitter("model", lexicon, seg)


def split_conllu(splitter: Splitter, text: str) -> str:
    """``text`` split by ``splitter`` as system CoNLL-U (range lines for multiword
    tokens, ``SpaceAfter=No``, ``TokenRange``; no tags): what the CoNLL 2018 scorer
    reads to score tokens, sentences and words."""
    from .conll18 import tagged_conllu
    from .tagger import TaggedSentence

    sents = []
    for s in splitter.text_sentences(text):
        blank = ["_"] * len(s.words)
        sents.append(
            TaggedSentence(s.words, blank, start=s.starts, end=s.ends, multiword=s.multiword)
        )
    return tagged_conllu(sents, text)


def score_splitter(splitter: Splitter, gold: str | Path) -> Conll18Result:
    """The CoNLL 2018 scores of ``splitter`` on the raw text of the CoNLL-U file ``gold``
    (:func:`postag.conll18.raw_text`): Tokens, Sentences and Words mean something here
    (no tagger ran)."""
    from .conll18 import evaluate, parse_treebank, raw_text, read_treebank

    text = raw_text(gold)
    return evaluate(read_treebank(gold), parse_treebank(split_conllu(splitter, text), "system"))
