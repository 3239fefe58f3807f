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

The graph is written node by node with ``onnx.helper`` from the trained weights.

Why not the exporter: torch has no way to say "LSTM over variable lengths" except
``pack_padded_sequence``, so the model runs each backward direction as a forward LSTM
over the sequence reversed within its length (``model.py``), and the dynamo export keeps
that as two LSTMs plus gathers, transposes and slices around them. ONNX's ``LSTM`` takes
``sequence_lens`` and a ``bidirectional`` direction, which is the same computation in
one node: the reverse direction starts at each sequence's last real step, and its final
state (``Y_h``) is the state after the first character, exactly what ``last_valid`` of
the reversed run picks. The graph below is therefore the PyTorch model's arithmetic with
fewer nodes; the verification gate holds it to the same tolerance as ``model.onnx``.

    proto = build_fast_graph(model, table, FAST_CONTRACT)  # metadata: export_fast
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper

from postag.contract import FAST_CONTRACT, HEAD_OUTPUTS, PATH_OUTPUTS, IOContract
from postag.export.graphs.builder import Graph
from postag.export.graphs.crf_decoding import append_crf
from postag.export.graphs.onnx_export import finalize
from postag.export.train.model import CRFDecoder, TaggerModel
from postag.vocab import Encoder


def _gates(w: torch.Tensor) -> np.ndarray:
    """PyTorch's LSTM gate order (i, f, g, o) → ONNX's (i, o, f, c), along dim 0."""
    i, f, g, o = w.detach().cpu().float().chunk(4, 0)
    return torch.cat([i, o, f, g], 0).numpy()


def _lstm_weights(dirs: list[torch.nn.LSTM]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """W (dirs, 4h, in), R (dirs, 4h, h), B (dirs, 8h) for one ONNX LSTM node."""
    w = np.stack([_gates(d.weight_ih_l0) for d in dirs])
    r = np.stack([_gates(d.weight_hh_l0) for d in dirs])
    b = np.stack([np.concatenate([_gates(d.bias_ih_l0), _gates(d.bias_hh_l0)]) for d in dirs])
    return w, r, b


def build_fast_graph(
    model: TaggerModel, table: np.ndarray, contract: IOContract, name: str = "postag-fast"
) -> onnx.ModelProto:
    """``word_ids``, ``feat_idx``, ``new_chars``, ``lengths`` → ``log_probs`` (see
    :data:`postag.contract.FAST_CONTRACT`); declared shapes are set by the caller."""
    cfg = model.cfg
    if not cfg.char_hidden:
        raise ValueError("the fast graph needs a model with a character BiLSTM")
    g = Graph()
    i64 = lambda *v: np.array(v, dtype=np.int64)  # noqa: E731
    rows = table.shape[0]

    # Character features of the new forms: one bidirectional LSTM over their characters.
    chars = model.chars
    emb = g.one("Gather", [g.const("char_emb", chars.emb.weight.detach().numpy()), "new_chars"])
    n_chars = g.one(
        "ReduceSum",
        [
            g.one(
                "Cast",
                [g.one("Greater", ["new_chars", g.const("zero", i64(0))])],
                to=TensorProto.INT32,
            ),
            g.const("axis1", i64(1)),
        ],
        keepdims=0,
    )  # (new,)
    # a padding-only row (no new forms: the runtime's placeholder) still needs length ≥ 1
    n_chars = g.one("Max", [n_chars, g.const("one_i32", np.array(1, dtype=np.int32))])
    x = g.one("Transpose", [emb], perm=[1, 0, 2])  # (word_len, new, char_dim)
    w, r, b = _lstm_weights([chars.fwd, chars.bwd])
    _, y_h, _ = g.op(
        "LSTM",
        [x, g.const("char_W", w), g.const("char_R", r), g.const("char_B", b), n_chars],
        n_out=3,
        direction="bidirectional",
        hidden_size=cfg.char_hidden,
    )  # y_h: (2, new, char_hidden)
    new_feats = g.one(
        "Reshape",
        [g.one("Transpose", [y_h], perm=[1, 0, 2]), g.const("shape_n_c", i64(0, -1))],
    )  # (new, 2 * char_hidden): [forward, backward] as in CharBiLSTM

    # Each token's features: a table row, or a new form's row (two gathers and a select).
    tab = g.const("char_table", table.astype(np.float32))
    last_row = g.const("last_row", i64(rows - 1))
    n_rows = g.const("rows", i64(rows))
    known = g.one("Gather", [tab, g.one("Min", ["feat_idx", last_row])])  # (batch, seq, c)
    new_idx = g.one("Max", [g.one("Sub", ["feat_idx", n_rows]), g.const("zero_b", i64(0))])
    unknown = g.one("Gather", [new_feats, new_idx])  # (batch, seq, c)
    is_known = g.one("Unsqueeze", [g.one("Less", ["feat_idx", n_rows]), g.const("axis2", i64(2))])
    feats = g.one("Where", [is_known, known, unknown])  # (batch, seq, c)
    words = g.one(
        "Gather", [g.const("word_emb", model.word_emb.weight.detach().numpy()), "word_ids"]
    )
    x = g.one("Concat", [words, feats], axis=2)  # (batch, seq, word_dim + c)

    # The sentence (Bi)LSTM layers, time-major, lengths honoured by sequence_lens.
    lens = g.one("Cast", ["lengths"], to=TensorProto.INT32)  # (batch,)
    x = g.one("Transpose", [x], perm=[1, 0, 2])  # (seq, batch, in)
    for k, layer in enumerate(model.layers):
        dirs = [layer.fwd, layer.bwd] if cfg.bidirectional else [layer.fwd]
        w, r, b = _lstm_weights(dirs)
        y = g.op(
            "LSTM",
            [x, g.const(f"l{k}_W", w), g.const(f"l{k}_R", r), g.const(f"l{k}_B", b), lens],
            n_out=1,
            direction="bidirectional" if cfg.bidirectional else "forward",
            hidden_size=cfg.hidden,
        )[0]  # (seq, dirs, batch, hidden)
        y = g.one("Transpose", [y], perm=[0, 2, 1, 3])  # (seq, batch, dirs, hidden)
        x = g.one("Reshape", [y, g.const(f"l{k}_shape", i64(0, 0, -1))])  # (seq, batch, width)
    x = g.one("Transpose", [x], perm=[1, 0, 2])  # (batch, seq, width)
    # one linear layer per head, then a log-softmax or the CRF decoding (contract order)
    for k, (name, head, decoder) in enumerate(
        zip(cfg.heads, model.heads, model.decoders, strict=True)
    ):
        wt = g.const(f"head{k}_W", head.weight.detach().numpy().T.copy())  # (width, labels)
        logits = g.one(
            "Add", [g.one("MatMul", [x, wt]), g.const(f"head{k}_b", head.bias.detach().numpy())]
        )  # (batch, seq, labels)
        if isinstance(decoder, CRFDecoder):
            append_crf(g, decoder, logits, "lengths", HEAD_OUTPUTS[name][0], PATH_OUTPUTS[name])
        else:
            g.nodes.append(
                helper.make_node("LogSoftmax", [logits], [HEAD_OUTPUTS[name][0]], axis=-1)
            )

    made = {o for n in g.nodes for o in n.output}
    if not set(contract.output_names) <= made:
        raise ValueError(f"the fast graph lacks {sorted(set(contract.output_names) - made)}")
    dtype = {"int64": TensorProto.INT64, "float32": TensorProto.FLOAT}
    graph = helper.make_graph(
        g.nodes,
        name,
        [helper.make_tensor_value_info(s.name, dtype[s.dtype], None) for s in contract.inputs],
        [helper.make_tensor_value_info(s.name, dtype[s.dtype], None) for s in contract.outputs],
        g.inits,
    )
    proto = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", contract.opset)], producer_name="postag"
    )
    proto.ir_version = 9
    return proto


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
