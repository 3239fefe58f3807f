"""The trained segmenter at run time: raw text → tokens, sentences and multiword tokens
with a character model in ONNX (:mod:`postag.segmentation` is its torch-free core), the
multiword tokens expanded into their syntactic words by the lexicon it was trained with
(:class:`postag.mwt.MwtLexicon`). Torch-free; nothing here imports ``postag.export``.

    from postag.segmenter import Segmenter
    seg = Segmenter.load("artifacts/segmenter/fr-sequoia")            # the directory, or
    seg = Segmenter.load("x/segmenter.onnx", "x/segmenter.json", provider="cpu", threads=2)
    seg.labels(text)                       # (len(text),) uint8: one label per character
    seg.segment(text)                      # Segments: token/sentence spans, multiword flags
    for sent in seg.iter_segmented(text):  # SegmentedSentence, one at a time
        sent.words                         # ("Il", "parle", "de", "le", "vin", ".")
        for tok in sent.tokens:            # SegmentedToken: text == text[tok.start:tok.end]
            tok.multiword, tok.words       # True, ("de", "le") for "du"
    seg.sentences(text)                    # the list form
    for tokens in seg.iter_sentences(text):  # list[postag.tokenizer.Token], as the rule
        ...                                  # tokenizer's iter_sentences gives them
    seg.text_sentences(text)               # [TextSentence]: words, offsets, multiword tokens

**Files.** A segmenter is two files, side by side in a directory (and in bundles):
``segmenter.onnx`` (inputs ``chars`` int64 ``(batch, length)`` and ``features`` float32
``(batch, length, 4)``, output ``label_scores`` float32 ``(batch, length, 5)``) and
``segmenter.json`` (``{"format": 1, "chars", "labels", "window": {"size", "context"},
"mwt", "config", "treebank", "metrics"}``). :meth:`Segmenter.load` checks both: the JSON's
format, labels (:data:`postag.segmentation.LABELS`), character table, window and lexicon
(:class:`SegmenterSpec`), the graph's input and output names, types and ranks, and that
the graph accepts every id of the table (one probe run). Any problem is a
:class:`~postag.errors.BundleError` naming the file.

**What it yields.** A :class:`SegmentedSentence` holds its :class:`SegmentedToken` s:
each one's exact offsets (``text[start:end] == token.text``: nothing is normalised, so
decomposed accents, emoji and format characters keep their offsets), whether the model
marked it multiword, and its syntactic words (a multiword token's from the lexicon,
``MwtLexicon.expand``; any other token is one word, itself). :meth:`Segmenter.iter_sentences`
gives the same sentences as lists of :class:`postag.tokenizer.Token` (a multiword token
with its ``words``), exactly what the rule tokenizer's ``iter_sentences`` gives, so
``postag.tokenizer.sentence_words`` and every surface that reads one reads the other.

**Bounded, linear.** The labels come from :func:`postag.segmentation.label_text` (the
same path the parity gate checks): windows of ``size`` characters, ``batch`` windows per
graph run, one label byte per character of the text (``label_text`` encodes one batch's
stretch of text at a time). Labels → sentences is one pass (:func:`segmented_sentences`)
over :func:`postag.segmentation.iter_token_spans` (the token spans ``decode`` collects,
read :data:`postag.segmentation.BLOCK` characters at a time) that holds one sentence at a
time. A sentence is closed after ``max_tokens`` tokens, or before a token that would
make it span more than ``max_chars`` characters (the rule tokenizer's bounds), so no
text makes one sentence unbounded; a multiword token longer than
:data:`MAX_MULTIWORD_CHARS` characters is not expanded (no real one is; it bounds the
lexicon's work per token).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .contract import SEGMENTER_CONTRACT
from .errors import BundleError, PostagError
from .mwt import MwtLexicon
from .segmentation import (  # iter_token_spans: re-exported (labels → token spans)
    LABELS,
    MWT,
    MWT_SENTENCE,
    N_FEATURES,
    N_LABELS,
    PAD,
    SENTENCE,
    UNK,
    CharTable,
    Predict,
    Segments,
    decode,
    iter_token_spans,
    label_text,
)
from .session import open_session, resolve_provider, session_options
from .tokenizer import (
    MAX_SENTENCE_CHARS,
    MAX_SENTENCE_TOKENS,
    TextSentence,
    Token,
    sentence_words,
)

FORMAT = 1
ONNX_FILE, JSON_FILE = "segmenter.onnx", "segmenter.json"
#: The graph's I/O, declared once (:data:`postag.contract.SEGMENTER_CONTRACT`).
INPUTS = tuple(SEGMENTER_CONTRACT.input_names)
OUTPUT = SEGMENTER_CONTRACT.output_names[0]
#: Windows per graph run (:func:`postag.segmentation.label_text`'s ``batch``).
BATCH = 16
#: A multiword token longer than this is kept as one word: no treebank has one nearly
#: as long, and the lexicon's suffix rule costs O(length²) per token.
MAX_MULTIWORD_CHARS = 64


# -- what it yields ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SegmentedToken:
    """A token of the input: ``text == input[start:end]``. ``multiword``: the model
    marked it a multiword token; ``words``: its syntactic words (the lexicon's expansion
    of a multiword token, which may be the token alone when the lexicon cannot split
    it; any other token: ``(text,)``)."""

    text: str
    start: int
    end: int
    multiword: bool
    words: tuple[str, ...]

    def to_token(self) -> Token:
        """As the rule tokenizer's :class:`~postag.tokenizer.Token` (``words`` set only
        when the token has two or more)."""
        return Token(self.text, self.start, self.end, self.words if len(self.words) > 1 else ())


@dataclass(frozen=True, slots=True)
class SegmentedSentence:
    """A sentence: its tokens (never empty), in order; ``start``/``end``: from its first
    token's start to its last token's end."""

    tokens: tuple[SegmentedToken, ...]

    @property
    def start(self) -> int:
        return self.tokens[0].start

    @property
    def end(self) -> int:
        return self.tokens[-1].end

    @property
    def words(self) -> tuple[str, ...]:
        """The words the tagger tags, in order (multiword tokens expanded)."""
        return tuple(w for t in self.tokens for w in t.words)

    def to_tokens(self) -> list[Token]:
        """As a sentence of the rule tokenizer (:meth:`SegmentedToken.to_token`)."""
        return [t.to_token() for t in self.tokens]

    def text_sentence(self) -> TextSentence:
        """Words with their offsets and multiword tokens
        (:func:`postag.tokenizer.sentence_words`)."""
        return sentence_words(self.to_tokens())


# -- labels → sentences -----------------------------------------------------------------------


def segmented_sentences(
    text: str,
    labels: np.ndarray,
    lexicon: MwtLexicon,
    max_tokens: int = MAX_SENTENCE_TOKENS,
    max_chars: int = MAX_SENTENCE_CHARS,
) -> Iterator[SegmentedSentence]:
    """The sentences of ``text`` given its per-character ``labels``, one at a time:
    :func:`postag.segmentation.decode`'s sentences, each multiword token expanded by
    ``lexicon`` (up to :data:`MAX_MULTIWORD_CHARS` characters), and a sentence closed
    early after ``max_tokens`` tokens or before a token that would make it span more
    than ``max_chars`` characters. Holds one sentence; linear in ``len(text)``."""
    if max_tokens < 1 or max_chars < 1:
        raise ValueError("max_tokens and max_chars must be at least 1")
    return _sentences(text, iter_token_spans(text, labels), lexicon, max_tokens, max_chars)


def _sentences(
    text: str,
    spans: Iterator[tuple[int, int, int]],
    lexicon: MwtLexicon,
    max_tokens: int,
    max_chars: int,
) -> Iterator[SegmentedSentence]:
    cur: list[SegmentedToken] = []
    for start, end, label in spans:
        if cur and (len(cur) >= max_tokens or end - cur[0].start > max_chars):
            yield SegmentedSentence(tuple(cur))
            cur = []
        surface = text[start:end]
        multiword = label in (MWT, MWT_SENTENCE)
        if multiword and len(surface) <= MAX_MULTIWORD_CHARS:
            words = tuple(lexicon.expand(surface))
        else:
            words = (surface,)
        cur.append(SegmentedToken(surface, start, end, multiword, words))
        if label in (SENTENCE, MWT_SENTENCE):
            yield SegmentedSentence(tuple(cur))
            cur = []
    if cur:  # (never left over: the text's last token always ends a sentence)
        yield SegmentedSentence(tuple(cur))


# -- segmenter.json -------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SegmenterSpec:
    """What ``segmenter.json`` says: the character table, the windows the graph runs
    over, the multiword-token lexicon, and for information the training ``config``,
    ``treebank`` and ``metrics``."""

    table: CharTable
    size: int
    context: int
    lexicon: MwtLexicon
    treebank: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, path: str | Path) -> SegmenterSpec:
        """Read and check ``segmenter.json``; any problem is a :class:`BundleError`
        naming ``path``."""
        try:
            data = json.loads(Path(path).read_bytes().decode("utf-8"))
        except OSError as exc:
            reason = exc.strerror or exc
            raise BundleError(f"{path}: cannot read the segmenter settings: {reason}") from None
        except UnicodeDecodeError as exc:
            raise BundleError(f"{path}: not valid UTF-8 ({exc.reason})") from None
        except json.JSONDecodeError as exc:
            raise BundleError(f"{path}: not valid JSON ({exc})") from None
        return cls.from_dict(data, str(path))

    @classmethod
    def from_dict(cls, data: Any, source: str = "segmenter.json") -> SegmenterSpec:
        """Check a parsed ``segmenter.json`` (``source`` names it in errors)."""

        def bad(what: str) -> BundleError:
            return BundleError(f"{source}: {what}")

        if not isinstance(data, dict):
            raise bad("the segmenter settings must be a JSON object")
        missing = [k for k in ("format", "chars", "labels", "window", "mwt") if k not in data]
        if missing:
            raise bad(f"missing key(s) {', '.join(map(repr, missing))}")
        if data["format"] != FORMAT or isinstance(data["format"], bool):
            raise bad(f"segmenter format {data['format']!r}; this postag reads format {FORMAT}")
        if data["labels"] != list(LABELS):
            raise bad(f"labels {data['labels']!r}; expected {list(LABELS)!r}")
        chars = data["chars"]
        if not isinstance(chars, list) or chars[:2] != [PAD, UNK]:
            raise bad(f"'chars' must be a JSON list starting with {PAD!r}, {UNK!r}")
        odd = [c for c in chars[2:] if not (isinstance(c, str) and len(c) == 1)]
        if odd:
            raise bad(f"'chars' entries must be single characters, not {odd[0]!r}")
        try:
            table = CharTable.from_list(chars)
        except ValueError:
            raise bad("'chars' has duplicates") from None
        window = data["window"]
        if not isinstance(window, dict):
            raise bad("'window' must be an object {size, context}")
        size, context = window.get("size"), window.get("context")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (size, context)):
            raise bad(f"window size and context must be integers, not {size!r}, {context!r}")
        assert isinstance(size, int) and isinstance(context, int)
        if context < 0 or size <= 2 * context:
            raise bad(f"window size {size} must exceed twice its context {context} (>= 0)")
        try:
            lexicon = MwtLexicon.from_dict(data["mwt"])
        except PostagError as exc:
            raise bad(f"'mwt': {exc}") from None
        treebank = data.get("treebank", "")
        config, metrics = data.get("config", {}), data.get("metrics", {})
        if not isinstance(treebank, str):
            raise bad(f"'treebank' must be a string, not {treebank!r}")
        if not isinstance(config, dict) or not isinstance(metrics, dict):
            raise bad("'config' and 'metrics' must be JSON objects")
        return cls(table, size, context, lexicon, treebank, config, metrics)


# -- the segmenter ----------------------------------------------------------------------------


class Segmenter:
    """Raw text → labelled characters → sentences of tokens and words (see the module
    docstring). ``predict`` is any :data:`postag.segmentation.Predict` (the ONNX graph
    for :meth:`load`); ``source`` names it in errors and :meth:`describe`."""

    def __init__(
        self, spec: SegmenterSpec, predict: Predict, batch: int = BATCH, source: str = "<memory>"
    ) -> None:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self.spec = spec
        self.predict = predict
        self.batch = batch
        self.source = source

    @classmethod
    def load(
        cls,
        path: str | Path,
        config: str | Path | None = None,
        *,
        provider: str = "cpu",
        threads: int = 0,
        batch: int = BATCH,
    ) -> Segmenter:
        """The segmenter in directory ``path`` (``segmenter.onnx`` and ``segmenter.json``),
        or of graph ``path`` and settings ``config``. ``provider`` (``auto``, ``cpu``,
        ``cuda``) and ``threads`` (0: all cores) as for the tagger's graphs
        (:mod:`postag.session`). Every problem is a :class:`BundleError`."""
        path = Path(path)
        if config is None:
            if not path.is_dir():
                raise BundleError(
                    f"{path}: not a segmenter directory ({ONNX_FILE} and {JSON_FILE}); "
                    "give the graph and its settings file, or their directory"
                )
            onnx_path, json_path = path / ONNX_FILE, path / JSON_FILE
        else:
            onnx_path, json_path = path, Path(config)
        for p in (onnx_path, json_path):
            if not p.is_file():
                raise BundleError(f"{p}: no such file (the segmenter needs it)")
        spec = SegmenterSpec.read(json_path)
        predict = onnx_predict(onnx_path, provider, threads)
        _probe(predict, spec, onnx_path)
        return cls(spec, predict, batch, str(onnx_path))

    # -- per character ----------------------------------------------------------------------

    def labels(self, text: str) -> np.ndarray:
        """(len(text),) uint8: each character's label (:data:`postag.segmentation.LABELS`),
        the graph run over the text's windows, :attr:`batch` at a time."""
        s = self.spec
        return label_text(text, s.table, self.predict, s.size, s.context, self.batch)

    def segment(self, text: str) -> Segments:
        """Token and sentence spans and multiword flags (:func:`~postag.segmentation.decode`),
        every span at once; no limit on a sentence's length."""
        return decode(text, self.labels(text))

    # -- sentences --------------------------------------------------------------------------

    def iter_segmented(
        self,
        text: str,
        max_tokens: int = MAX_SENTENCE_TOKENS,
        max_chars: int = MAX_SENTENCE_CHARS,
    ) -> Iterator[SegmentedSentence]:
        """The sentences of ``text``, one at a time (:func:`segmented_sentences`)."""
        return segmented_sentences(
            text, self.labels(text), self.spec.lexicon, max_tokens, max_chars
        )

    def sentences(
        self,
        text: str,
        max_tokens: int = MAX_SENTENCE_TOKENS,
        max_chars: int = MAX_SENTENCE_CHARS,
    ) -> list[SegmentedSentence]:
        """All sentences of ``text`` (:meth:`iter_segmented`)."""
        return list(self.iter_segmented(text, max_tokens, max_chars))

    def iter_sentences(
        self,
        text: str,
        max_tokens: int = MAX_SENTENCE_TOKENS,
        max_chars: int = MAX_SENTENCE_CHARS,
    ) -> Iterator[list[Token]]:
        """The sentences as the rule tokenizer's :func:`postag.tokenizer.iter_sentences`
        gives them: lists of :class:`~postag.tokenizer.Token`, a multiword token with its
        ``words``."""
        for sent in self.iter_segmented(text, max_tokens, max_chars):
            yield sent.to_tokens()

    def split_sentences(
        self,
        text: str,
        max_tokens: int = MAX_SENTENCE_TOKENS,
        max_chars: int = MAX_SENTENCE_CHARS,
    ) -> list[list[Token]]:
        """All sentences of ``text`` (:meth:`iter_sentences`)."""
        return list(self.iter_sentences(text, max_tokens, max_chars))

    def text_sentences(self, text: str) -> list[TextSentence]:
        """All sentences of ``text`` as words with their offsets and multiword tokens."""
        return [s.text_sentence() for s in self.iter_segmented(text)]

    def describe(self) -> str:
        """One line: treebank, characters, windows, lexicon."""
        s = self.spec
        return (
            f"{s.treebank or 'unnamed treebank'}: {len(s.table) - 2:,} characters, windows "
            f"of {s.size} ({s.context} of context), {len(s.lexicon):,} multiword forms"
        )


# -- the graph --------------------------------------------------------------------------------

_ORT_TYPES = {"int64": "tensor(int64)", "float32": "tensor(float)"}
_INPUT_TYPES = {s.name: (_ORT_TYPES[s.dtype], len(s.axes)) for s in SEGMENTER_CONTRACT.inputs}


def onnx_predict(
    path: str | Path, provider: str = "cpu", threads: int = 0
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """An onnxruntime session of a segmenter graph as a
    :data:`~postag.segmentation.Predict`, its inputs and output checked (names, element
    types, ranks, the features' and labels' widths). A :class:`BundleError` when the
    file is not such a graph, and when a run fails."""
    session = open_session(path, session_options(threads), resolve_provider(provider))
    got_in = {i.name: i for i in session.get_inputs()}
    got_out = [o.name for o in session.get_outputs()]
    if sorted(got_in) != sorted(INPUTS) or got_out != [OUTPUT]:
        raise BundleError(
            f"{path}: graph I/O {sorted(got_in)} → {got_out}; a segmenter graph has "
            f"inputs {list(INPUTS)} and output {[OUTPUT]}"
        )
    shapes = {name: (i.type, i.shape) for name, i in got_in.items()}
    out = session.get_outputs()[0]
    shapes[OUTPUT] = (out.type, out.shape)
    out_spec = SEGMENTER_CONTRACT.outputs[0]
    expected = {**_INPUT_TYPES, OUTPUT: (_ORT_TYPES[out_spec.dtype], len(out_spec.axes))}
    widths = {INPUTS[1]: N_FEATURES, OUTPUT: N_LABELS}
    for name, (etype, rank) in expected.items():
        got_type, shape = shapes[name]
        last = shape[-1] if shape else None
        if (
            got_type != etype
            or len(shape) != rank
            or (name in widths and isinstance(last, int) and last != widths[name])
        ):
            want = f"{etype} of rank {rank}" + (
                f", last axis {widths[name]}" if name in widths else ""
            )
            raise BundleError(f"{path}: {name!r} is {got_type} of shape {shape}; expected {want}")

    def predict(ids: np.ndarray, feats: np.ndarray) -> np.ndarray:
        try:
            return session.run([OUTPUT], dict(zip(INPUTS, (ids, feats), strict=True)))[0]
        except Exception as exc:  # onnxruntime's own exception types
            raise BundleError(f"{path}: the segmenter graph failed: {exc}") from None

    return predict


def _probe(predict: Predict, spec: SegmenterSpec, path: Path) -> None:
    """Run the graph once over every id of the table: a graph exported with another
    table (fewer characters) fails here, at load, not in the middle of a text."""
    n = len(spec.table)
    width = min(n, spec.size)
    rows = -(-n // width)
    ids = np.zeros(rows * width, dtype=np.int64)
    ids[:n] = np.arange(n)
    ids = ids.reshape(rows, width)  # (rows, width)
    feats = np.zeros((rows, width, N_FEATURES), dtype=np.float32)
    try:
        scores = predict(ids, feats)
    except BundleError as exc:
        raise BundleError(
            f"{exc} (on the {n} character ids of its settings: a graph and "
            f"{JSON_FILE} from different exports?)"
        ) from None
    if np.shape(scores) != (rows, width, N_LABELS):
        raise BundleError(
            f"{path}: label scores of shape {np.shape(scores)} for input {ids.shape}; "
            f"expected {(rows, width, N_LABELS)}"
        )


__all__ = [
    "BATCH",
    "JSON_FILE",
    "MAX_MULTIWORD_CHARS",
    "ONNX_FILE",
    "SegmentedSentence",
    "SegmentedToken",
    "Segmenter",
    "SegmenterSpec",
    "iter_token_spans",
    "onnx_predict",
    "segmented_sentences",
]
