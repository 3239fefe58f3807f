"""The spaCy component ``postag``: tags a Doc's own tokens with a postag model.

    import spacy
    nlp = spacy.blank("en")
    nlp.add_pipe("postag")                               # the model shipped with postag
    nlp.add_pipe("postag", config={"model": "en-ewt"})   # an installed model, by name
    nlp.add_pipe("postag", config={"model": "/abs/path/to/bundle"})   # a bundle directory
    doc = nlp("I don't know.")
    [(t.pos_, t.tag_, str(t.morph), t._.postag_pos_prob) for t in doc]
    docs = list(nlp.pipe(texts, batch_size=64))          # one Tagger.tag_batch call a batch

What it sets, per token: ``pos_`` (UPOS), ``tag_`` (XPOS) and ``morph`` (UFeats) for the
heads the model has, and the probability of each chosen label as the extension attributes
``token._.postag_pos_prob``, ``token._.postag_tag_prob`` and ``token._.postag_morph_prob``
(registered for the heads the model has; None where not tagged). Whitespace tokens
(``token.is_space``) are not shown to the model: they get ``SPACE``/``_SP`` and no features,
as spaCy's own English pipelines tag them (measured, ``python -m postag.spacy.bench
--whitespace``: passing them to the model costs 0.8 points of UPOS accuracy and 0.9 of
XPOS on the words around them, and tags them NOUN, PROPN, ADP, …).

Sequences: each sentence where the Doc has sentence boundaries (``doc.sents``), else the
whole Doc as one sequence; either is cut into pieces of at most ``max_length`` words (not
counting whitespace tokens; the longest EWT sentence has 159 words).

Config (``nlp.add_pipe("postag", config={...})``): ``model`` (what ``--model`` takes: None
for ``$POSTAG_BUNDLE`` else the shipped model, an installed model's name, a bundle
directory), ``provider`` (``auto``, ``cpu``, ``cuda``), ``threads`` (0: all cores),
``quantized`` (None: the bundle's first float32 graph; True: int8), ``probs`` (set the
probability attributes) and ``max_length``.

The model must tag the pipeline's language (:mod:`postag.spacy.language` reads it from the
manifest): otherwise the component is refused with a :class:`~postag.errors.BundleError`
naming both; ``spacy.blank("xx")`` (spaCy's multi-language class) takes any model; a model
whose language is not recorded is taken with a warning.

Serialization: ``nlp.to_disk`` stores the model *reference*, never its files: the config
keeps ``model`` as given (a name stays a name), and ``postag/model.json`` the model's name,
version and identity hash. ``spacy.load`` resolves the reference again and refuses a model
whose identity differs from the one saved, so a loaded pipeline tags exactly as the saved
one did. A bundle directory must therefore exist at the same path where the pipeline is
loaded (give an absolute path; for a portable pipeline install the model as a package,
``postag package``, and name it).
"""

import json
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spacy.attrs import MORPH, POS, TAG
from spacy.language import Language
from spacy.parts_of_speech import IDS as POS_IDS
from spacy.pipeline import Pipe
from spacy.tokens import Doc, Token
from spacy.util import minibatch
from spacy.vocab import Vocab

from ..errors import BundleError
from ..registry import resolve
from ..tokenizer import MAX_SENTENCE_TOKENS
from .language import model_language

if TYPE_CHECKING:  # postag.tagger imports onnxruntime: only when a component is made
    from ..tagger import TaggedSentence

#: One Doc's tagged sequences: the token indices and their result.
Tagged = list[tuple[list[int], "TaggedSentence"]]

#: The model's heads → what the component sets: the Token attribute (``pos_``, ``tag_``,
#: ``morph``, by its ``Doc.from_array`` ID) and the extension attribute holding the chosen
#: label's probability.
HEAD_ATTRS = {"upos": POS, "xpos": TAG, "feats": MORPH}
PROB_EXTENSIONS = {
    "upos": "postag_pos_prob",
    "xpos": "postag_tag_prob",
    "feats": "postag_morph_prob",
}
#: What whitespace tokens get, as spaCy's English pipelines tag them.
SPACE_POS = "SPACE"
SPACE_TAG = "_SP"
#: The file ``to_disk`` writes in the component's directory.
REFERENCE_FILE = "model.json"
#: The language code of spaCy's multi-language class (``spacy.blank("xx")``).
MULTI_LANGUAGE = "xx"

DEFAULT_CONFIG: dict[str, Any] = {
    "model": None,
    "provider": "auto",
    "threads": 0,
    "quantized": None,
    "probs": True,
    "max_length": MAX_SENTENCE_TOKENS,
}


class PostagComponent(Pipe):
    """Tags Docs with a postag :class:`~postag.tagger.Tagger` (see the module docstring)."""

    def __init__(
        self,
        vocab: Vocab,
        name: str = "postag",
        *,
        lang: str,
        model: str | None = None,
        provider: str = "auto",
        threads: int = 0,
        quantized: bool | None = None,
        probs: bool = True,
        max_length: int = MAX_SENTENCE_TOKENS,
    ) -> None:
        from ..tagger import Tagger  # onnxruntime: only when a component is made

        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
            raise ValueError(f"max_length must be a positive integer, got {max_length!r}")
        self.vocab = vocab
        self.name = name
        self.model = model
        self.probs = probs
        self.max_length = max_length
        found = resolve(model)
        self.origin = found.origin
        self.tagger = Tagger.load(
            found.path, provider=provider, threads=threads, quantized=quantized
        )
        self.manifest = self.tagger.manifest
        self.language = model_language(self.manifest.data)
        check_language(lang, self.language.code, self.language.where, self.describe())
        self.heads = [h for h in self.tagger.heads if h in HEAD_ATTRS]
        self._ids: tuple[dict[str, dict[str, int]], dict[str, int]] | None = None
        _check_pos_labels(self.tagger.labels["upos"], self.describe())
        for head in self.heads:
            if not Token.has_extension(PROB_EXTENSIONS[head]):
                Token.set_extension(PROB_EXTENSIONS[head], default=None)
        self._direct_keys = _token_extension_key(vocab, PROB_EXTENSIONS[self.heads[0]])

    def describe(self) -> str:
        """``postag-en-ewt 0.1.0 [the model shipped with postag (the default)]``."""
        return f"{self.manifest.name} {self.manifest.version} [{self.origin}]"

    @property
    def labels(self) -> tuple[str, ...]:
        """The model's UPOS labels (spaCy's ``Pipe.labels``)."""
        return tuple(self.tagger.labels["upos"])

    def __call__(self, doc: Doc) -> Doc:
        """Tag one Doc (in place) and return it."""
        self.tag_docs([doc])
        return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        """Tag Docs ``batch_size`` at a time: each batch is one ``Tagger.tag_batch`` call
        (which runs the model once per length bucket of ≤ 1,024 padded tokens, not once
        per Doc). A failing batch goes to the error handler, as in spaCy's own pipes."""
        error_handler = self.get_error_handler()
        for docs in minibatch(stream, size=batch_size):
            try:
                self.tag_docs(docs)
                yield from docs
            except Exception as exc:
                error_handler(self.name, self, docs, exc)

    def sequences(self, doc: Doc, space: Sequence[bool] | None = None) -> list[list[int]]:
        """The token indices the model sees, as sequences: per sentence where the Doc has
        sentence boundaries, else the whole Doc; whitespace tokens (``space``: each token's
        ``is_space``) left out; each sequence cut into pieces of at most ``max_length``."""
        if space is None:
            space = [t.is_space for t in doc]
        if doc.has_annotation("SENT_START"):
            bounds = [(s.start, s.end) for s in doc.sents]
        else:
            bounds = [(0, len(doc))]
        out = []
        n = self.max_length
        for a, b in bounds:
            idx = [i for i in range(a, b) if not space[i]]
            out += [idx[k : k + n] for k in range(0, len(idx), n)]
        return out

    def tag_docs(self, docs: Sequence[Doc]) -> None:
        """Tag ``docs`` in place with one ``Tagger.tag_batch`` call."""
        toks = [_TokenData(doc) for doc in docs]
        jobs = [
            (d, seq) for d, doc in enumerate(docs) for seq in self.sequences(doc, toks[d].space)
        ]
        words = [[toks[d].text[i] for i in seq] for d, seq in jobs]
        results = self.tagger.tag_batch(words, probs=self.probs)
        tagged: list[Tagged] = [[] for _ in docs]
        for (d, seq), res in zip(jobs, results, strict=True):
            tagged[d].append((seq, res))
        for doc, data, doc_tagged in zip(docs, toks, tagged, strict=True):
            self._annotate(doc, data, doc_tagged)

    def _annotate(self, doc: Doc, data: "_TokenData", tagged: Tagged) -> None:
        """Set one Doc's labels in one ``Doc.from_array`` (whitespace tokens: SPACE, _SP,
        no features), then the probability attributes of the tagged tokens."""
        if not len(doc):
            return
        ids, space_ids = self._label_ids(doc.vocab)
        attrs = [HEAD_ATTRS[h] for h in self.heads]
        # (tokens, heads): what the Doc has, kept where untagged (one attribute gives 1-D)
        arr = doc.to_array(attrs).reshape(len(doc), len(attrs))
        blank = [i for i, is_space in enumerate(data.space) if is_space]
        for k, head in enumerate(self.heads):
            arr[blank, k] = space_ids[head]
            m = ids[head]
            for seq, res in tagged:
                arr[seq, k] = [m[label] for label in res.labels(head)]
        doc.from_array(attrs, arr)
        if self.probs:
            self._set_probs(doc, data, tagged)

    def _set_probs(self, doc: Doc, data: "_TokenData", tagged: Tagged) -> None:
        """Each tagged token's probability attributes. Written straight into
        ``doc.user_data`` under the key ``token._`` itself uses (checked to be so when the
        component is made: :func:`_token_extension_key`), else through ``token._``."""
        exts = [PROB_EXTENSIONS[h] for h in self.heads]
        user_data = doc.user_data
        for seq, res in tagged:
            for ext, head in zip(exts, self.heads, strict=True):
                probs = res.head_probs(head)
                if self._direct_keys:
                    user_data.update(
                        (("._.", ext, data.idx[i], None), p)
                        for i, p in zip(seq, probs, strict=True)
                    )
                else:
                    for i, p in zip(seq, probs, strict=True):
                        doc[i]._.set(ext, p)

    def _label_ids(self, vocab: Vocab) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
        """Per head, each label's value as ``Doc.from_array`` takes it (UPOS: spaCy's POS
        symbol; XPOS: the string's hash; UFeats: the analysis' key), and whitespace's."""
        if vocab is self.vocab and self._ids is not None:
            return self._ids
        ids: dict[str, dict[str, int]] = {}
        space: dict[str, int] = {}
        for head in self.heads:
            labels = self.tagger.labels[head]
            if head == "upos":
                ids[head] = {t: POS_IDS[t] for t in labels}
                space[head] = POS_IDS[SPACE_POS]
            elif head == "xpos":
                ids[head] = {t: vocab.strings.add(t) for t in labels}
                space[head] = vocab.strings.add(SPACE_TAG)
            else:
                ids[head] = {f: vocab.morphology.add(f) for f in labels}  # "_": no features
                space[head] = vocab.morphology.add("_")
        if vocab is self.vocab:
            self._ids = (ids, space)
        return ids, space

    # serialization: the model reference, checked on loading (see the module docstring)

    def reference(self) -> dict[str, Any]:
        """What ``to_disk`` stores: the reference as configured and the model it meant."""
        from .. import __version__

        return {
            "model": self.model,
            "resolved": self.origin,
            "name": self.manifest.name,
            "version": self.manifest.version,
            "identity": self.manifest.identity,
            "language": self.language.code,
            "postag": __version__,
        }

    def check_reference(self, saved: Any, where: str) -> None:
        """Refuse to load a pipeline saved with another model than the one its reference
        resolves to now."""
        if not isinstance(saved, dict) or not isinstance(saved.get("identity"), str):
            raise BundleError(f"{where}: not a postag component reference (no 'identity')")
        if saved["identity"] != self.manifest.identity:
            raise BundleError(
                f"{where}: this pipeline was saved with the postag model {saved.get('name')} "
                f"{saved.get('version')} (identity {saved['identity'][:12]}…), but its "
                f"reference {self.model!r} now resolves to {self.describe()} (identity "
                f"{self.manifest.identity[:12]}…): install the model it was saved with, or "
                "point to it: spacy.load(path, config={"
                f"'components.{self.name}.model': ...}})"
            )

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        """Write the model reference (:meth:`reference`) to ``path/model.json``; no model
        file is copied. Warns where the reference is a relative path."""
        path = Path(path)
        if self.model is not None and _is_relative_dir(self.model):
            warnings.warn(
                f"postag: the pipeline refers to its model by the relative path {self.model!r}; "
                "spacy.load will look for it from the directory it is run in (give an "
                "absolute path, or install the model as a package and name it)",
                UserWarning,
                stacklevel=2,
            )
        path.mkdir(parents=True, exist_ok=True)
        (path / REFERENCE_FILE).write_text(json.dumps(self.reference(), indent=1) + "\n")

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> "PostagComponent":
        """Check that the model loaded from the config is the one saved (its identity)."""
        file = Path(path) / REFERENCE_FILE
        try:
            saved = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BundleError(f"{file}: cannot read the postag model reference: {exc}") from None
        self.check_reference(saved, str(file))
        return self

    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        """The model reference as JSON bytes (``nlp.to_bytes``)."""
        return json.dumps(self.reference()).encode()

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = ()) -> "PostagComponent":
        """As :meth:`from_disk`, from :meth:`to_bytes`' bytes."""
        try:
            saved = json.loads(data)
        except ValueError as exc:
            raise BundleError(f"not a postag model reference: {exc}") from None
        self.check_reference(saved, "the serialized pipeline")
        return self


class _TokenData:
    """A Doc's tokens' text, ``is_space`` and character offset (one pass over the Doc)."""

    __slots__ = ("idx", "space", "text")

    def __init__(self, doc: Doc) -> None:
        self.text: list[str] = []
        self.space: list[bool] = []
        self.idx: list[int] = []
        for t in doc:
            self.text.append(t.text)
            self.space.append(t.is_space)
            self.idx.append(t.idx)


def _token_extension_key(vocab: Vocab, ext: str) -> bool:
    """Whether ``token._.<ext> = value`` stores ``doc.user_data[("._.", ext, token.idx,
    None)] = value`` in this spaCy (it has since v2), so that writing that key directly is
    the same as setting the attribute, without making a Token and its ``_`` per word."""
    doc = Doc(vocab, words=["a", "b"])
    doc[1]._.set(ext, 0.5)
    ok = doc.user_data == {("._.", ext, doc[1].idx, None): 0.5} and doc[1]._.get(ext) == 0.5
    doc.user_data.clear()
    return ok


def check_language(lang: str, model_lang: str | None, where: str, model: str) -> None:
    """Refuse a model of another language than the pipeline's (``xx`` takes any); warn
    when the model's language is not recorded."""
    if model_lang is None:
        warnings.warn(
            f"postag: cannot check that the model {model} tags this pipeline's language "
            f"({lang!r}): {where}; using it as it is",
            UserWarning,
            stacklevel=3,
        )
        return
    if lang.lower() not in (model_lang, MULTI_LANGUAGE):
        raise BundleError(
            f"the postag model {model} tags language {model_lang!r} (from {where}), but this "
            f"spaCy pipeline's language is {lang!r}: use spacy.blank({model_lang!r}) with "
            f"this model, or a postag model trained on {lang!r} text"
        )


def _check_pos_labels(tags: Sequence[str], model: str) -> None:
    """spaCy's ``token.pos_`` takes the 17 UD UPOS tags (and SPACE) only."""
    bad = [t for t in tags if t not in POS_IDS]
    if bad:
        raise BundleError(
            f"the postag model {model} has UPOS labels spaCy's token.pos_ cannot hold: "
            f"{', '.join(bad[:10])} (spaCy takes the Universal Dependencies UPOS tags)"
        )


def _is_relative_dir(model: str) -> bool:
    """A model reference that is a bundle directory given by a relative path (a directory
    wins over a name of the same spelling, as in :func:`postag.registry.resolve`)."""
    return not Path(model).is_absolute() and Path(model).is_dir()


@Language.factory(
    "postag",
    default_config=DEFAULT_CONFIG,
    assigns=[
        "token.pos",
        "token.tag",
        "token.morph",
        *(f"token._.{ext}" for ext in PROB_EXTENSIONS.values()),
    ],
)
def make_postag(
    nlp: Language,
    name: str,
    model: str | None,
    provider: str,
    threads: int,
    quantized: bool | None,
    probs: bool,
    max_length: int,
) -> PostagComponent:
    """The ``postag`` factory (spaCy finds it through the ``spacy_factories`` entry point):
    ``nlp.add_pipe("postag", config={"model": ...})``."""
    return PostagComponent(
        nlp.vocab,
        name,
        lang=nlp.lang,
        model=model,
        provider=provider,
        threads=threads,
        quantized=quantized,
        probs=probs,
        max_length=max_length,
    )
