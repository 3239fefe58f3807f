"""postag.serve.metrics: GET /metrics counts what happened, per app; several workers sum."""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import click
import pytest

from .conftest import SENTS

fastapi = pytest.importorskip("fastapi", reason="needs the serve extra (pip install '.[serve]')")
import httpx  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of a scrape: (name, sorted labels) → value."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def scrape(c) -> Samples:  # noqa: ANN001
    r = c.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return parse(r.text)


def value(samples: Samples, name: str, /, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: Samples, name: str) -> float:
    """The sum of a metric's samples over all their labels."""
    return sum(v for (n, _), v in samples.items() if n == name)


def post_raw(c, body: bytes, content_type: str = "application/json"):  # noqa: ANN001, ANN201
    return c.post("/v1/tag", content=body, headers={"content-type": content_type})


def test_requests_rejections_tokens_and_batches_move_by_the_right_amounts(tagger, client_for):
    good = [SENTS[0], SENTS[1]]  # 7 tokens
    with client_for(max_tokens=20, max_body_bytes=2000) as c:
        before = scrape(c)
        answers = [
            c.post("/v1/tag", json={"sentences": good}),
            c.post("/v1/tag", json={"sentences": [["a"] * 30]}),  # 413 too_many_tokens
            post_raw(c, b'{"text": "' + b"a " * 2000 + b'"}'),  # 413 body_too_large
            c.post("/v1/tag", json={"text": "a", "top_k": True}),  # 422 invalid_request
            post_raw(c, b'{"text": "a"}', "text/plain"),  # 415 unsupported_media_type
        ]
        after = scrape(c)
    assert [r.status_code for r in answers] == [200, 413, 413, 422, 415]

    def delta(name: str, /, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    tag = {"endpoint": "/v1/tag"}
    assert delta("postag_requests_total", **tag, status="200") == 1
    assert delta("postag_requests_total", **tag, status="413") == 2
    assert delta("postag_requests_total", **tag, status="422") == 1
    assert delta("postag_requests_total", **tag, status="415") == 1
    assert delta("postag_requests_total", endpoint="/metrics", status="200") == 1  # the 1st
    assert delta("postag_request_duration_seconds_count", **tag) == 5
    assert delta("postag_request_duration_seconds_sum", **tag) > 0
    refused = {
        ("413", "too_many_tokens"),
        ("413", "body_too_large"),
        ("422", "invalid_request"),
        ("415", "unsupported_media_type"),
    }
    for status, reason in refused:
        assert delta("postag_rejected_total", status=status, reason=reason) == 1, reason
    assert total(after, "postag_rejected_total") - total(before, "postag_rejected_total") == 4
    # the one tagged request: 7 tokens, in one session run of one request
    assert delta("postag_request_tokens_count") == 1
    assert delta("postag_request_tokens_sum") == 7
    assert delta("postag_request_tokens_bucket", le="5.0") == 0
    assert delta("postag_request_tokens_bucket", le="10.0") == 1
    assert delta("postag_batch_requests_count") == 1 and delta("postag_batch_requests_sum") == 1
    assert delta("postag_batch_tokens_sum") == 7
    assert value(after, "postag_queue_depth") == 0
    info = {
        "name": "toy",
        "version": tagger.manifest.data["version"],
        "identity": tagger.manifest.identity,
        "provider": "CPUExecutionProvider",
    }
    assert value(after, "postag_model_info", **info) == 1
    assert [k for k in after if k[0] == "postag_model_info"] == [
        ("postag_model_info", tuple(sorted(info.items())))
    ]


def test_each_app_counts_for_itself(client_for):
    with client_for() as a, client_for() as b:
        assert a.post("/v1/tag", json={"sentences": [["Hi"]]}).status_code == 200
        assert a.post("/v1/tag", json={"sentences": [["Hi"]]}).status_code == 200
        ok = {"endpoint": "/v1/tag", "status": "200"}
        assert value(scrape(a), "postag_requests_total", **ok) == 2
        assert value(scrape(b), "postag_requests_total", **ok) == 0
        assert value(scrape(b), "postag_request_tokens_count") == 0


def test_unknown_paths_count_as_other(client_for):
    with client_for() as c:
        for path in ("/nothing", "/v1/nothing", "/v2/tag?x=1"):
            assert c.get(path).status_code == 404
        assert c.get("/v1/tag").status_code == 405
        samples = scrape(c)
    assert value(samples, "postag_requests_total", endpoint="other", status="404") == 3
    assert value(samples, "postag_requests_total", endpoint="/v1/tag", status="405") == 1
    assert value(samples, "postag_rejected_total", status="404", reason="not_found") == 3
    endpoints = {dict(labels).get("endpoint") for (_, labels) in samples} - {None}
    assert endpoints == {"other", "/v1/tag"}  # /metrics itself counts after its answer


def test_batches_and_the_queue_agree_with_the_batcher(client_for):
    bodies = [{"sentences": [SENTS[i % len(SENTS)]]} for i in range(24)]
    with client_for(max_wait_ms=50) as c, ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda b: c.post("/v1/tag", json=b), bodies))
        stats = c.get("/v1/info").json()["stats"]
        samples = scrape(c)
    assert all(r.status_code == 200 for r in answers)
    tokens = sum(len(b["sentences"][0]) for b in bodies)
    assert value(samples, "postag_batch_requests_count") == stats["batches"]
    assert value(samples, "postag_batch_requests_sum") == stats["requests"] == 24
    assert value(samples, "postag_batch_tokens_sum") == tokens
    assert value(samples, "postag_request_tokens_sum") == tokens
    assert value(samples, "postag_request_tokens_count") == 24
    assert value(samples, "postag_queue_depth") == 0


def test_overload_is_counted_as_a_rejection(tagger, client_for, monkeypatch):
    original = tagger.tag_batch

    def slow(*a, **k):  # noqa: ANN002, ANN003, ANN202
        time.sleep(0.4)
        return original(*a, **k)

    monkeypatch.setattr(tagger, "tag_batch", slow)
    with client_for(queue_size=1, max_wait_ms=0) as c, ThreadPoolExecutor(6) as pool:
        body = {"sentences": [["Hi"]]}
        answers = list(pool.map(lambda _: c.post("/v1/tag", json=body), range(6)))
        samples = scrape(c)
    busy = sum(r.status_code == 503 for r in answers)
    assert busy and busy + sum(r.status_code == 200 for r in answers) == 6
    assert value(samples, "postag_rejected_total", status="503", reason="overloaded") == busy
    assert value(samples, "postag_requests_total", endpoint="/v1/tag", status="503") == busy
    assert value(samples, "postag_batch_requests_sum") == 6 - busy


def test_openmetrics_when_the_scraper_asks(client_for):
    with client_for() as c:
        r = c.get("/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/openmetrics-text")
    assert r.text.endswith("# EOF\n") and "postag_model_info" in r.text


def test_openapi_lists_the_page_the_metrics_and_415(client_for):
    with client_for() as c:
        schema = c.app.openapi()
        assert c.get("/openapi.json").json() == json.loads(json.dumps(schema))
    paths = schema["paths"]
    assert set(paths) == {"/v1/tag", "/v1/health", "/v1/info", "/metrics", "/"}
    assert set(paths["/"]) == {"get"} and set(paths["/metrics"]) == {"get"}
    assert "text/html" in paths["/"]["get"]["responses"]["200"]["content"]
    assert "text/plain" in paths["/metrics"]["get"]["responses"]["200"]["content"]
    tag = paths["/v1/tag"]["post"]["responses"]
    assert {"400", "413", "415", "422", "503"} <= set(tag)
    assert tag["415"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")


def test_multiprocess_directory_only_with_several_workers(tmp_path, monkeypatch):
    import tempfile

    from postag.cli.serve import MULTIPROC_ENV, multiprocess_metrics

    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with multiprocess_metrics(1):
        assert MULTIPROC_ENV not in os.environ and not list(tmp_path.iterdir())
    with multiprocess_metrics(3):
        made = os.environ[MULTIPROC_ENV]
        assert os.path.isdir(made) and os.path.dirname(made) == str(tmp_path)
    assert MULTIPROC_ENV not in os.environ and not os.path.exists(made)
    given = tmp_path / "given"
    given.mkdir()
    monkeypatch.setenv(MULTIPROC_ENV, str(given))
    with multiprocess_metrics(3):
        assert os.environ[MULTIPROC_ENV] == str(given)
    assert given.is_dir() and os.environ[MULTIPROC_ENV] == str(given)  # theirs: kept
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path / "missing"))
    with pytest.raises(click.UsageError, match="not a directory"):
        with multiprocess_metrics(3):
            pass


def test_several_workers_report_their_sum(postag_serve, tmp_path):
    """`postag serve --workers 2`: every scrape, whichever worker answers it, has all the
    requests both answered; the multiprocess directory lives as long as the server."""
    from postag.registry import SHIPPED_DIR

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    body = {"sentences": [["Hi", "there", "."]]}
    with postag_serve(str(SHIPPED_DIR), "--workers", "2", env={"TMPDIR": str(tmp)}) as (base, _):
        (made,) = [p for p in tmp.iterdir() if p.name.startswith("postag-metrics-")]

        def call(_: int) -> int:  # new connections, which both workers accept
            return httpx.post(f"{base}/v1/tag", json=body, timeout=60).status_code

        def pids() -> set[str]:
            return {f.stem.rsplit("_", 1)[1] for f in made.glob("histogram_*.db")}

        # rounds of 20 requests until both workers have answered some (a worker that
        # loads its model later than the other gets no connection in the first rounds)
        sent, deadline = 0, time.monotonic() + 60
        with ThreadPoolExecutor(8) as pool:
            while sent == 0 or (len(pids()) < 2 and time.monotonic() < deadline):
                assert list(pool.map(call, range(20))) == [200] * 20
                sent += 20
        scrapes = [parse(httpx.get(f"{base}/metrics", timeout=30).text) for _ in range(4)]
        assert len(pids()) == 2  # both workers write their values there
    for s in scrapes:
        assert value(s, "postag_requests_total", endpoint="/v1/tag", status="200") == sent
        assert value(s, "postag_request_tokens_sum") == 3 * sent
        assert value(s, "postag_batch_requests_sum") == sent
        assert value(s, "postag_queue_depth") == 0
        assert total(s, "postag_model_info") == 1
    assert not made.exists()  # removed when the server stopped
