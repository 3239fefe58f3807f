"""postag.serve against hostile requests: booleans for numbers (and back), bodies that are
not JSON by their Content-Type, clients that leave in the middle of their body."""

from __future__ import annotations

import socket
import time

import pytest

fastapi = pytest.importorskip("fastapi", reason="needs the serve extra (pip install '.[serve]')")
import httpx  # noqa: E402

from .test_metrics import parse, value  # noqa: E402


def assert_error(r, status: int, code: str) -> dict:  # noqa: ANN001
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error"}
    err = r.json()["error"]
    assert err["code"] == code and err["message"]
    return err


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"top_k": True}, "top_k"),  # was 200 with one alternative
        ({"top_k": False}, "top_k"),
        ({"top_k": 2.0}, "top_k"),
        ({"top_k": 1.5}, "top_k"),
        ({"top_k": "2"}, "top_k"),
        ({"top_k": None}, "top_k"),
        ({"probs": 1}, "probs"),
        ({"probs": 0}, "probs"),
        ({"probs": "true"}, "probs"),
        ({"probs": None}, "probs"),
        ({"text": 5}, "text"),
        ({"text": True}, "text"),
    ],
)
def test_no_field_takes_a_value_of_another_type(joint_client, options, field):
    body = {"text": "Alice saw Paris."} | options
    err = assert_error(joint_client.post("/v1/tag", json=body), 422, "invalid_request")
    assert err["message"].startswith(f"{field}:"), err["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"texts": ["fine", 3]},
        {"texts": [True]},
        {"sentences": [["Hi", 1]]},
        {"sentences": [["Hi", False]]},
    ],
)
def test_no_text_or_token_takes_another_type(joint_client, body):
    assert_error(joint_client.post("/v1/tag", json=body), 422, "invalid_request")


TOP_K = [True, False, 2.0, 1.5, "2", None, -1, [], {}, 0, 1, 3, 20]


def test_the_server_refuses_exactly_the_top_k_the_api_refuses(tagger, joint_client):
    """One rule: ``top_k`` is what :meth:`Tagger.tag_batch` takes (an int, not a bool,
    not negative); the server refuses just those (and more than ``max_top_k``, 20)."""
    accepted = []
    for k in TOP_K:
        try:
            tagger.tag_batch([["Alice", "saw", "Paris"]], top_k=k)
            api_ok = True
        except (TypeError, ValueError):
            api_ok = False
        body = {"sentences": [["Alice", "saw", "Paris"]], "top_k": k}
        r = joint_client.post("/v1/tag", json=body)
        assert r.status_code == (200 if api_ok else 422), (k, r.text)
        if api_ok:
            accepted.append(k)
    assert accepted == [0, 1, 3, 20] and all(type(k) is int for k in accepted)


@pytest.mark.parametrize("probs", [True, False])
def test_probs_takes_a_boolean(joint_client, probs):
    r = joint_client.post("/v1/tag", json={"text": "Alice saw Paris.", "probs": probs})
    assert r.status_code == 200
    assert ("probs" in r.json()["sentences"][0]) is probs


BODY = b'{"text": "Alice saw Paris."}'


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/json",
        "application/jsonl",
        "application/json-patch+json",
        "application/json; charset=latin-1",
        "application/json; charset=utf-16",
        "",
    ],
)
def test_a_body_that_is_not_declared_json_is_415(joint_client, content_type):
    r = joint_client.post("/v1/tag", content=BODY, headers={"content-type": content_type})
    assert_error(r, 415, "unsupported_media_type")


def test_a_body_without_content_type_is_415_saying_so(joint_client):
    r = joint_client.post("/v1/tag", content=BODY)  # httpx sends no Content-Type for bytes
    err = assert_error(r, 415, "unsupported_media_type")
    assert "no Content-Type" in err["message"] and "application/json" in err["message"]


def test_form_data_is_415_not_parsed(joint_client):
    r = joint_client.post("/v1/tag", data={"text": "Alice saw Paris."})
    assert_error(r, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON; Charset=UTF-8",
        'application/json;charset="utf-8"',
        "application/json; charset=utf8",
    ],
)
def test_json_with_or_without_utf8_charset_is_tagged(tagger, joint_client, content_type):
    r = joint_client.post("/v1/tag", content=BODY, headers={"content-type": content_type})
    assert r.status_code == 200, r.text
    assert r.json()["sentences"][0]["tags"] == tagger.tag_text("Alice saw Paris.")[0].tags


@pytest.fixture(scope="module")
def joint_client(tagger):
    from fastapi.testclient import TestClient

    from postag.serve.app import create_app

    with TestClient(create_app(tagger)) as c:
        yield c


def leave_mid_body(port: int, head: bytes, parts: list[bytes]) -> None:
    """Send ``head`` and then ``parts`` a little apart (a slow sender), then close."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        for part in parts:
            time.sleep(0.05)
            sock.sendall(part)


def test_a_client_gone_mid_body_is_one_log_line_and_counted(postag_serve, tmp_path):
    """A body shorter than its Content-Length, and a chunked body cut off: no traceback
    in the server log (no "Exception in ASGI application"), one warning line each, each
    counted as a ``disconnect`` rejection; the server answers as before."""
    from postag.registry import SHIPPED_DIR

    start = b"POST /v1/tag HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
    with postag_serve(str(SHIPPED_DIR)) as (base, _):
        port = int(base.rsplit(":", 1)[1])
        leave_mid_body(port, start + b"Content-Length: 1000\r\n\r\n", [b'{"text": ', b'"'])
        chunked = start + b"Transfer-Encoding: chunked\r\n\r\n"
        leave_mid_body(port, chunked, [b"64\r\n", b'{"text": "Alice'])
        deadline = time.monotonic() + 60
        while True:  # the server notices the closed connections on its own time
            samples = parse(httpx.get(f"{base}/metrics", timeout=10).text)
            gone = value(samples, "postag_rejected_total", status="499", reason="disconnect")
            if gone >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert httpx.get(f"{base}/v1/health", timeout=10).json()["status"] == "ok"
        r = httpx.post(f"{base}/v1/tag", json={"text": "Alice saw Paris."}, timeout=30)
        assert r.status_code == 200 and r.json()["sentences"][0]["words"][0] == "Alice"
    assert gone == 2
    assert value(samples, "postag_requests_total", endpoint="/v1/tag", status="499") == 2
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log
    assert "ClientDisconnect" not in log
    left = [line for line in log.splitlines() if "left before its request body" in line]
    assert len(left) == 2 and all(line.startswith("WARNING:") for line in left), log
