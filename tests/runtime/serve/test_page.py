"""GET /: the tagging page, served self-contained and used in a real headless browser.

The browser tests drive Debian's chromium through its chromedriver (Selenium, with both
paths given: Selenium Manager never runs, nothing is downloaded) against a real
`postag serve` of the shipped model, and save a screenshot to
artifacts/screenshots/tag-page.png. Without the Debian packages they skip.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import REPO

from .conftest import serve_process

fastapi = pytest.importorskip("fastapi", reason="needs the serve extra (pip install '.[serve]')")
import httpx  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1200,860",
]
SCREENSHOT = REPO / "artifacts" / "screenshots" / "tag-page.png"
#: What the test types (BMP characters only: chromedriver types no others): a garden-path
#: sentence, a dash, curly quotes, an accent; "café" gets a UPOS probability under 0.9.
TYPED = (
    "Time flies like an arrow; fruit flies like a banana. The old man the boat. "
    "I saw her duck — café owners said “it’s fine”!"
)
#: Put in by script: markup that must stay text, and characters outside the BMP (the
#: offsets count code points, JavaScript strings UTF-16 units).
HOSTILE = (
    "Tom met 𝒜lice in 🇺🇸 Boston. She typed "
    '<img src=x onerror="window.pwned=1"> <b>bold</b> &amp; <script>window.pwned=2</script>. '
    "Then she left 😀."
)
THRESHOLD = 0.9  # the page's default


def test_the_page_is_self_contained_and_locked_down(client_for):
    with client_for() as c:
        r = c.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    (script,) = re.findall(r"<script>(.*?)</script>", html, re.S)
    (style,) = re.findall(r"<style>(.*?)</style>", html, re.S)
    csp = r.headers["content-security-policy"]

    def digest(text: str) -> str:
        return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()

    assert f"script-src 'sha256-{digest(script)}'" in csp  # only this script runs
    assert f"style-src 'sha256-{digest(style)}'" in csp
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert not re.search(r"\b(src|href)=\"(?!data:)", html)  # nothing loaded from elsewhere
    assert "http://" not in html and "https://" not in html
    for unsafe in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert unsafe not in script, unsafe
    assert 'fetch("v1/tag"' in script  # the same API, relative to where the page is


# --- in the browser ------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from postag.registry import SHIPPED_DIR

    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with serve_process(log, str(SHIPPED_DIR), "--max-tokens", "300") as (base, _):
        yield base


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        pytest.skip(
            f"needs Debian's chromium and chromium-driver packages ({CHROMIUM}, "
            f"{CHROMEDRIVER}): apt-get install chromium chromium-driver"
        )
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (dev extra)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in [*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def api(base: str, text: str) -> list[dict]:
    r = httpx.post(f"{base}/v1/tag", json={"text": text, "probs": True}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()["sentences"]


def cli_conllu(text: str) -> str:
    """`postag tag --format conllu` of ``text`` with the shipped model."""
    from postag.cli import cli
    from postag.registry import SHIPPED_DIR

    res = CliRunner().invoke(
        cli, ["tag", "--model", str(SHIPPED_DIR), "--format", "conllu", "-"], input=text
    )
    assert res.exit_code == 0, res.output
    return res.stdout


def tag_in_page(driver, base: str, text: str | None = None, typed: str | None = None):  # noqa: ANN001, ANN201
    """Open the page, put ``text`` in the box (``typed``: type it), click Tag, wait for
    the result; returns the WebDriverWait used."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{base}/")
    wait = WebDriverWait(driver, 60)
    wait.until(lambda d: d.find_element(By.ID, "model").text)  # /v1/info answered
    box = driver.find_element(By.ID, "text")
    if typed is not None:
        box.send_keys(typed)
    else:
        driver.execute_script("arguments[0].value = arguments[1];", box, text)
    driver.find_element(By.ID, "tag").click()
    wait.until(lambda d: d.find_element(By.ID, "result").get_attribute("data-run") == "1")
    return wait


def drawn(driver) -> list[list[dict]]:  # noqa: ANN001
    """Each drawn sentence's words, as the DOM has them."""
    from selenium.webdriver.common.by import By

    out = []
    for row in driver.find_elements(By.CSS_SELECTOR, "#result .sentence"):
        words = []
        for tok in row.find_elements(By.CSS_SELECTOR, ".tok"):
            words.append(
                {
                    "word": tok.find_element(By.CSS_SELECTOR, ".word").get_attribute("textContent"),
                    "upos": tok.find_element(By.CSS_SELECTOR, ".tag").get_attribute("textContent"),
                    "title": tok.get_attribute("title"),
                    "low": "low" in tok.get_attribute("class").split(),
                    "number": row.get_attribute("data-sentence"),
                }
            )
        out.append(words)
    return out


def test_the_page_draws_what_the_api_answers(browser, server):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    tag_in_page(browser, server, typed=TYPED)
    assert browser.find_element(By.ID, "text").get_attribute("value") == TYPED
    want = api(server, TYPED)
    got = drawn(browser)
    assert len(got) == len(want) == 3  # one row per sentence, numbered
    assert [s[0]["number"] for s in got] == ["1", "2", "3"]
    for g, w in zip(got, want, strict=True):
        assert [t["word"] for t in g] == w["words"]
        assert [t["upos"] for t in g] == w["tags"]
        for i, t in enumerate(g):  # XPOS and FEATS on hover
            assert f"XPOS: {w['xpos'][i]}" in t["title"].split("\n")
            assert f"FEATS: {w['feats'][i]}" in t["title"].split("\n")
        assert [t["low"] for t in g] == [p < THRESHOLD for p in w["probs"]]
    # the words below the threshold, from the API (which ones depends on the model)
    low = [
        (t["word"], w["xpos"][i])
        for g, w in zip(got, want, strict=True)
        for i, t in enumerate(g)
        if t["low"]
    ]
    assert low, "the example text has no word under the threshold: pick another"
    # the CoNLL-U the copy button copies: what `postag tag --format conllu` writes
    conllu = browser.find_element(By.ID, "conllu").get_attribute("value")
    assert conllu == cli_conllu(TYPED)
    assert browser.find_element(By.ID, "copy").is_enabled()
    # hovering a word shows its tags under the result
    first_low = browser.find_element(By.CSS_SELECTOR, "#result .tok.low")
    ActionChains(browser).move_to_element(first_low).perform()
    detail = browser.find_element(By.ID, "detail").text
    word, xpos = low[0]
    assert detail.startswith(word) and f"XPOS: {xpos}" in detail
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors  # no script error, nothing the CSP blocked
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT))
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_hostile_text_stays_text(browser, server):
    from selenium.webdriver.common.by import By

    tag_in_page(browser, server, text=HOSTILE)
    assert browser.execute_script("return window.pwned === undefined")
    result = browser.find_element(By.ID, "result")
    assert not result.find_elements(By.CSS_SELECTOR, "img, script, b")
    want = api(server, HOSTILE)
    got = drawn(browser)
    assert [[t["word"] for t in s] for s in got] == [s["words"] for s in want]
    words = "".join(t["word"] for s in got for t in s)
    assert "<img" in words and "<script>" in words
    # astral characters before: the "# text" lines cut the text by code points, as the API
    # counts (not by JavaScript's UTF-16 units)
    conllu = browser.find_element(By.ID, "conllu").get_attribute("value")
    texts = [line for line in conllu.split("\n") if line.startswith("# text = ")]
    assert len(want) >= 2 and any(ord(ch) > 0xFFFF for ch in HOSTILE[: want[1]["start"][0]])
    assert texts == [f"# text = {HOSTILE[s['start'][0] : s['end'][-1]]}" for s in want]
    assert conllu == cli_conllu(HOSTILE)


def test_the_copy_button_copies_the_conllu(browser, server):
    from selenium.webdriver.common.by import By

    browser.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"], "origin": server},
    )
    wait = tag_in_page(browser, server, typed="Alice saw Paris.")
    browser.find_element(By.ID, "copy").click()
    wait.until(lambda d: "copied" in d.find_element(By.ID, "status").text)
    copied = browser.execute_async_script(
        "navigator.clipboard.readText().then(arguments[0], (e) => arguments[0]('! ' + e));"
    )
    assert copied == cli_conllu("Alice saw Paris.")
    assert copied.startswith("# sent_id = 1\n# text = Alice saw Paris.\n1\tAlice\t_\tPROPN\t")


def test_an_api_error_is_shown_in_words(browser, server):
    from selenium.webdriver.common.by import By

    tag_in_page(browser, server, text="word " * 400)  # the server's limit: 300 tokens
    error = browser.find_element(By.ID, "error")
    assert error.is_displayed()
    assert error.text.startswith("413 too_many_tokens: 400 tokens; the limit is 300")
    assert not browser.find_elements(By.CSS_SELECTOR, "#result .tok")
    assert not browser.find_element(By.ID, "copy").is_enabled()
