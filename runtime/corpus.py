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
   server).
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class Corpus:
    """Where each split lives and how it was found."""

    files: dict[str, Path]
    origin: str  # "--data", "POSTAG_DATA", "shared", "download"

    def path(self, split: str) -> Path:
        if split not in self.files:
            raise CorpusError(f"the corpus ({self.origin}) has no {split} split")
        return self.files[split]


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
            raise CorpusError(f"download of {url} failed: {exc}") from None
        got = sha256_file(tmp)
        if got != sha:
            tmp.unlink(missing_ok=True)
            raise CorpusError(
                f"{url}: sha256 mismatch (expected {sha}, got {got}); the file was not kept"
            )
        os.replace(tmp, target)
    return dest


def locate_corpus(data: str | Path | None = None, download: bool = True) -> Corpus:
    """Resolve the corpus following the lookup order in this module's docstring."""
    if data:
        return _from_path(Path(data), "--data")
    if env := os.environ.get("POSTAG_DATA"):
        return _from_path(Path(env), "POSTAG_DATA")
    for base in (PROJECT_ROOT, Path.cwd()):
        shared = (base / SHARED_REL).resolve()
        if shared.is_dir():
            return _from_path(shared, "shared")
    if not download:
        raise CorpusError("no corpus found: pass --data or set POSTAG_DATA")
    return _from_path(download_ewt(), "download")


def corpus_identity(corpus: Corpus) -> dict[str, object]:
    """Name and sha256 of every split, recorded in checkpoints and manifests."""
    known = {sha: f"{EWT_NAME} {EWT_RELEASE}" for _, sha in EWT_FILES.values()}
    files = {s: {"file": p.name, "sha256": sha256_file(p)} for s, p in corpus.files.items()}
    names = {known.get(f["sha256"], "custom") for f in files.values()}
    return {"name": names.pop() if len(names) == 1 else "custom", "files": files}
