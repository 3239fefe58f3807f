"""The runtime's fast graph: character features of known word forms computed at export.

The character BiLSTM's output for a word depends on nothing but the word's characters,
so for every word form seen in training it is computed once here and stored in the
ONNX graph as a table (``model.fast.onnx``); the form list goes beside it as
``char_forms.json``. At run time a token whose form is in the list gathers its row; only
the others go through the BiLSTM. Outputs equal the plain graph's: the verification gate
and the parity suite hold ``model.fast.onnx`` to the same tolerance as ``model.onnx``.

    forms = char_forms(train_sentences)
    table = char_table(model, encoder, forms)        # (len(forms) + 1, 2 * char_hidden)
    export_fast(model, table, "model.fast.onnx", metadata)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import onnx
import torch

from postag.contract import FAST_CONTRACT
from postag.vocab import Encoder

from .fast_graph import build_fast_graph
from .model import TaggerModel
from .onnx_export import finalize

#: Most forms the table keeps (most frequent first): 50,000 forms × 100 floats = 20 MB.
MAX_FORMS = 50_000


def char_forms(sentences: Iterable[Sequence[str]], max_forms: int = MAX_FORMS) -> list[str]:
    """Distinct word forms (exactly as written), most frequent first, ties sorted."""
    counts = Counter(w for s in sentences for w in s)
    return sorted(counts, key=lambda w: (-counts[w], w))[:max_forms]


@torch.inference_mode()
def char_table(
    model: TaggerModel, encoder: Encoder, forms: Sequence[str], chunk: int = 2048
) -> np.ndarray:
    """Row 0: the padding word's features; row ``i + 1``: ``forms[i]``'s. Forms are run in
    chunks of similar length (padding width never changes a word's features)."""
    model = model.eval()
    words = ["", *forms]
    order = sorted(range(len(words)), key=lambda i: len(encoder.clip(words[i])))
    out = np.zeros((len(words), model.chars.out_dim), dtype=np.float32)  # (rows, c)
    for k in range(0, len(order), chunk):
        idx = order[k : k + chunk]
        chars = torch.from_numpy(encoder.char_matrix([words[i] for i in idx]))  # (n, wl)
        out[idx] = model.char_features(chars).numpy()  # (n, c)
    return out


def export_fast(
    model: TaggerModel, table: np.ndarray, path: str | Path, metadata: dict[str, str]
) -> onnx.ModelProto:
    """Write the fast graph (built from the weights, see :mod:`.fast_graph`), checked by
    ``onnx.checker`` and strict shape inference against :data:`FAST_CONTRACT` with one
    output per head of the model."""
    contract = FAST_CONTRACT.with_heads(model.cfg.heads, model.cfg.crf)
    proto = build_fast_graph(model.eval(), table, contract)
    proto = finalize(proto, contract, model.cfg.label_dims(), metadata)
    onnx.save_model(proto, str(path))
    return proto
