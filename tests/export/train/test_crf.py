"""The CRF against brute-force enumeration of every label sequence on tiny inputs."""

from __future__ import annotations

import itertools

import pytest
import torch

from postag.export.train.crf import CRF

torch.set_default_dtype(torch.float32)


def random_crf(n: int, seed: int) -> CRF:
    g = torch.Generator().manual_seed(seed)
    crf = CRF(n)
    with torch.no_grad():
        for p in (crf.transitions, crf.start, crf.end):
            p.copy_(torch.randn(p.shape, generator=g))
    return crf


def brute(
    crf: CRF, em: torch.Tensor, n_tokens: int
) -> tuple[torch.Tensor, list[int], torch.Tensor]:
    """(log Z, best path, marginals (n_tokens, labels)) of one sentence, by enumeration."""
    labels = em.size(-1)
    scores, paths = [], []
    for path in itertools.product(range(labels), repeat=n_tokens):
        tags = torch.tensor(path)
        s = crf.start[path[0]] + crf.end[path[-1]] + em[torch.arange(n_tokens), tags].sum()
        s = s + sum(crf.transitions[a, b] for a, b in itertools.pairwise(path))
        scores.append(s)
        paths.append(path)
    scores_t = torch.stack([torch.as_tensor(s, dtype=torch.float64) for s in scores])
    log_z = torch.logsumexp(scores_t, 0)
    probs = torch.exp(scores_t - log_z)
    marg = torch.zeros(n_tokens, labels, dtype=torch.float64)
    for p, path in zip(probs, paths, strict=True):
        for t, lab in enumerate(path):
            marg[t, lab] += p
    return log_z, list(paths[int(scores_t.argmax())]), marg


@pytest.mark.parametrize("seed", range(4))
def test_forward_viterbi_marginals_match_brute_force(seed: int) -> None:
    n, seq = 3, 5
    crf = random_crf(n, seed)
    g = torch.Generator().manual_seed(100 + seed)
    lengths = torch.tensor([5, 3, 1, 4])
    em = torch.randn(len(lengths), seq, n, generator=g)
    with torch.no_grad():
        log_z = crf.log_partition(em, lengths)
        path = crf.viterbi(em, lengths)
        marg = crf.log_marginals(em, lengths).exp()
    for b, k in enumerate(lengths.tolist()):
        z, best, m = brute(crf, em[b], k)
        assert log_z[b].item() == pytest.approx(z.item(), abs=1e-5)
        assert path[b, :k].tolist() == best
        assert path[b, k:].tolist() == [0] * (seq - k)  # padding is 0
        assert torch.allclose(marg[b, :k].double(), m, atol=1e-5)
        assert torch.allclose(marg[b, :k].sum(-1), torch.ones(k), atol=1e-5)


def test_nll_is_the_gold_paths_negative_log_probability() -> None:
    crf = random_crf(4, 7)
    em = torch.randn(2, 4, 4, generator=torch.Generator().manual_seed(3))
    lengths = torch.tensor([4, 2])
    gold = torch.tensor([[1, 3, 0, 2], [2, 2, -100, -100]])  # padding may be anything
    with torch.no_grad():
        nll = crf.nll(em, gold, lengths)
    for b, k in enumerate(lengths.tolist()):
        z, _, _ = brute(crf, em[b], k)
        path = gold[b, :k].tolist()
        s = crf.start[path[0]] + crf.end[path[-1]] + em[b, torch.arange(k), gold[b, :k]].sum()
        s = s + sum(crf.transitions[a, c] for a, c in itertools.pairwise(path))
        assert nll[b].item() == pytest.approx((z - s.double()).item(), abs=1e-5)
        assert nll[b].item() >= 0


def test_a_sentence_decodes_the_same_alone_and_padded_in_a_batch() -> None:
    crf = random_crf(5, 11)
    g = torch.Generator().manual_seed(5)
    em = torch.randn(3, 9, 5, generator=g)
    lengths = torch.tensor([9, 4, 1])
    with torch.no_grad():
        path = crf.viterbi(em, lengths)
        marg = crf.log_marginals(em, lengths)
        for b, k in enumerate(lengths.tolist()):
            alone = em[b : b + 1, :k]
            one = torch.tensor([k])
            assert torch.equal(crf.viterbi(alone, one)[0], path[b, :k])
            assert torch.allclose(crf.log_marginals(alone, one)[0], marg[b, :k], atol=1e-6)


def test_gradient_reaches_every_parameter_and_the_emissions() -> None:
    crf = random_crf(3, 2)
    em = torch.randn(2, 4, 3, requires_grad=True)
    crf.nll(em, torch.tensor([[0, 1, 2, 0], [2, 1, 0, 0]]), torch.tensor([4, 3])).sum().backward()
    for p in (crf.transitions, crf.start, crf.end, em):
        assert p.grad is not None and p.grad.abs().sum() > 0
    assert em.grad[1, 3].abs().sum() == 0  # padding gets no gradient
