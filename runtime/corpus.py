"""Find the UD English EWT corpus, or fetch it.

Lookup order (first hit wins):

1. an explicit path (``--data``): a directory holding ``*-ud-{train,dev,test}.conllu``,
   or a single ``.conllu`` file (used for every split it is asked for);
2. the ``POSTAG_DATA`` environment variable (same forms);
3. ``../shared/data/ud-english-ewt`` beside the project (or the working directory);
4. a download of UD English EWT tag ``r2.16`` from the treebank's GitHub repository into
   ``$POSTAG_CACHE`` (default ``$XDG_CACHE_HOME/postag`` or ``~/.cache/postag``), each file
   checked against the sha256 below (the values of ``SOURCE.md``); a mismatching file is
   deleted and reported. ``POSTAG_DATA_URL`` overrides the base URL (tests use a loopback
   server). A failed download says how to point postag at a corpus (``--data``,
   ``POSTAG_DATA``).

A checkpoint records the sha256 of the splits it was trained on (:func:`corpus_identity`);
:func:`find_corpus` finds those files again (the export reads them):

    corpus = find_corpus(recorded_sha256(ckpt.corpus))   # CorpusError naming --data if absent
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from postag.errors import CorpusError
from postag.files import sha256_file

EWT_NAME = "UD_English-EWT"
EWT_RELEASE = "r2.16"
EWT_URL = f"https://raw.githubusercontent.com/UniversalDependencies/{EWT_NAME}/{EWT_RELEASE}"
EWT_FILES: dict[str, tuple[str, str]] = {
    "train": (
        "en_ewt-ud-train.conllu",
        "3fb78e2b55482c8ee00caa653af436c88c9e5bc9a73ce26e4ae3ddc79d2b7e7b",
    ),
    "dev": (
        "en_ewt-ud-dev.conllu",
        "531a54ff90d6ab12201c5a50c3e78e6ddac4de69abc4bce5d275d3cd29efe2b6",
    ),
    "test": (
        "en_ewt-ud-test.conllu",
        "e266e515a0a7547657ed3d90d9ba46487d6bd251f27ad4269d4e8a427c8555cd",
    ),
}
SPLITS = ("train", "dev", "test")
PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_REL = Path("..") / "shared" / "data" / "ud-english-ewt"
#: What to do when no corpus is found: the end of every such message.
HOW_TO_POINT = (
    "pass --data DIR (or set POSTAG_DATA=DIR) with the *-ud-{train,dev,test}.conllu files"
)


@dataclass(frozen=True)
class Corpus:
    """Where each split lives and how it was found."""

    files: dict[str, Path]
    origin: str  # "--data", "POSTAG_DATA", "shared", "download"

    def path(self, split: str) -> Path:
        if split not in self.files:
            raise CorpusError(
                f"the corpus ({self.origin}: {self.location}) has no {split} split "
                f"(no *-ud-{split}.conllu file)"
            )
        return self.files[split]

    @property
    def single_file(self) -> bool:
        """One .conllu file stands for several splits (``--data one.conllu``)."""
        return len(set(self.files.values())) < len(self.files)

    @property
    def location(self) -> Path:
        """The file (a single-file corpus) or the directory the splits are in."""
        first = next(iter(self.files.values()))
        return first if self.single_file else first.parent

    def sha256(self) -> dict[str, str]:
        """split → sha256 of its file."""
        return {s: sha256_file(p) for s, p in self.files.items()}

    def describe(self) -> str:
        """One line: where each split comes from and how it was found."""
        splits = ", ".join(f"{s}={p}" for s, p in sorted(self.files.items()))
        return f"corpus ({self.origin}): {splits}"


def _from_path(path: Path, origin: str) -> Corpus:
    if path.is_file():
        return Corpus({s: path for s in SPLITS}, origin)
    if not path.is_dir():
        raise CorpusError(f"{path} ({origin}): no such file or directory")
    files: dict[str, Path] = {}
    for split in SPLITS:
        hits = sorted(path.glob(f"*-ud-{split}.conllu"))
        if len(hits) > 1:
            raise CorpusError(f"{path}: several {split} files: {[h.name for h in hits]}")
        if hits:
            files[split] = hits[0]
    if not files:
        raise CorpusError(f"{path} ({origin}): no *-ud-{{train,dev,test}}.conllu files")
    return Corpus(files, origin)


def cache_dir() -> Path:
    if env := os.environ.get("POSTAG_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "postag"


def download_ewt(dest: Path | None = None, base_url: str | None = None) -> Path:
    """Fetch the three EWT files into ``dest`` (verified by sha256); return the folder."""
    dest = dest or cache_dir() / f"ud-english-ewt-{EWT_RELEASE}"
    base_url = (base_url or os.environ.get("POSTAG_DATA_URL") or EWT_URL).rstrip("/")
    dest.mkdir(parents=True, exist_ok=True)
    for _split, (name, sha) in EWT_FILES.items():
        target = dest / name
        if target.exists() and sha256_file(target) == sha:
            continue
        tmp = dest / f".{name}.part"
        url = f"{base_url}/{name}"
        try:
            with urllib.request.urlopen(url, timeout=60) as resp, open(tmp, "wb") as out:
                while block := resp.read(1 << 20):
                    out.write(block)
        except (urllib.error.URLError, OSError) as exc:
            tmp.unlink(missing_ok=True)
            reason = getattr(exc, "reason", None) or exc.strerror or exc
            raise CorpusError(f"download of {url} failed: {reason}") from None
        got = sha256_file(tmp)
        if got != sha:
            tmp.unlink(missing_ok=True)
            raise CorpusError(
                f"{url}: sha256 mismatch (expected {sha}, got {got}); the file was not kept"
            )
        os.replace(tmp, target)
    return dest


def _configured(data: str | Path | None) -> Corpus | None:
    """Steps 1-3 of the lookup order; None where none of them names a corpus."""
    if data:
        return _from_path(Path(data), "--data")
    if env := os.environ.get("POSTAG_DATA"):
        return _from_path(Path(env), "POSTAG_DATA")
    for base in (PROJECT_ROOT, Path.cwd()):
        shared = (base / SHARED_REL).resolve()
        if shared.is_dir():
            return _from_path(shared, "shared")
    return None


def locate_corpus(data: str | Path | None = None, download: bool = True) -> Corpus:
    """Resolve the corpus following the lookup order in this module's docstring."""
    if (corpus := _configured(data)) is not None:
        return corpus
    if not download:
        raise CorpusError(f"no corpus found: {HOW_TO_POINT}")
    return _from_path(_download_or_explain(), "download")


def _download_or_explain() -> Path:
    """:func:`download_ewt`, its failure completed with the places searched and what to do."""
    try:
        return download_ewt()
    except CorpusError as exc:
        raise CorpusError(
            f"no corpus given (--data, POSTAG_DATA) or found at {SHARED_REL}, and {exc}; "
            f"{HOW_TO_POINT}, or allow the download of UD English EWT {EWT_RELEASE}"
        ) from None


def corpus_identity(corpus: Corpus) -> dict[str, object]:
    """Name and sha256 of every split, recorded in checkpoints and manifests."""
    known = {sha: f"{EWT_NAME} {EWT_RELEASE}" for _, sha in EWT_FILES.values()}
    shas = corpus.sha256()
    files = {s: {"file": p.name, "sha256": shas[s]} for s, p in corpus.files.items()}
    names = {known.get(f["sha256"], "custom") for f in files.values()}
    return {"name": names.pop() if len(names) == 1 else "custom", "files": files}


def recorded_sha256(identity: Mapping[str, Any] | None) -> dict[str, str] | None:
    """split → sha256 of a :func:`corpus_identity` record; None where it records none."""
    files = (identity or {}).get("files")
    if not isinstance(files, dict) or not files:
        return None
    shas = {s: f.get("sha256") for s, f in files.items() if isinstance(f, dict)}
    if len(shas) < len(files) or not all(isinstance(v, str) for v in shas.values()):
        return None
    return {s: str(v) for s, v in shas.items()}


def differing_splits(corpus: Corpus, want: Mapping[str, str]) -> list[str]:
    """The splits whose file in ``corpus`` is not the one ``want`` records (another
    sha256, or a split only one of them has); empty: the same corpus."""
    got = corpus.sha256()
    return [s for s in SPLITS if s in got.keys() | want.keys() and got.get(s) != want.get(s)]


def is_ewt(want: Mapping[str, str]) -> bool:
    """``want`` names the splits of UD English EWT as :func:`download_ewt` verifies them."""
    return bool(want) and all(s in EWT_FILES and EWT_FILES[s][1] == v for s, v in want.items())


def find_corpus(want: Mapping[str, str]) -> Corpus:
    """The corpus whose split files have the sha256 ``want`` (a checkpoint's record, see
    :func:`recorded_sha256`): the one found without ``--data`` (``POSTAG_DATA``,
    ``../shared``) when its files match, else, for UD English EWT, the verified download
    (or its cache). :class:`CorpusError` saying what was found and naming ``--data``
    otherwise."""
    tried = []
    try:
        default = _configured(None)
    except CorpusError as exc:  # POSTAG_DATA names no corpus, …
        tried.append(str(exc))
        default = None
    if default is not None:
        if not (differ := differing_splits(default, want)):
            return default
        where = f"{default.location} ({default.origin})"
        tried.append(f"{where} has other {'/'.join(differ)} files")
    if is_ewt(want):
        try:
            fetched = _from_path(download_ewt(), "download")
        except CorpusError as exc:
            tried.append(str(exc))
        else:
            if not differing_splits(fetched, want):
                return fetched
            tried.append(f"{fetched.location} (download) lacks {'/'.join(sorted(want))}")
    found = "; ".join(tried) or "no corpus was found (POSTAG_DATA, ../shared)"
    raise CorpusError(
        f"{found}; pass --data with the corpus the checkpoint was trained on "
        f"(the *-ud-{{train,dev,test}}.conllu files whose sha256 it records)"
    )
