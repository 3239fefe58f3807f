"""A linear-chain CRF over one head's emission scores: training loss, Viterbi decoding
and posterior marginals, vectorised over the batch and masked by each sentence's length.

Every recursion runs over the sequence axis only (one step per position, the whole batch
at once). A sentence shorter than the batch's width *freezes* its state after its last
token and gets identity back-pointers there, so the decoded path, the partition function
and the marginals of a sentence are the same alone or padded inside any batch. The ONNX
decoding in ``crf_graph.py`` is the same recursion, step for step.

    crf = CRF(n_labels)
    loss = crf.nll(emissions, gold, lengths).sum()          # (batch,) → scalar
    path = crf.viterbi(emissions, lengths)                  # (batch, seq) int64, 0 = padding
    log_marginals = crf.log_marginals(emissions, lengths)   # (batch, seq, labels)

Scores: ``transitions[i, j]`` is the score of label ``j`` right after label ``i``;
``start[j]`` of a sentence starting with ``j``; ``end[i]`` of one ending with ``i``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def valid_mask(lengths: Tensor, seq: int) -> Tensor:
    """(batch, seq) bool: position < the sentence's length."""
    return torch.arange(seq, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)


def _lognorm(x: Tensor) -> Tensor:
    """Each row shifted to log-sum to 0."""
    return x - torch.logsumexp(x, dim=-1, keepdim=True)


def _maxnorm(x: Tensor) -> Tensor:
    """Each row shifted so that its maximum is 0 (argmax and ties unchanged)."""
    return x - x.max(dim=-1, keepdim=True)[0]


class CRF(nn.Module):
    def __init__(self, n_labels: int) -> None:
        super().__init__()
        self.transitions = nn.Parameter(torch.zeros(n_labels, n_labels))  # (from, to)
        self.start = nn.Parameter(torch.zeros(n_labels))  # (labels,)
        self.end = nn.Parameter(torch.zeros(n_labels))  # (labels,)

    def _exp_transitions(self) -> tuple[Tensor, Tensor]:
        """exp(transitions - c) and c = max(transitions): the forward and backward steps
        as matrix products (no (batch, labels, labels) exponentials)."""
        c = self.transitions.max()
        return torch.exp(self.transitions - c), c

    def normalized_forward(self, em: Tensor, lengths: Tensor) -> Tensor:
        """The forward algorithm renormalised at every step (each row log-sums to 0):
        alpha up to a per-position constant, (batch, seq, labels). Unnormalised alphas
        grow with the position (thousands at 300 tokens), where float32 rounding alone
        is ~1e-4; normalised ones stay the size of one step's scores, so two
        implementations of the same steps agree to ~1e-6 at any length. A step is
        ``log(exp(alpha) @ exp(T - c)) + c``: exp(alpha) is a distribution (no overflow)."""
        exp_t, c = self._exp_transitions()  # (from, to), ()
        alpha = _lognorm(self.start + em[:, 0])  # (batch, labels)
        out: list[Tensor] = [alpha]
        for t in range(1, em.size(1)):
            nxt = torch.log(torch.exp(alpha) @ exp_t) + c  # (batch, to)
            keep = (lengths > t).unsqueeze(1)  # (batch, 1)
            alpha = torch.where(keep, _lognorm(nxt + em[:, t]), alpha)
            out.append(alpha)
        return torch.stack(out, 1)  # (batch, seq, labels)

    def normalized_backward(self, em: Tensor, lengths: Tensor) -> Tensor:
        """The backward algorithm, renormalised at every step: beta up to a per-position
        constant, (batch, seq, labels); ``end`` (normalised) at and after each sentence's
        last token. A step is ``log(exp(v - max v) @ exp(T - c).T) + max v + c`` with
        ``v = emissions + beta``."""
        exp_t, c = self._exp_transitions()  # (from, to), ()
        batch, seq = em.size(0), em.size(1)
        beta = _lognorm(self.end).unsqueeze(0).expand(batch, -1)  # (batch, labels)
        out: list[Tensor] = [beta]  # position seq - 1 first
        for t in range(seq - 1, 0, -1):
            v = em[:, t] + beta  # (batch, to)
            top = v.max(dim=1, keepdim=True)[0]  # (batch, 1)
            nb = torch.log(torch.exp(v - top) @ exp_t.t()) + top + c  # (batch, from)
            keep = (lengths > t).unsqueeze(1)  # (batch, 1)
            beta = torch.where(keep, _lognorm(nb), beta)  # position t - 1
            out.append(beta)
        out.reverse()
        return torch.stack(out, 1)  # (batch, seq, labels)

    def log_partition(self, em: Tensor, lengths: Tensor) -> Tensor:
        """log Z per sentence (batch,): the forward algorithm (training's loss; alpha is
        frozen after each sentence's last token)."""
        alpha = self.start + em[:, 0]  # (batch, labels)
        for t in range(1, em.size(1)):
            nxt = torch.logsumexp(alpha.unsqueeze(2) + self.transitions, dim=1)  # (batch, to)
            alpha = torch.where((lengths > t).unsqueeze(1), nxt + em[:, t], alpha)
        return torch.logsumexp(alpha + self.end, dim=1)

    def path_score(self, em: Tensor, tags: Tensor, lengths: Tensor) -> Tensor:
        """The score of the label sequence ``tags`` (batch, seq) per sentence (batch,);
        entries past each length are ignored (any value)."""
        mask = valid_mask(lengths, em.size(1))  # (batch, seq)
        tags = tags.clamp(min=0) * mask  # padding → label 0, masked out below
        emit = em.gather(2, tags.unsqueeze(2)).squeeze(2)  # (batch, seq)
        trans = self.transitions[tags[:, :-1], tags[:, 1:]]  # (batch, seq - 1)
        last = tags.gather(1, (lengths - 1).clamp(min=0).unsqueeze(1)).squeeze(1)  # (batch,)
        return (
            (emit * mask).sum(1)
            + (trans * mask[:, 1:]).sum(1)
            + self.start[tags[:, 0]]
            + self.end[last]
        )

    def nll(self, em: Tensor, tags: Tensor, lengths: Tensor) -> Tensor:
        """Negative log-likelihood of the gold labels per sentence (batch,)."""
        return self.log_partition(em, lengths) - self.path_score(em, tags, lengths)

    def log_marginals(self, em: Tensor, lengths: Tensor) -> Tensor:
        """Posterior log-probability of each label at each position (forward-backward):
        (batch, seq, labels); each real position's row sums to 1 in probability."""
        alpha = self.normalized_forward(em, lengths)  # (batch, seq, labels)
        beta = self.normalized_backward(em, lengths)  # (batch, seq, labels)
        # alpha_t + beta_t - log Z, with the per-position constants cancelled out
        return torch.log_softmax(alpha + beta, dim=-1)

    def viterbi(self, em: Tensor, lengths: Tensor) -> Tensor:
        """The best label sequence per sentence: (batch, seq) int64, 0 past each length.
        Ties go to the lowest label id (as ``argmax`` and ONNX ``ArgMax`` break them)."""
        batch, seq, n = em.size(0), em.size(1), em.size(2)
        ident = torch.arange(n, device=em.device).unsqueeze(0).expand(batch, n)  # (b, labels)
        delta = _maxnorm(self.start + em[:, 0])  # (batch, labels), each row's max is 0
        pointers: list[Tensor] = [ident]
        for t in range(1, seq):
            best, ptr = (delta.unsqueeze(2) + self.transitions).max(dim=1)  # (batch, to)
            keep = (lengths > t).unsqueeze(1)  # (batch, 1)
            delta = torch.where(keep, _maxnorm(best + em[:, t]), delta)
            pointers.append(torch.where(keep, ptr, ident))
        tag = (delta + self.end).argmax(1)  # (batch,) the label at each last token
        path: list[Tensor] = [tag]
        for t in range(seq - 1, 0, -1):  # identity pointers carry it back to the last token
            tag = pointers[t].gather(1, tag.unsqueeze(1)).squeeze(1)
            path.append(tag)
        path.reverse()
        return torch.stack(path, 1) * valid_mask(lengths, seq)  # (batch, seq)
