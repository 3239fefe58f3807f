"""postag.export.gate: the one gate rule, per-case comparison, the verification run."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from postag.contract import CONTRACT
from postag.data import Sentence
from postag.export.gate import (
    Case,
    Check,
    VerificationReport,
    compare,
    gate,
    run_verification,
    verification_cases,
)
from postag.export.train.model import TaggerModel
from postag.export.train.predict import torch_heads_runner
from postag.vocab import Encoder, Vocab
from tests.export.train.test_model import TINY


def torch_runner(model):  # noqa: ANN001, ANN201
    """The UPOS log-probs of a model as one array (the one-head runners these tests build)."""
    run = torch_heads_runner(model, model.cfg.heads)
    return lambda batch: run(batch)["upos"]


WORDS = ["the", "dog", "runs", "a", "cat", "sleeps", "."]


@pytest.fixture(scope="module")
def tiny():
    words = Vocab(["<pad>", "<unk>", *WORDS])
    chars = Vocab(["<pad>", "<unk>", *sorted(set("".join(WORDS)))])
    cfg = TINY.replace(n_words=len(words), n_chars=len(chars), n_tags=4, layers=1)
    torch.manual_seed(0)
    return TaggerModel(cfg).eval(), Encoder(words, chars, cfg.max_word_len)


CASES = [
    Case("short", [["the", "dog", "runs", "."], ["a", "cat"]]),
    Case("long", [WORDS * 5, ["sleeps"]]),
]


# ------------------------------------------------------------------------- the rule


def test_fp32_rule_is_atol_and_identical_tags():
    assert gate(CONTRACT, True, max_abs_diff=1e-4, tag_agreement=1.0).ok  # at the limit
    v = gate(CONTRACT, True, max_abs_diff=1.01e-4, tag_agreement=1.0)
    assert not v.ok and v.notes == ["max|Δ| 1.01e-04 > 0.0001", "tags 100.00%"]
    v = gate(CONTRACT, True, max_abs_diff=0.0, tag_agreement=0.999)
    assert not v.ok and v.notes == ["max|Δ| 0.00e+00 ≤ 0.0001", "tags 99.90% < 100%"]
    # what the fp32 rule does not name is reported, not judged
    v = gate(CONTRACT, True, accuracy_drop=0.5)
    assert v.ok and v.notes == ["accuracy drop 50.00 pt"]


def test_int8_rule_is_agreement_rate_and_accuracy_drop():
    assert gate(CONTRACT, False, tag_agreement=0.98).ok
    v = gate(CONTRACT, False, max_abs_diff=5.0, tag_agreement=0.9799)
    assert not v.ok and v.notes == ["max|Δ| 5.00e+00", "tags 97.99% < 98%"]  # Δ not judged
    assert gate(CONTRACT, False, accuracy_drop=0.0075).ok
    v = gate(CONTRACT, False, accuracy_drop=0.0125)
    assert not v.ok and v.notes == ["accuracy drop 1.25 pt > 1 pt"]
    assert gate(CONTRACT, False, accuracy_drop=-0.02).ok  # int8 better than fp32
    assert gate(CONTRACT, False, max_abs_diff=9.0).ok  # nothing judged: pass


def test_the_rule_reads_the_contract_it_is_given():
    loose = dataclasses.replace(CONTRACT, atol=0.5, int8_min_tag_agreement=0.5)
    assert gate(loose, True, max_abs_diff=0.4).ok and not gate(CONTRACT, True, max_abs_diff=0.4).ok
    assert gate(loose, False, tag_agreement=0.6).ok
    tight = dataclasses.replace(CONTRACT, int8_max_accuracy_drop=0.0)
    assert not gate(tight, False, accuracy_drop=0.001).ok


# ---------------------------------------------------------------------- one case


def arrays(lengths: list[int], n_tags: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ref = rng.normal(size=(len(lengths), max(lengths), n_tags)).astype(np.float32)
    return ref, np.array(lengths)


def test_compare_measures_real_tokens_only():
    ref, lengths = arrays([3, 1])
    got = ref.copy()
    got[1, 2] += 100.0  # padding: ignored
    got[0, 1] += 5e-5
    c = compare("b", Case("c", [["a"] * 3, ["b"]]), ref, got, lengths, CONTRACT, True)
    assert c.ok and c.max_abs_diff == pytest.approx(5e-5, rel=1e-2) and c.tag_agreement == 1.0
    assert c.detail == "log_probs: max|Δ| 5.00e-05 ≤ 0.0001, tags 100.00% of 4"


def test_compare_fails_on_a_flipped_tag_shape_dtype_or_nan():
    ref, lengths = arrays([3, 1])
    case = Case("c", [["a"] * 3, ["b"]])
    got = ref.copy()
    got[0, 0] = ref[0, 0, ::-1]  # reversed scores: another tag wins
    c = compare("b", case, ref, got, lengths, CONTRACT, True)
    assert not c.ok and c.tag_agreement == 0.75 and "tags 75.00% < 100%" in c.detail
    # an int8 backend's per case agreement is reported, not judged
    c = compare("q", case, ref, got, lengths, CONTRACT, False)
    assert c.ok and c.detail.endswith("tags 75.00% of 4")
    bad = compare("b", case, ref, ref[:, :2], lengths, CONTRACT, True)
    assert not bad.ok and bad.detail == "log_probs: float32[2, 2, 4], expected float32[2, 3, 4]"
    bad = compare("b", case, ref, ref.astype(np.float64), lengths, CONTRACT, True)
    assert not bad.ok and "float64" in bad.detail
    nan = ref.copy()
    nan[1, 0, 0] = np.nan
    bad = compare("b", case, ref, nan, lengths, CONTRACT, True)
    assert not bad.ok and bad.detail == "log_probs: non-finite values"


# ---------------------------------------------------------------- a whole run


def test_run_verification_judges_each_backend(tiny):
    model, enc = tiny
    exact = torch_runner(model)

    def noisy(batch):  # fp32 drift beyond atol, same tags
        return exact(batch) + np.float32(1e-3)

    def flipped(batch):  # int8-like: every token's best tag changes
        return -exact(batch)

    def crashes(batch):
        raise RuntimeError("boom")

    backends = {
        "exact": (exact, True),
        "noisy": (noisy, True),
        "q-ok": (noisy, False),
        "q-bad": (flipped, False),
        "crash": (crashes, True),
    }
    report = run_verification(model, enc, CONTRACT, backends, CASES)
    by = {(c.backend, c.case): c for c in report.checks}
    assert len(report.checks) == 5 * 2 + 2  # every backend × case, then int8 "all cases"
    assert [c.case for c in report.checks[-2:]] == ["all cases", "all cases"]
    assert by["exact", "short"].ok and by["exact", "long"].max_abs_diff == 0.0
    assert not by["noisy", "long"].ok and "> 0.0001" in by["noisy", "long"].detail
    assert by["q-ok", "long"].ok and by["q-ok", "all cases"].ok
    assert by["q-ok", "all cases"].detail == "tags 100.00% ≥ 98% of 42"  # 6 + 36 tokens
    assert by["q-bad", "long"].ok  # per case: reported only
    assert not by["q-bad", "all cases"].ok and by["q-bad", "all cases"].tag_agreement == 0.0
    assert not by["crash", "short"].ok and by["crash", "short"].detail == "run failed: boom"
    assert not report.ok
    assert {c.backend for c in report.failures} == {"noisy", "q-bad", "crash"}


def test_report_summary_and_verdict():
    r = VerificationReport(
        [
            Check("a", "x", True, "", 1e-5, 1.0),
            Check("a", "y", True, "", 3e-5, 0.99),
            Check("b", "x", False, "", None, 0.5),
        ]
    )
    assert r.summary() == {
        "a": {"checks": 2, "failed": 0, "max_abs_diff": 3e-5, "min_tag_agreement": 0.99},
        "b": {"checks": 1, "failed": 1, "max_abs_diff": None, "min_tag_agreement": 0.5},
    }
    assert r.verdict() == "1 of 3 checks failed: b x"
    assert VerificationReport(r.checks[:2]).verdict() == "all 2 checks passed"
    assert not VerificationReport().ok  # no checks: nothing was verified
    assert r.lines()[2] == "✗ b" + " " * 20 + "x" + " " * 22  # aligned for any file name


def test_verification_cases_are_fixed_and_cover_the_edges():
    dev = [Sentence([f"w{i}", f"v{i}"] * (1 + i % 7)) for i in range(300)]
    a, b = verification_cases(dev), verification_cases(dev)
    assert [(c.name, c.sentences) for c in a] == [(c.name, c.sentences) for c in b]
    names = [c.name for c in a]
    assert names[:4] == [f"dev sample [{i}]" for i in range(4)]  # 128 in batches of 32
    assert sum(len(c.sentences) for c in a[:4]) == 128
    assert {"one token", "all-unknown words", "very long words", "mixed-length batch"} <= set(names)
    long_case = next(c for c in a if c.name.endswith(" tokens"))
    assert (
        len(long_case.sentences[0]) >= 320
        and long_case.name == f"{len(long_case.sentences[0])} tokens"
    )
    small = verification_cases(dev[:5])
    assert sum(len(c.sentences) for c in small if c.name.startswith("dev sample")) == 5
