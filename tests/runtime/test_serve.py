"""`postag serve`: endpoints, micro-batching, limits and errors, graceful shutdown,
the Triton repository and the bounded load test."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from postag.batching import MAX_BATCH_TOKENS

fastapi = pytest.importorskip("fastapi", reason="needs the serve extra (pip install '.[serve]')")
from click.testing import CliRunner  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from postag import Tagger  # noqa: E402
from postag.cli import cli  # noqa: E402
from postag.serve.app import create_app  # noqa: E402
from postag.serve.config import ServeConfig  # noqa: E402

SENTS = [
    ["Alice", "saw", "Paris", "."],
    ["the", "dog", "runs"],
    ["Bob", "likes", "it", "!"],
    ["She", "runs", "quickly", "."] * 5,
    ["Hi"],
]


@pytest.fixture(scope="module")
def tagger(toy_bundle):
    return Tagger.load(toy_bundle[0], provider="cpu", threads=1)


def client_for(tagger, **cfg) -> TestClient:
    return TestClient(create_app(tagger, ServeConfig(**cfg)))


def test_health_info_and_openapi(tagger):
    with client_for(tagger) as c:
        assert c.get("/v1/health").json()["model_loaded"] is True
        info = c.get("/v1/info").json()
        assert info["name"] == "toy" and info["provider"] == "CPUExecutionProvider"
        assert info["serve"]["max_batch_tokens"] == MAX_BATCH_TOKENS
        schema = c.get("/openapi.json").json()
        assert "/v1/tag" in schema["paths"] and "TagRequest" in schema["components"]["schemas"]


def test_tag_inputs_match_direct_tagging(tagger):
    with client_for(tagger) as c:
        r = c.post("/v1/tag", json={"sentences": SENTS})
        assert r.status_code == 200
        body = r.json()
        assert [s["tags"] for s in body["sentences"]] == [t.tags for t in tagger.tag_batch(SENTS)]
        assert body["tokens"] == sum(map(len, SENTS)) and "probs" not in body["sentences"][0]
        r = c.post("/v1/tag", json={"text": "Alice saw Paris. Bob runs!", "top_k": 2})
        got = r.json()["sentences"]
        want = tagger.tag_text("Alice saw Paris. Bob runs!", top_k=2)
        assert [s["words"] for s in got] == [w.words for w in want]
        assert [s["tags"] for s in got] == [w.tags for w in want]
        assert all(len(row) == 2 for s in got for row in s["top_k"])
        r = c.post("/v1/tag", json={"texts": ["Alice saw Paris.", "", "Hi. Bye."]})
        assert [s["text"] for s in r.json()["sentences"]] == [0, 2, 2]


def test_concurrent_requests_are_micro_batched_with_identical_results(tagger):
    with client_for(tagger, max_wait_ms=50) as c, ThreadPoolExecutor(24) as pool:
        bodies = [{"sentences": [SENTS[i % len(SENTS)]], "probs": i % 2 == 0} for i in range(48)]
        responses = list(pool.map(lambda b: c.post("/v1/tag", json=b), bodies))
        stats = c.get("/v1/info").json()["stats"]
    assert all(r.status_code == 200 for r in responses)
    for b, r in zip(bodies, responses, strict=True):
        direct = tagger.tag(b["sentences"][0], probs=True)
        out = r.json()["sentences"][0]
        assert out["tags"] == direct.tags
        if b["probs"]:
            assert out["probs"] == pytest.approx(direct.probs, abs=1e-5)
        else:
            assert "probs" not in out
    assert stats["requests"] == 48 and stats["max_requests_per_batch"] > 1
    assert stats["batches"] < 48


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"sentences": [["a"]] * 11}, 413, "too_many_sentences"),
        ({"sentences": [["a"] * 30]}, 413, "too_many_tokens"),
        ({"sentences": [["x" * 51]]}, 422, "invalid_token"),
        ({"sentences": [["a", ""]]}, 422, "invalid_token"),
        ({"sentences": [[" a"]]}, 422, "invalid_token"),
        ({"sentences": [[]]}, 422, "invalid_request"),
        ({"sentences": "not a list"}, 422, "invalid_request"),
        ({"text": "a", "sentences": [["a"]]}, 422, "invalid_request"),
        ({}, 422, "invalid_request"),
        ({"text": "a", "top_k": 99}, 422, "invalid_request"),
        ({"text": "a", "top_k": -1}, 422, "invalid_request"),
    ],
)
def test_limits_and_bad_requests(tagger, body, status, code):
    with client_for(tagger, max_sentences=10, max_tokens=20, max_token_chars=50) as c:
        r = c.post("/v1/tag", json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code and r.json()["error"]["message"]


def test_malformed_json_and_oversized_body(tagger):
    with client_for(tagger, max_body_bytes=200) as c:
        r = c.post("/v1/tag", content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
        r = c.post(
            "/v1/tag",
            content=json.dumps({"text": "a " * 500}).encode(),
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"


def slow(tagger, seconds: float):
    original = tagger.tag_batch

    def tag_batch(*a, **k):
        time.sleep(seconds)
        return original(*a, **k)

    return tag_batch


def test_full_queue_answers_503_with_retry_after(tagger, monkeypatch):
    monkeypatch.setattr(tagger, "tag_batch", slow(tagger, 0.4))
    with client_for(tagger, queue_size=1, max_wait_ms=0) as c, ThreadPoolExecutor(6) as pool:
        responses = list(
            pool.map(lambda _: c.post("/v1/tag", json={"sentences": [["Hi"]]}), range(6))
        )
    codes = sorted(r.status_code for r in responses)
    assert 503 in codes and 200 in codes and set(codes) <= {200, 503}
    busy = next(r for r in responses if r.status_code == 503)
    assert busy.headers["retry-after"] == "1"
    assert busy.json()["error"]["code"] == "overloaded"


def test_graceful_shutdown_finishes_in_flight_requests(tagger, monkeypatch):
    import httpx
    import uvicorn

    from postag.serve.loadtest import free_port

    monkeypatch.setattr(tagger, "tag_batch", slow(tagger, 0.8))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(tagger), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    result = {}

    def call() -> None:
        result["r"] = httpx.post(
            f"http://127.0.0.1:{port}/v1/tag", json={"sentences": [["Hi", "there"]]}, timeout=10
        )

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.3)  # the request is now inside the (slow) session run
    server.should_exit = True
    caller.join(10)
    thread.join(10)
    assert result["r"].status_code == 200
    assert len(result["r"].json()["sentences"][0]["tags"]) == 2
    assert not thread.is_alive()


def test_triton_repository_matches_the_manifest(toy_bundle, tmp_path):
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    from postag.bundle import load_manifest

    res = CliRunner().invoke(cli, ["export-triton", str(toy_bundle[0]), str(tmp_path / "repo")])
    assert res.exit_code == 0, res.output
    model = tmp_path / "repo" / "toy"
    cfg = text_format.Parse((model / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())
    man = load_manifest(toy_bundle[0])
    contract = man.contract
    dtype = {"int64": model_config_pb2.TYPE_INT64, "float32": model_config_pb2.TYPE_FP32}
    assert cfg.name == "toy" and cfg.backend == "onnxruntime" and cfg.max_batch_size == 0
    for got, spec in zip(
        list(cfg.input) + list(cfg.output), contract.inputs + contract.outputs, strict=True
    ):
        assert got.name == spec.name and got.data_type == dtype[spec.dtype]
        assert list(got.dims) == [-1 if a != "tags" else len(man.tags) for a in spec.axes]
    assert cfg.parameters["postag.manifest_sha256"].string_value == man.data["manifest_sha256"]
    assert (model / "1" / "model.onnx").read_bytes() == man.path("model.onnx").read_bytes()
    assert json.loads((model / "tags.json").read_text()) == man.tags


def test_bounded_loadtest_writes_a_report(toy_bundle, tmp_path):
    res = CliRunner().invoke(
        cli,
        [
            "--threads",
            "1",
            "loadtest",
            str(toy_bundle[0]),
            "--clients",
            "1,4",
            "--requests",
            "20",
            "--time-cap",
            "20",
            "--out",
            str(tmp_path / "lt"),
        ],
    )
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "lt" / "loadtest.json").read_text())
    assert [lv["clients"] for lv in report["levels"]] == [1, 4]
    for lv in report["levels"]:
        assert lv["errors"] == 0 and lv["ok"] == 20 and lv["requests_per_s"] > 0
        assert lv["p50_ms"] <= lv["p99_ms"]
    assert "| clients |" in (tmp_path / "lt" / "loadtest.md").read_text()


def test_serve_refuses_a_bad_bundle(tmp_path):
    res = CliRunner().invoke(cli, ["serve", str(tmp_path / "missing")])
    assert res.exit_code == 1 and "not a bundle directory" in res.output
