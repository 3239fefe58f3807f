"""Parity: every backend of a bundle vs eager PyTorch (the original).

Pass or fail is the gate's one rule (:func:`postag.export.gate.gate`), with the
manifest's contract, for every head the model has (UPOS, XPOS, UFeats): fp32 backends
(TorchScript, ONNX on CPU and CUDA) must give identical labels and stay within atol; int8
is held to the tag-agreement rate over a whole sample.
"""

from __future__ import annotations

import random

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postag.contract import decoded
from postag.export.gate import gate
from postag.vocab import Encoder

BACKENDS = [
    "torchscript",
    "onnx-fp32",
    "onnx-fast",
    "onnx-int8",
    "onnx-fast-int8",
    "onnx-cuda",
    "onnx-fast-cuda",
]


@pytest.fixture(params=BACKENDS)
def backend(request, backends):
    if request.param not in backends:
        reason = (
            "needs onnxruntime-gpu and a GPU (CUDAExecutionProvider not available)"
            if request.param.endswith("cuda")
            else f"the bundle has no {request.param}"
        )
        pytest.skip(reason)
    return backends[request.param]


def check(
    subject,
    eager,
    backend,
    sentences: list[list[str]],
    agreement: dict[str, list[int]] | None = None,
) -> list[str]:
    """Run ``sentences`` as one batch through eager PyTorch (encoded by the *training*
    encoder, from the checkpoint) and through ``backend`` (encoded by the *runtime*
    encoder, from the bundle's files); return every mismatch, of every head, as a message.

    fp32 backends must match every label within atol. A quantised backend's per-case
    numbers only accumulate into ``agreement`` (head → [hits, tokens]); its rate is
    enforced over the whole sample (``test_int8_agreement``)."""
    contract = subject.manifest.contract
    ckpt = eager[0]
    train_enc = Encoder(ckpt.words, ckpt.chars, ckpt.model_config.max_word_len)
    refs = eager[1](train_enc.encode(sentences))
    batch = subject.manifest.encoder().encode(sentences)
    gots = backend.run(batch)
    keys = contract.output_keys  # heads, and upos_path, … for CRF heads
    if list(gots) != keys or list(refs) != keys:
        return [f"{backend.name}: outputs {list(gots)}, PyTorch {list(refs)}, contract {keys}"]
    problems = []
    ref_labels, got_labels = decoded(refs), decoded(gots)  # a CRF head's path, else argmax
    for head in contract.heads:
        ref, got = refs[head], gots[head]
        if got.shape != ref.shape or got.dtype != np.float32:
            problems.append(
                f"{backend.name} {head}: {got.dtype}{got.shape} vs {ref.dtype}{ref.shape}"
            )
            continue
        if not np.isfinite(got).all():
            problems.append(f"{backend.name} {head}: non-finite outputs")
            continue
        for i, n in enumerate(batch.lengths):
            r, g = ref[i, :n], got[i, :n]
            same = ref_labels[head][i, :n] == got_labels[head][i, :n]
            if agreement is not None:
                agreement.setdefault(head, [0, 0])
                agreement[head][0] += int(same.sum())
                agreement[head][1] += int(n)
            diff = float(np.abs(r - g).max())
            verdict = gate(contract, True, max_abs_diff=diff, tag_agreement=float(same.mean()))
            if backend.fp32 and not verdict.ok:
                problems.append(
                    f"{backend.name} {head}: sentence {i} ({n} tokens): "
                    f"{', '.join(verdict.notes)}, {int((~same).sum())} label(s) differ"
                )
    return problems


def cycle_words(dev: list[list[str]], n: int) -> list[str]:
    flat = [w for s in dev for w in s]
    return [flat[i % len(flat)] for i in range(n)]


def test_ewt_dev_sample(subject, eager, backend, dev_sample):
    for i in range(0, len(dev_sample), 16):
        assert check(subject, eager, backend, dev_sample[i : i + 16]) == []


@pytest.mark.parametrize("length", [1, 2, 17, 500, 2000])
def test_lengths(subject, eager, backend, length):
    assert check(subject, eager, backend, [cycle_words(subject.dev, length)]) == []


@pytest.mark.parametrize(
    "sentence",
    [
        ["The", "x" * 80, "Supercalifragilisticexpialidocious" * 3, "."],  # longer than any
        ["qzxv", "blorptastic", "Wugglesnort", "frabjousness", "xkcdian"],  # all unknown
        ["1", "22", "333", "4,444", "55.5", "1999", "2024"],  # digits only
        [".", ",", "!", "?", "...", "--", ";", ":", "(", ")"],  # punctuation only
        ["Café", "naïve", "Zürich", "東京", "北京大学", "👍", "🏽🎉", "Ελλάδα", "Москва"],
    ],
    ids=["long-words", "all-unknown", "digits", "punctuation", "non-ascii"],
)
def test_edge_sentences(subject, eager, backend, sentence):
    assert check(subject, eager, backend, [sentence]) == []


@pytest.mark.parametrize("batch_size", [1, 2, 7, 64])
def test_padding_invariance(subject, eager, backend, dev_sample, batch_size):
    """The same sentence alone and inside a mixed-length batch gives the same outputs."""
    target = max(dev_sample[:8], key=len)
    rng = random.Random(batch_size)
    others = [rng.choice(subject.dev)[: rng.randint(1, 60)] for _ in range(batch_size - 2)]
    if batch_size > 1:
        others.append(cycle_words(subject.dev, 90))  # one longer than the target
    batch = [*others, target]
    assert len(batch) == batch_size
    rng.shuffle(batch)
    enc = subject.manifest.encoder()
    inside = backend.run(enc.encode(batch))
    contract = subject.manifest.contract
    alone_out = backend.run(enc.encode([target]))
    for head in contract.heads:  # every head (and a CRF head's path) is padding-invariant
        if backend.fp32:
            alone = alone_out[head][0, : len(target)]
            here = inside[head][batch.index(target), : len(target)]
            diff = float(np.abs(alone - here).max())
            a_ids = decoded(alone_out)[head][0, : len(target)]
            h_ids = decoded(inside)[head][batch.index(target), : len(target)]
            same = float((a_ids == h_ids).mean())
            verdict = gate(contract, True, max_abs_diff=diff, tag_agreement=same)
        else:
            # Dynamic int8 quantisation takes activation scales from the whole batch
            # tensor, so int8 outputs depend on batch-mates: every sentence's labels alone
            # vs inside the batch, held to the int8 rate over the whole batch.
            hits = total = 0
            inside_ids = decoded(inside)[head]  # (batch, seq)
            for k, sent in enumerate(batch):
                alone = decoded(backend.run(enc.encode([sent])))[head][0, : len(sent)]
                hits += int((alone == inside_ids[k, : len(sent)]).sum())
                total += len(sent)
            verdict = gate(contract, False, tag_agreement=hits / total)
        assert verdict.ok, (head, verdict.notes)
    assert check(subject, eager, backend, batch) == []


@pytest.mark.parametrize("name", ["onnx-int8", "onnx-fast-int8"])
def test_int8_agreement(subject, eager, backends, dev_sample, name):
    """int8 vs PyTorch over the fixed dev sample and the edge cases, held to the
    manifest's tag-agreement rate."""
    if name not in backends:
        pytest.skip(f"the bundle has no {name} model")
    agreement: dict[str, list[int]] = {}
    for i in range(0, len(dev_sample), 16):
        assert check(subject, eager, backends[name], dev_sample[i : i + 16], agreement) == []
    assert list(agreement) == subject.manifest.contract.heads
    for head, (hits, tokens) in agreement.items():
        verdict = gate(subject.manifest.contract, False, tag_agreement=hits / tokens)
        assert verdict.ok, (head, verdict.notes, hits, tokens)


def test_repeated_runs_are_identical(subject, backend, dev_sample):
    enc = subject.manifest.encoder()
    batch = enc.encode(dev_sample[:16])
    first = backend.run(batch)
    for _ in range(3):
        again = backend.run(batch)
        assert list(again) == list(first)
        for head in first:
            np.testing.assert_array_equal(again[head], first[head])


_token = st.one_of(
    st.sampled_from(["the", "The", "dog", "runs", ".", ",", "Paris", "2024", "n't", "'s"]),
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs")),
        min_size=1,
        max_size=15,
    ),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.lists(_token, min_size=1, max_size=30), min_size=1, max_size=6))
def test_property_random_batches(subject, eager, backend, sentences):
    assert check(subject, eager, backend, sentences) == []


def test_runtime_encoding_equals_training_encoding(subject, eager, dev_sample):
    """The bundle's vocab files + runtime Encoder give the checkpoint's training ids."""
    ckpt = eager[0]
    train_enc = Encoder(ckpt.words, ckpt.chars, ckpt.model_config.max_word_len)
    runtime_enc = subject.manifest.encoder()
    odd = [["Ünïcödé", "x" * 100, "2024", "don't"], *dev_sample[:20]]
    a, b = train_enc.encode(odd), runtime_enc.encode(odd)
    for name in ("word_ids", "char_ids", "lengths"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


@pytest.mark.parametrize(
    "fname", ["model.onnx", "model.int8.onnx", "model.fast.onnx", "model.fast.int8.onnx"]
)
def test_declared_onnx_shapes_are_symbolic(subject, fname):
    if not (subject.root / fname).exists():
        pytest.skip(f"the bundle has no {fname}")
    proto = onnx.load_model(str(subject.root / fname), load_external_data=False)
    contract = subject.manifest.contract
    if fname.startswith("model.fast"):
        contract = subject.manifest.fast_path.contract
    dims = {
        v.name: v.type.tensor_type.shape.dim
        for v in list(proto.graph.input) + list(proto.graph.output)
    }
    for spec in contract.inputs + contract.outputs:
        for axis, dim in zip(spec.axes, dims[spec.name], strict=True):
            if axis in ("batch", "seq", "word_len", "new_words"):
                assert dim.dim_param == axis and not dim.dim_value, (spec.name, axis)


def test_torchscript_save_load_round_trip(subject, eager, tmp_path, dev_sample):
    import torch

    from postag.export.graphs.torchscript_export import load_torchscript
    from postag.export.train.predict import torch_heads_runner

    keys = subject.manifest.contract.output_keys
    m = load_torchscript(subject.root / "model.torchscript.pt")
    torch.jit.save(m, str(tmp_path / "again.pt"))
    again = load_torchscript(tmp_path / "again.pt")
    batch = subject.manifest.encoder().encode(dev_sample[:8])
    a, b = torch_heads_runner(again, keys)(batch), torch_heads_runner(m, keys)(batch)
    for key in keys:
        np.testing.assert_array_equal(a[key], b[key])
