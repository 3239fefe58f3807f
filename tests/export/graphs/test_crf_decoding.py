"""CRF decoding inside the exported graphs: the ONNX recursion against PyTorch's, the
CRF bundle's every backend against the PyTorch model, and the runtime reading paths."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from postag import Tagger
from postag.bundle import load_manifest
from postag.contract import CONTRACT, PATH_OUTPUTS, IOContract, decoded
from postag.data import read_conllu
from postag.errors import ConfigError
from postag.export.bench.crf import graph_session, numpy_decode
from postag.export.graphs.torchscript_export import load_torchscript
from postag.export.train.checkpoint import Checkpoint
from postag.export.train.config import HEADS, ModelConfig
from postag.export.train.model import CRFDecoder
from postag.export.train.predict import model_keys, torch_heads_runner
from postag.layout import FAST_INT8, FAST_MODEL, MODEL, MODEL_INT8, TORCHSCRIPT
from postag.session import FastModel, OnnxModel, load_forms


@pytest.mark.parametrize(
    "lengths", [[1], [2, 1], [7, 3, 1], [320, 5, 1]], ids=["1", "2+1", "mixed", "320"]
)
def test_onnx_decoding_equals_pytorch_at_every_length(lengths: list[int]) -> None:
    torch.manual_seed(len(lengths))
    crf = CRFDecoder(6)
    with torch.no_grad():
        for p in crf.parameters():
            p.copy_(3 * torch.randn(p.shape))
    sess = graph_session(crf)
    em = 5 * torch.randn(len(lengths), max(lengths), 6)  # logits of a trained model's size
    lens = torch.tensor(lengths)
    lp, path = sess.run(None, {"em": em.numpy(), "lengths": lens.numpy()})
    with torch.no_grad():
        want_lp, want_path = crf(em, lens)
    assert path.dtype == np.int64 and np.array_equal(path, want_path.numpy())
    mask = np.arange(max(lengths))[None] < np.array(lengths)[:, None]
    # renormalised recursions: float32 rounding of one step, even at 320 tokens
    assert np.abs(lp - want_lp.numpy())[mask].max() < 1e-5
    assert np.allclose(np.exp(lp)[mask].sum(-1), 1, atol=1e-5)
    assert (path[~mask] == 0).all()


def test_contract_has_a_path_output_per_crf_head() -> None:
    c = CONTRACT.with_heads(HEADS, ("upos", "xpos"))
    assert c.output_names == [
        "log_probs", "upos_path", "xpos_log_probs", "xpos_path", "feats_log_probs"
    ]  # fmt: skip
    assert c.heads == list(HEADS) and c.crf == ["upos", "xpos"]
    assert c.output_keys == ["upos", "upos_path", "xpos", "xpos_path", "feats"]
    assert IOContract.from_dict(json.loads(json.dumps(c.to_dict()))) == c


def test_decoded_prefers_the_path_to_the_argmax() -> None:
    lp = np.log(np.array([[[0.6, 0.4], [0.6, 0.4]]], dtype=np.float32))  # argmax: 0, 0
    out = {"upos": lp, "upos_path": np.array([[1, 0]]), "xpos": lp}
    got = decoded(out)
    assert got["upos"].tolist() == [[1, 0]] and got["xpos"].tolist() == [[0, 0]]


def test_crf_heads_must_be_heads() -> None:
    with pytest.raises(ConfigError, match="crf head"):
        ModelConfig(heads=("upos",), crf=("xpos",))
    cfg = ModelConfig(heads=HEADS, crf=("upos",))
    assert ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    old = cfg.to_dict()
    del old["crf"]  # a checkpoint from before the CRF: per-word decoding
    assert ModelConfig.from_dict(old).crf == ()


def test_crf_bundle_every_backend_decodes_as_pytorch(crf_bundle) -> None:
    bundle, ckpt_path, corpus = crf_bundle
    man = load_manifest(bundle)
    assert man.contract.crf == ["upos", "xpos"] and man.data["validation"]["ok"]
    ckpt = Checkpoint.load(ckpt_path)
    model = ckpt.model().eval()
    sentences = [s.words for s in read_conllu(corpus / "toy-ud-test.conllu")]
    batch = ckpt.encoder().encode(sentences)
    mask = np.arange(batch.word_ids.shape[1])[None] < batch.lengths[:, None]
    ref = torch_heads_runner(model, model_keys(model))(batch)
    with torch.no_grad():  # the path is the CRF's Viterbi over the model's emissions
        ems = model.emissions(
            torch.from_numpy(batch.word_ids),
            model.features(torch.from_numpy(batch.char_ids)),
            torch.from_numpy(batch.lengths),
        )
        viterbi = model.decoders[0].viterbi(ems[0], torch.from_numpy(batch.lengths)).numpy()
    assert np.array_equal(ref["upos_path"], viterbi)
    forms = load_forms(man.path(man.fast_path.forms))
    runs = {
        MODEL: OnnxModel(man.path(MODEL), man.contract),
        MODEL_INT8: OnnxModel(man.path(MODEL_INT8), man.contract),
        FAST_MODEL: FastModel(man.path(FAST_MODEL), man.fast_path.contract, forms),
        FAST_INT8: FastModel(man.path(FAST_INT8), man.fast_path.contract, forms),
    }
    outs = {name: m.run(batch) for name, m in runs.items()}
    scripted = load_torchscript(man.path(TORCHSCRIPT))
    outs[TORCHSCRIPT] = torch_heads_runner(scripted, man.contract.output_keys)(batch)
    for name, out in outs.items():
        for head in ("upos", "xpos"):
            assert out[PATH_OUTPUTS[head]].dtype == np.int64
            same = (out[PATH_OUTPUTS[head]] == ref[PATH_OUTPUTS[head]])[mask].mean()
            if "int8" in name:
                assert same >= 0.98, (name, head, same)
            else:
                assert same == 1.0, (name, head)
                assert np.abs(out[head] - ref[head])[mask].max() <= man.contract.atol


def test_tagger_reports_the_path_and_its_marginal(crf_bundle) -> None:
    bundle, _, corpus = crf_bundle
    tagger = Tagger.load(bundle, provider="cpu")
    sentences = [s.words for s in read_conllu(corpus / "toy-ud-test.conllu")]
    together = tagger.tag_batch(sentences, probs=True, top_k=2)
    for words, res in zip(sentences, together, strict=True):
        alone = tagger.tag(words, probs=True)  # padding/batch invariance of the path
        assert alone.tags == res.tags and alone.xpos == res.xpos
        assert np.allclose(alone.probs, res.probs, atol=1e-5)
        out = tagger.model.run(tagger.encoder.encode([words]))
        path = out["upos_path"][0]
        assert res.tags == [tagger.labels["upos"][i] for i in path]
        marg = np.exp(out["upos"][0])
        assert np.allclose(res.probs, marg[np.arange(len(words)), path], atol=1e-6)
        assert [t for t, _ in res.top_k[0]] == [
            tagger.labels["upos"][i] for i in np.argsort(-marg[0])[:2]
        ]


def test_numpy_decoder_of_the_bench_is_the_same_recursion() -> None:
    torch.manual_seed(3)
    crf = CRFDecoder(7)
    with torch.no_grad():
        for p in crf.parameters():
            p.copy_(2 * torch.randn(p.shape))
    em, lengths = 4 * torch.randn(4, 11, 7), torch.tensor([11, 6, 1, 9])
    with torch.no_grad():
        want_lp, want_path = crf(em, lengths)
    t, s, e = (p.detach().numpy() for p in (crf.transitions, crf.start, crf.end))
    path, lp = numpy_decode(t, s, e, em.numpy(), lengths.numpy())
    mask = np.arange(11)[None] < lengths.numpy()[:, None]
    assert np.array_equal(path, want_path.numpy())
    assert np.abs(lp - want_lp.numpy())[mask].max() < 1e-5


def test_triton_entry_lists_the_path_outputs(crf_bundle, tmp_path) -> None:
    from postag.triton import export_triton

    entry = export_triton(crf_bundle[0], tmp_path / "repo")
    config = (entry / "config.pbtxt").read_text()
    for name in ("upos_path", "xpos_path"):
        block = config[config.index(f'name: "{name}"') :].split("}")[0]
        assert "TYPE_INT64" in block and "dims: [ -1, -1 ]" in block, block
    assert 'name: "feats_log_probs"' in config and "feats_path" not in config
