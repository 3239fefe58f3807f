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


def test_unreachable_download_names_data_and_postag_data(tmp_path, monkeypatch):
    """No corpus anywhere and no network: the error says what was searched and how to
    point postag at a corpus, not only the socket's complaint."""
    monkeypatch.setattr(corpus_mod, "PROJECT_ROOT", tmp_path / "a" / "b")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CorpusError) as err:
        locate_corpus()
    message = str(err.value)
    assert message.startswith("no corpus given (--data, POSTAG_DATA) or found at ")
    assert "download of http://127.0.0.1:9/en_ewt-ud-train.conllu failed: " in message
    assert "Connection refused" in message and "<urlopen error" not in message
    assert "pass --data DIR (or set POSTAG_DATA=DIR)" in message


def test_single_file_corpus_and_its_location(toy_corpus):
    one = locate_corpus(toy_corpus / "toy-ud-dev.conllu")
    assert one.single_file and one.location == toy_corpus / "toy-ud-dev.conllu"
    whole = locate_corpus(toy_corpus)
    assert not whole.single_file and whole.location == toy_corpus


def test_a_missing_split_names_the_file_pattern(toy_corpus):
    (toy_corpus / "toy-ud-test.conllu").unlink()
    with pytest.raises(
        CorpusError, match=r"\(--data: .*corpus\) has no test split \(no \*-ud-test"
    ):
        locate_corpus(toy_corpus).path("test")


@pytest.mark.parametrize(
    "record",
    [None, {}, {"files": {}}, {"files": []}, {"files": {"train": "x"}}, {"files": {"dev": {}}}],
)
def test_a_checkpoint_without_a_usable_record_records_no_corpus(record):
    assert corpus_mod.recorded_sha256(record) is None


def test_find_corpus_by_sha256(toy_corpus, tmp_path, monkeypatch):
    """The default location when its files match (wherever they are: a copy is the same
    corpus); otherwise an error saying what differs and naming --data."""
    want = corpus_mod.recorded_sha256(corpus_mod.corpus_identity(locate_corpus(toy_corpus)))
    assert want is not None and set(want) == {"train", "dev", "test"}
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in toy_corpus.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    monkeypatch.setenv("POSTAG_DATA", str(copy))
    assert corpus_mod.find_corpus(want).location == copy
    (copy / "toy-ud-dev.conllu").write_text(to_conllu(toy_sentences(3, 9)))
    assert corpus_mod.differing_splits(locate_corpus(copy), want) == ["dev"]
    with pytest.raises(CorpusError) as err:
        corpus_mod.find_corpus(want)
    assert str(err.value) == (
        f"{copy} (POSTAG_DATA) has other dev files; pass --data with the corpus the "
        "checkpoint was trained on (the *-ud-{train,dev,test}.conllu files whose sha256 it "
        "records)"
    )


def test_find_corpus_fetches_ewt_when_the_default_corpus_is_another(
    loopback_server, toy_corpus, monkeypatch
):
    """A checkpoint trained on UD English EWT, a default location holding something else:
    the verified download (or its cache) is EWT, so the export reads that."""
    root, url = loopback_server
    files = {}
    for split in ("train", "dev", "test"):
        name = f"en_ewt-ud-{split}.conllu"
        data = to_conllu(toy_sentences(4, len(split))).encode()
        (root / name).write_bytes(data)
        files[split] = (name, hashlib.sha256(data).hexdigest())
    monkeypatch.setattr(corpus_mod, "EWT_FILES", files)
    monkeypatch.setenv("POSTAG_DATA_URL", url)
    monkeypatch.setenv("POSTAG_DATA", str(toy_corpus))  # the default: another corpus
    want = {s: sha for s, (_, sha) in files.items()}
    assert corpus_mod.is_ewt(want) and not corpus_mod.is_ewt({"dev": "0" * 64})
    found = corpus_mod.find_corpus(want)
    assert found.origin == "download"
    assert found.path("dev") == corpus_mod.cache_dir() / "ud-english-ewt-r2.16" / files["dev"][0]
    monkeypatch.setenv("POSTAG_DATA_URL", "http://127.0.0.1:9/")  # the cache is used offline
    assert corpus_mod.find_corpus(want).files == found.files
