import numpy as np
import pytest
import torch

from postag.export.train.config import PRESETS, ModelConfig
from postag.export.train.model import TaggerModel, reverse_padded

TINY = ModelConfig(
    word_dim=8,
    char_dim=6,
    char_hidden=5,
    hidden=7,
    layers=2,
    dropout=0.0,
    n_words=40,
    n_chars=20,
    n_tags=5,
)
JOINT = TINY.replace(heads=("upos", "xpos", "feats"), n_xpos=7, n_feats=11)


def random_batch(lengths: list[int], word_len: int = 6, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    b, t = len(lengths), max(lengths)
    w = torch.randint(2, 40, (b, t), generator=g)
    c = torch.randint(2, 20, (b, t, word_len), generator=g)
    c[..., -2:] = 0  # some words shorter than the padded width
    for i, n in enumerate(lengths):
        w[i, n:] = 0
        c[i, n:] = 0
    return w, c, torch.tensor(lengths)


def test_reverse_padded_reverses_within_length_only():
    x = torch.arange(10.0).view(2, 5, 1)
    out = reverse_padded(x, torch.tensor([3, 5]))
    assert out[:, :, 0].tolist() == [[2, 1, 0, 3, 4], [9, 8, 7, 6, 5]]


@pytest.mark.parametrize(
    "cfg",
    [TINY, TINY.replace(bidirectional=False, layers=1), TINY.replace(char_hidden=0), JOINT],
)
def test_output_shape_and_log_softmax(cfg):
    model = TaggerModel(cfg).eval()
    outs = model(*random_batch([4, 2, 1]))
    assert [tuple(o.shape) for o in outs] == [(3, 4, cfg.n_labels(h)) for h in cfg.heads]
    for out in outs:
        np.testing.assert_allclose(out.exp().sum(-1).detach().numpy(), 1.0, atol=1e-5)


@pytest.mark.parametrize("cfg", [TINY, TINY.replace(bidirectional=False), JOINT])
def test_padding_invariance(cfg):
    """Every head's outputs for a sentence are the same alone or in any padded batch."""
    torch.manual_seed(0)
    model = TaggerModel(cfg).eval()
    lengths = [9, 3, 6, 1, 4]
    w, c, lens = random_batch(lengths)
    with torch.no_grad():
        batched = model(w, c, lens)
        for i, n in enumerate(lengths):
            alone = model(w[i : i + 1, :n], c[i : i + 1, :n], lens[i : i + 1])
            # wider padding (more words, longer char padding) changes nothing either
            wide = model(
                torch.nn.functional.pad(w[i : i + 1, :n], (0, 5)),
                torch.nn.functional.pad(c[i : i + 1, :n], (0, 3, 0, 5)),
                lens[i : i + 1],
            )
            for b, a, x in zip(batched, alone, wide, strict=True):
                torch.testing.assert_close(b[i, :n], a[0], atol=1e-5, rtol=0)
                torch.testing.assert_close(x[0, :n], a[0], atol=1e-5, rtol=0)


@pytest.mark.parametrize("cfg", [TINY, JOINT])
def test_scripted_model_matches_eager(cfg):
    model = TaggerModel(cfg).eval()
    batch = random_batch([5, 2])
    scripted = torch.jit.script(model)
    for s, e in zip(scripted(*batch), model(*batch), strict=True):
        torch.testing.assert_close(s, e, atol=0, rtol=0)


def test_seed_preset_builds():
    cfg = PRESETS["seed"][0].replace(n_words=40, n_chars=0, n_tags=4)
    assert cfg.heads == ("upos",)  # the tutorials' model: UPOS only
    (out,) = TaggerModel(cfg)(*random_batch([3]))
    assert out.shape == (1, 3, 4)


def test_default_preset_is_the_joint_tagger():
    assert PRESETS["default"][0].heads == ("upos", "xpos", "feats")


@pytest.mark.parametrize("heads", [("xpos",), ("upos", "feats", "xpos"), ("upos", "lemma"), ()])
def test_bad_head_sets_are_refused(heads):
    from postag.errors import ConfigError

    with pytest.raises(ConfigError, match="head"):
        ModelConfig(heads=heads)


def test_config_round_trips_heads_and_old_configs_are_upos_only():
    import json

    from postag.errors import ConfigError  # noqa: F401

    assert ModelConfig.from_dict(json.loads(json.dumps(JOINT.to_dict()))) == JOINT
    old = {k: v for k, v in TINY.to_dict().items() if k not in ("heads", "n_xpos", "n_feats")}
    assert ModelConfig.from_dict(old).heads == ("upos",)


def test_old_upos_weights_load_into_head_zero():
    from postag.export.train.checkpoint import upgrade_state_dict

    model = TaggerModel(TINY)
    old = {("out." + k[len("heads.0.") :] if k.startswith("heads.0.") else k): v
           for k, v in model.state_dict().items()}  # fmt: skip
    assert "out.weight" in old
    fresh = TaggerModel(TINY)
    fresh.load_state_dict(upgrade_state_dict(old))
    for k, v in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[k], v)


def test_missing_vocabulary_sizes_is_an_error():
    with pytest.raises(ValueError, match="vocabulary sizes"):
        TaggerModel(ModelConfig())
