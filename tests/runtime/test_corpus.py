import hashlib
import http.server
import threading
from pathlib import Path

import pytest

from postag import corpus as corpus_mod
from postag.corpus import EWT_FILES, locate_corpus
from postag.errors import CorpusError
from tests.conftest import EWT, to_conllu, toy_sentences


def test_explicit_path_beats_environment(toy_corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("POSTAG_DATA", str(tmp_path / "elsewhere"))
    c = locate_corpus(toy_corpus)
    assert c.origin == "--data" and c.path("dev").name == "toy-ud-dev.conllu"


def test_environment_variable(toy_corpus, monkeypatch):
    monkeypatch.setenv("POSTAG_DATA", str(toy_corpus))
    assert locate_corpus().origin == "POSTAG_DATA"


def test_single_file_serves_every_split(toy_corpus):
    f = toy_corpus / "toy-ud-dev.conllu"
    c = locate_corpus(f)
    assert c.path("train") == c.path("test") == f


def test_bad_paths_are_clear_errors(tmp_path):
    with pytest.raises(CorpusError, match="no such file or directory"):
        locate_corpus(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="no \\*-ud-"):
        locate_corpus(tmp_path / "empty")


@pytest.mark.skipif(not EWT.is_dir(), reason="../shared/data/ud-english-ewt is not present")
def test_shared_corpus_is_found_and_matches_source_md():
    c = locate_corpus()
    assert c.origin == "shared"
    source = (EWT / "SOURCE.md").read_text()
    for name, sha in EWT_FILES.values():
        assert f"| {name} |" in source and sha in source


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback_server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a: _Handler(*a, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _serve_toy_files(root: Path, monkeypatch, corrupt: str | None = None) -> dict:
    files = {}
    for i, split in enumerate(("train", "dev", "test")):
        name = f"toy_{split}.conllu"
        data = to_conllu(toy_sentences(5, i)).encode()
        files[split] = (name, hashlib.sha256(data).hexdigest())
        (root / name).write_bytes(data + (b"tampered" if split == corrupt else b""))
    monkeypatch.setattr(corpus_mod, "EWT_FILES", files)
    return files


def test_download_verifies_sha256(loopback_server, tmp_path, monkeypatch):
    root, url = loopback_server
    _serve_toy_files(root, monkeypatch)
    dest = corpus_mod.download_ewt(tmp_path / "cache", base_url=url)
    assert sorted(p.name for p in dest.iterdir()) == [
        "toy_dev.conllu",
        "toy_test.conllu",
        "toy_train.conllu",
    ]


def test_download_with_bad_hash_keeps_nothing(loopback_server, tmp_path, monkeypatch):
    root, url = loopback_server
    _serve_toy_files(root, monkeypatch, corrupt="dev")
    with pytest.raises(CorpusError, match="toy_dev.conllu: sha256 mismatch"):
        corpus_mod.download_ewt(tmp_path / "cache", base_url=url)
    assert not any("dev" in p.name for p in (tmp_path / "cache").iterdir())


def test_download_is_the_last_resort(loopback_server, monkeypatch):
    root, url = loopback_server
    _serve_toy_files(root, monkeypatch)
    monkeypatch.setenv("POSTAG_DATA_URL", url)
    monkeypatch.setattr(corpus_mod, "PROJECT_ROOT", Path("/nonexistent/a/b"))
    monkeypatch.chdir("/")
    with pytest.raises(CorpusError, match="no \\*-ud-"):  # toy names are not *-ud-*
        locate_corpus()
    assert (corpus_mod.cache_dir() / "ud-english-ewt-r2.16" / "toy_dev.conllu").exists()


def test_unreachable_download_is_a_clear_error(tmp_path):
    with pytest.raises(CorpusError, match="download of http://127.0.0.1:9/.* failed"):
        corpus_mod.download_ewt(tmp_path / "c")
