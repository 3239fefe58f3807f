"""Which sentences a command reads, torch-free: the corpus to train on, a split or file
for ``postag eval``, the training split for its unseen-bigram counts, and the split the
export's accuracy checks scored (re-read by ``postag verify`` and ``postag slim``).

    corpus = training_corpus(None)            # --data, POSTAG_DATA, ../shared, download
    split, sentences = scored_sentences(load_manifest("artifacts/postag-en-ewt"), None)

Nothing here imports torch, so ``postag slim`` runs where only the runtime and onnx are
installed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from postag.bundle import Manifest, sentences_sha256
from postag.corpus import SPLITS, Corpus, locate_corpus
from postag.data import Sentence, read_conllu
from postag.errors import BundleError, CorpusError
from postag.files import sha256_file


def training_corpus(data: str | None) -> Corpus:
    """The corpus to train on, refused where one file would be every split at once."""
    corpus = locate_corpus(data)
    if corpus.single_file:
        raise CorpusError(
            f"{corpus.location} ({corpus.origin}) is one file: training would use it as the "
            "train, dev and test split at once (the best epoch picked and the test score "
            "measured on the training sentences); put the splits in one directory as "
            "NAME-ud-train.conllu, NAME-ud-dev.conllu and NAME-ud-test.conllu and pass the "
            "directory as --data"
        )
    return corpus


def corpus_file(data: str | None, name: str) -> Path:
    """A split name (train/dev/test) of the located corpus, or a CoNLL-U file path."""
    return locate_corpus(data).path(name) if name in SPLITS else Path(name)


def training_sentences(
    ckpt: Any, data: str | None, echo: Callable[[str], None]
) -> list[Sentence] | None:
    """The checkpoint's training split, for the unseen-bigram count of ``postag eval``:
    the corpus' train file when its sha256 is the one the checkpoint recorded, else None
    (said, not guessed)."""
    try:
        train = locate_corpus(data).path("train")
    except CorpusError:
        echo("no training split found: unseen-bigram counts left out")
        return None
    want = (ckpt.corpus_sha256() or {}).get("train")
    if not want or sha256_file(train) != want:
        echo(f"{train} is not the checkpoint's training data: unseen-bigram counts left out")
        return None
    return read_conllu(train)


def scored_sentences(man: Manifest, data: str | Path | None) -> tuple[str, list[Sentence]]:
    """The split the export's accuracy checks scored, read from the corpus setting
    (``data``, ``POSTAG_DATA``, ``../shared``) and refused unless it is the same
    sentences. Format 1 recorded no ``gate``: the corpus' file sha256 stands in."""
    if man.scored is not None:
        split, want = man.scored.split, man.scored.sha256
    else:
        split = "test" if "test_accuracy" in str(man.data.get("evaluation")) else "dev"
        want = _dig(man.data, "corpus", "files", split, "sha256")
        if not isinstance(want, str):
            raise BundleError(
                f"{man.root}: the manifest does not record the sentences the export's "
                "accuracy checks scored; re-export the bundle to verify it"
            )
    why = f"verify re-runs the export's int8 accuracy checks on the {split} split it scored"
    try:
        path = locate_corpus(data).path(split)
        sentences = read_conllu(path)
    except CorpusError as exc:
        raise CorpusError(f"{why}: {exc}") from None
    got = sentences_sha256(sentences) if man.scored is not None else sha256_file(path)
    if got != want:
        raise CorpusError(
            f"{why}, but {path} holds other sentences (sha256 {got[:12]}…, the export "
            f"scored {want[:12]}…); pass --data with the corpus the bundle was exported from"
        )
    return split, sentences


def _dig(data: Any, *keys: str) -> Any:
    """``data[k1][k2]…``, or None where a level is missing or not an object."""
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data
