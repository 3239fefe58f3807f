"""The tagger: word embedding + character BiLSTM + sentence (Bi)LSTM → one linear layer
per head (UPOS, and XPOS and UFeats for the joint tagger: ``ModelConfig.heads``), each
decoded by a log-softmax per word or, for the heads in ``ModelConfig.crf``, by a
linear-chain CRF (``crf.py``: Viterbi path + posterior marginals).

With pretrained word vectors (``ModelConfig.vectors``) the word embedding is a
:class:`WordVectors` while training; ``vectors.bake`` then folds it into one plain
``nn.Embedding``, so every saved and exported model is the plain one.

Variable lengths are honoured in both directions without ``pack_padded_sequence`` (which
neither TorchScript-to-ONNX nor dynamo export handles): the backward direction is a
forward LSTM run over each sequence *reversed within its own length*, then reversed back.
Padding therefore always comes after the real tokens in both directions and cannot leak
into them, so a sentence's outputs are the same alone or inside any padded batch. The
same trick gives the character BiLSTM's final states. Everything here is TorchScript-
scriptable and exports to plain ONNX ``LSTM``/``Gather`` ops with dynamic axes.

    model = TaggerModel(cfg)
    upos, xpos, feats = model(word_ids, char_ids, lengths)  # each (batch, seq, n_labels(head))
    # with cfg.crf = ("upos", "xpos"): a CRF head gives its log-marginals, then its path
    upos, upos_path, xpos, xpos_path, feats = model(word_ids, char_ids, lengths)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from postag.export.train.config import ModelConfig
from postag.export.train.crf import CRF
from postag.vocab import UNK_ID


def reverse_padded(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse each row of ``x`` (batch, seq, dim) within its length; padding stays put."""
    seq = x.size(1)
    t = torch.arange(seq, device=x.device).unsqueeze(0)  # (1, seq)
    n = lengths.unsqueeze(1)  # (batch, 1)
    idx = torch.where(t < n, n - 1 - t, t)  # (batch, seq)
    return x.gather(1, idx.unsqueeze(2).expand(x.size(0), seq, x.size(2)))


def last_valid(x: Tensor, lengths: Tensor) -> Tensor:
    """``x[b, lengths[b] - 1]`` for each row: (batch, seq, dim) → (batch, dim)."""
    idx = (lengths - 1).clamp(min=0).view(-1, 1, 1).expand(x.size(0), 1, x.size(2))
    return x.gather(1, idx).squeeze(1)


class CharBiLSTM(nn.Module):
    """Each word's characters → concatenated final states of a BiLSTM (2 * hidden)."""

    def __init__(self, n_chars: int, dim: int, hidden: int) -> None:
        super().__init__()
        self.emb = nn.Embedding(n_chars, dim, padding_idx=0)
        self.fwd = nn.LSTM(dim, hidden, batch_first=True)
        self.bwd = nn.LSTM(dim, hidden, batch_first=True)
        self.out_dim = 2 * hidden

    def forward(self, char_ids: Tensor) -> Tensor:
        # char_ids: (words, word_len), 0 = padding; padding words have length 0.
        lengths = (char_ids != 0).sum(1)  # (words,)
        x = self.emb(char_ids)  # (words, word_len, dim)
        f, _ = self.fwd(x)  # (words, word_len, hidden)
        b, _ = self.bwd(reverse_padded(x, lengths))  # (words, word_len, hidden)
        return torch.cat([last_valid(f, lengths), last_valid(b, lengths)], 1)  # (words, 2h)


class NoChars(nn.Module):
    """Stand-in when the character model is disabled (the ``seed`` preset)."""

    def __init__(self) -> None:
        super().__init__()
        self.out_dim = 0

    def forward(self, char_ids: Tensor) -> Tensor:
        return torch.zeros(char_ids.size(0), 0, dtype=torch.float32, device=char_ids.device)


class BiLayer(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fwd = nn.LSTM(dim, hidden, batch_first=True)
        self.bwd = nn.LSTM(dim, hidden, batch_first=True)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        f, _ = self.fwd(x)  # (batch, seq, hidden)
        b, _ = self.bwd(reverse_padded(x, lengths))  # (batch, seq, hidden), reversed time
        return torch.cat([f, reverse_padded(b, lengths)], 2)  # (batch, seq, 2 * hidden)


class UniLayer(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fwd = nn.LSTM(dim, hidden, batch_first=True)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        f, _ = self.fwd(x)  # (batch, seq, hidden)
        return f


class Softmax(nn.Module):
    """A head decoded word by word: its log-softmax (the tag is each row's argmax)."""

    def forward(self, em: Tensor, lengths: Tensor) -> list[Tensor]:
        return [torch.log_softmax(em, dim=-1)]  # (batch, seq, labels)


class CRFDecoder(CRF):
    """A head decoded as a sequence: log-marginals (batch, seq, labels), then the Viterbi
    path (batch, seq)."""

    def forward(self, em: Tensor, lengths: Tensor) -> list[Tensor]:
        return [self.log_marginals(em, lengths), self.viterbi(em, lengths)]


class WordVectors(nn.Module):
    """A word's embedding while training with pretrained vectors (``ModelConfig.vectors``):
    a trained embedding of the training forms (ids < ``n_train_words``) combined with a
    pretrained vector for every id (0 where the vectors lack the word).

    A word known only to the vectors (id >= ``n_train_words``) gets the trained ``<unk>``
    row plus its own vector, and training's word dropout (``p_drop``, set by the trainer)
    drops only the trained part to ``<unk>`` while keeping the word's vector: the model
    learns the very input it sees for such words at run time. :func:`vectors.bake` folds
    it all into one plain ``nn.Embedding``."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        n = self.n_train_words = cfg.n_train_words
        self.mode = cfg.vectors_mode
        self.combine = cfg.vectors_combine
        self.emb = nn.Embedding(n, cfg.word_dim, padding_idx=0)
        # The pretrained table never trains as a whole: what trains are the rows of the
        # training forms only, ``tuned`` (finetune: their vectors) or ``delta`` (delta:
        # added to them, starting at 0). With --min-freq 1 (the default) a vector-only word
        # (id >= n) never occurs in training, so a trainable full table would give the
        # same model (its other rows get no gradient, so Adam never moves them) at the
        # optimiser cost of n_words rows instead of n. With a higher --min-freq, a rare
        # training word that has a vector is a vector-only word: its vector stays as
        # pretrained, as for the words it stands for at run time.
        self.register_buffer("vectors", torch.zeros(cfg.n_words, cfg.vectors_dim))
        rows = (n, cfg.vectors_dim)  # (n_train_words, vectors_dim)
        self.tuned = nn.Parameter(torch.zeros(rows)) if cfg.vectors_mode == "finetune" else None
        self.delta = nn.Parameter(torch.zeros(rows)) if cfg.vectors_mode == "delta" else None
        self.proj = (
            nn.Linear(cfg.vectors_dim, cfg.word_dim, bias=False)
            if cfg.vectors_combine == "sum"
            else None
        )
        # word dropout per id (n_words,); empty = none. Not saved: a training setting.
        self.register_buffer("p_drop", torch.zeros(0), persistent=False)

    def set_vectors(self, table: Tensor) -> None:
        """Load the pretrained table (n_words, vectors_dim)."""
        with torch.no_grad():
            self.vectors.copy_(table)
            if self.tuned is not None:
                self.tuned.copy_(table[: self.n_train_words])

    def forward(self, word_ids: Tensor) -> Tensor:
        # word_ids: (batch, seq) over the extended table; ids past the training forms use
        # the trained <unk> row
        known = word_ids < self.n_train_words  # (batch, seq)
        trained = word_ids.masked_fill(~known, UNK_ID)  # (batch, seq)
        if self.training and self.p_drop.numel() > 0:
            drop = torch.rand(word_ids.shape) < self.p_drop[word_ids]  # (batch, seq)
            trained = trained.masked_fill(drop, UNK_ID)
        e = self.emb(trained)  # (batch, seq, word_dim)
        v = nn.functional.embedding(word_ids, self.vectors)  # (batch, seq, vectors_dim)
        # training forms' ids (others → row 0, masked out below)
        own = word_ids.masked_fill(~known, 0)  # (batch, seq)
        if self.tuned is not None:
            v = torch.where(known.unsqueeze(2), nn.functional.embedding(own, self.tuned), v)
        if self.delta is not None:
            d = nn.functional.embedding(own, self.delta)  # (batch, seq, vectors_dim)
            v = v + d * known.unsqueeze(2)
        if self.proj is not None:
            return e + self.proj(v)  # (batch, seq, word_dim)
        return torch.cat([e, v], 2)  # (batch, seq, word_dim + vectors_dim)


class TaggerModel(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        if min(cfg.n_words, cfg.n_tags) <= 0 or (cfg.char_hidden and cfg.n_chars <= 0):
            raise ValueError("ModelConfig needs vocabulary sizes (n_words, n_chars, n_tags)")
        if cfg.uses_vectors and not (0 < cfg.n_train_words <= cfg.n_words and cfg.vectors_dim):
            raise ValueError("ModelConfig with vectors needs n_train_words and vectors_dim")
        self.cfg = cfg
        # pretrained vectors while training (vectors.py bakes them into a plain embedding)
        self.word_emb: nn.Module = (
            WordVectors(cfg)
            if cfg.uses_vectors
            else nn.Embedding(cfg.n_words, cfg.word_dim, padding_idx=0)
        )
        self.chars: nn.Module = (
            CharBiLSTM(cfg.n_chars, cfg.char_dim, cfg.char_hidden) if cfg.char_hidden else NoChars()
        )
        layer = BiLayer if cfg.bidirectional else UniLayer
        width = 2 * cfg.hidden if cfg.bidirectional else cfg.hidden
        dims = [cfg.word_input_dim + self.chars.out_dim] + [width] * (cfg.layers - 1)
        self.layers = nn.ModuleList([layer(d, cfg.hidden) for d in dims])
        self.dropout = nn.Dropout(cfg.dropout)
        # one linear layer per head over the shared encoder, in cfg.heads order
        self.heads = nn.ModuleList([nn.Linear(width, cfg.n_labels(h)) for h in cfg.heads])
        # one decoder per head: a CRF for the heads in cfg.crf, else a log-softmax
        self.decoders = nn.ModuleList(
            [CRFDecoder(cfg.n_labels(h)) if h in cfg.crf else Softmax() for h in cfg.heads]
        )

    def char_features(self, char_ids: Tensor) -> Tensor:
        """(words, word_len) → (words, 2 * char_hidden); training calls it once per word type."""
        return self.chars(char_ids)

    def encode(self, word_ids: Tensor, char_feats: Tensor, lengths: Tensor) -> Tensor:
        """word_ids (batch, seq), char_feats (batch, seq, c), lengths (batch,) → the shared
        encoder's states (batch, seq, width)."""
        x = torch.cat([self.word_emb(word_ids), char_feats], 2)  # (batch, seq, word_input + c)
        x = self.dropout(x)
        for layer in self.layers:
            x = self.dropout(layer(x, lengths))  # (batch, seq, width)
        return x

    def emissions(self, word_ids: Tensor, char_feats: Tensor, lengths: Tensor) -> list[Tensor]:
        """Each head's scores before decoding (batch, seq, labels), in ``cfg.heads`` order."""
        x = self.encode(word_ids, char_feats, lengths)  # (batch, seq, width)
        return [head(x) for head in self.heads]

    def tag(self, word_ids: Tensor, char_feats: Tensor, lengths: Tensor) -> list[Tensor]:
        """The outputs of the I/O contract: per head in ``cfg.heads`` order, its
        log-probabilities (batch, seq, labels) (a CRF head's posterior marginals), then,
        for a CRF head, its Viterbi path (batch, seq)."""
        ems = self.emissions(word_ids, char_feats, lengths)
        outs: list[Tensor] = []
        i = 0
        for decoder in self.decoders:
            outs.extend(decoder(ems[i], lengths))
            i += 1
        return outs

    def features(self, char_ids: Tensor) -> Tensor:
        """(batch, seq, word_len) → (batch, seq, 2 * char_hidden)."""
        batch, seq = char_ids.size(0), char_ids.size(1)
        feats = self.char_features(char_ids.reshape(batch * seq, char_ids.size(2)))
        return feats.reshape(batch, seq, -1)

    def forward(self, word_ids: Tensor, char_ids: Tensor, lengths: Tensor) -> list[Tensor]:
        return self.tag(word_ids, self.features(char_ids), lengths)  # the contract's outputs
