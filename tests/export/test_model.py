import numpy as np
import pytest
import torch

from postag.export.config import PRESETS, ModelConfig
from postag.export.model import TaggerModel, reverse_padded

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
    "cfg", [TINY, TINY.replace(bidirectional=False, layers=1), TINY.replace(char_hidden=0)]
)
def test_output_shape_and_log_softmax(cfg):
    model = TaggerModel(cfg).eval()
    out = model(*random_batch([4, 2, 1]))
    assert out.shape == (3, 4, 5)
    np.testing.assert_allclose(out.exp().sum(-1).detach().numpy(), 1.0, atol=1e-5)


@pytest.mark.parametrize("cfg", [TINY, TINY.replace(bidirectional=False)])
def test_padding_invariance(cfg):
    torch.manual_seed(0)
    model = TaggerModel(cfg).eval()
    lengths = [9, 3, 6, 1, 4]
    w, c, lens = random_batch(lengths)
    with torch.no_grad():
        batched = model(w, c, lens)
        for i, n in enumerate(lengths):
            alone = model(w[i : i + 1, :n], c[i : i + 1, :n], lens[i : i + 1])
            torch.testing.assert_close(batched[i, :n], alone[0], atol=1e-5, rtol=0)
            # wider padding (more words, longer char padding) changes nothing either
            wide = model(
                torch.nn.functional.pad(w[i : i + 1, :n], (0, 5)),
                torch.nn.functional.pad(c[i : i + 1, :n], (0, 3, 0, 5)),
                lens[i : i + 1],
            )
            torch.testing.assert_close(wide[0, :n], alone[0], atol=1e-5, rtol=0)


def test_scripted_model_matches_eager():
    model = TaggerModel(TINY).eval()
    batch = random_batch([5, 2])
    scripted = torch.jit.script(model)
    torch.testing.assert_close(scripted(*batch), model(*batch), atol=0, rtol=0)


def test_seed_preset_builds():
    cfg = PRESETS["seed"][0].replace(n_words=40, n_chars=0, n_tags=4)
    out = TaggerModel(cfg)(*random_batch([3]))
    assert out.shape == (1, 3, 4)


def test_missing_vocabulary_sizes_is_an_error():
    with pytest.raises(ValueError, match="vocabulary sizes"):
        TaggerModel(ModelConfig())
