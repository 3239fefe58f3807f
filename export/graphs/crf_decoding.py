"""CRF decoding inside an ONNX graph: Viterbi path and posterior marginals, the same
recursion as ``crf.py`` step for step, so ``model.onnx`` alone returns the decoded
labels (a Triton or onnxruntime-node client needs no Python).

Two ``Scan`` loops over the sequence axis, each one step per position for the whole batch
(dynamic ``seq``; per-sentence lengths as masks):

* forward: Viterbi back-pointers (``ArgMax``) and scores (``GatherElements``), and the
  forward algorithm (``Exp``, ``MatMul`` with ``exp(transitions)``, ``Log``); a position
  past a sentence's length keeps the state and gets identity back-pointers (``Where``);
* reverse (``scan_input_directions``/``scan_output_directions`` = 1): the back-tracking
  (``GatherElements`` through the pointers, from ``ArgMax(delta + end)``) and the backward
  algorithm.

Every step renormalises its scores as ``crf.py`` does (Viterbi: row max 0; forward and
backward: row log-sum 0), so values stay small and the graph agrees with PyTorch to
float32 rounding of one step at any length. Marginals: ``log_softmax(alpha + beta)``;
the path is 0 past each length, as in PyTorch.

    append_crf(g, decoder, "logits", "lengths", "log_probs", "upos_path")
"""

from __future__ import annotations

import numpy as np
import torch
from onnx import TensorProto, helper

from postag.export.graphs.builder import Graph
from postag.export.train.crf import CRF

F, I64, BOOL = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def _i64(*v: int) -> np.ndarray:
    return np.array(v, dtype=np.int64)


def _lognorm(g: Graph, x: str, axis1: str) -> str:
    """Each row of (batch, labels) shifted to log-sum to 0 (as ``crf._lognorm``)."""
    return g.one("Sub", [x, g.one("ReduceLogSumExp", [x, axis1], keepdims=1)])


def _maxnorm(g: Graph, x: str, axis1: str) -> str:
    """Each row of (batch, labels) shifted so that its maximum is 0 (``crf._maxnorm``)."""
    return g.one("Sub", [x, g.one("ReduceMax", [x, axis1], keepdims=1)])


def _body(g: Graph, name: str, inputs: list[tuple[str, int]], outputs: list[tuple[str, int]]):  # noqa: ANN202
    """A Scan body from ``g``'s nodes (outer-scope constants are referenced by name)."""
    return helper.make_graph(
        g.nodes,
        name,
        [helper.make_tensor_value_info(n, t, None) for n, t in inputs],
        [helper.make_tensor_value_info(n, t, None) for n, t in outputs],
    )


def _forward_body(p: str, trans: str, exp_t: str, c: str, ident: str, axis1: str) -> object:
    """(delta, alpha; e_t, m_t) → (delta', alpha'; pointers_t, alpha'_t)."""
    g = Graph(f"{p}fw_")
    d, a, e, m = f"{p}fw_delta", f"{p}fw_alpha", f"{p}fw_e", f"{p}fw_m"
    s = g.one("Add", [g.one("Unsqueeze", [d, f"{p}axis2"]), trans])  # (batch, from, to)
    ptr3 = g.one("ArgMax", [s], axis=1, keepdims=1)  # (batch, 1, to): lowest id on ties
    best = g.one("Squeeze", [g.one("GatherElements", [s, ptr3], axis=1), axis1])  # (b, to)
    ptr = g.one("Squeeze", [ptr3, axis1])  # (batch, to)
    d2 = g.one("Where", [m, _maxnorm(g, g.one("Add", [best, e]), axis1), d])
    ptr2 = g.one("Where", [m, ptr, ident])  # past the length: identity pointers
    # log(exp(alpha) @ exp(T - c)) + c: a matrix product, no (batch, labels²) exponentials
    lse = g.one("Add", [g.one("Log", [g.one("MatMul", [g.one("Exp", [a]), exp_t])]), c])
    a2 = g.one("Where", [m, _lognorm(g, g.one("Add", [lse, e]), axis1), a])
    a_out = g.one("Identity", [a2])
    return _body(
        g,
        f"{p}forward",
        [(d, F), (a, F), (e, F), (m, BOOL)],
        [(d2, F), (a2, F), (ptr2, I64), (a_out, F)],
    )


def _backward_body(p: str, exp_tt: str, c: str) -> object:
    """(tag, beta; e_t, m_t, pointers_t) → (tag', beta'; tag_t, beta_t), positions in
    reverse: emits the label and beta at t, then steps to t - 1."""
    g = Graph(f"{p}bw_")
    tag, b, e, m, ptr = (f"{p}bw_{n}" for n in ("tag", "beta", "e", "m", "ptr"))
    y_tag, y_beta = g.one("Identity", [tag]), g.one("Identity", [b])
    prev = g.one("GatherElements", [ptr, g.one("Unsqueeze", [tag, f"{p}axis1"])], axis=1)
    tag2 = g.one("Squeeze", [prev, f"{p}axis1"])  # (batch,) the label at t - 1
    v = g.one("Add", [e, b])  # (batch, to)
    top = g.one("ReduceMax", [v, f"{p}axis1"], keepdims=1)  # (batch, 1)
    prod = g.one("MatMul", [g.one("Exp", [g.one("Sub", [v, top])]), exp_tt])  # (batch, from)
    nb = g.one("Add", [g.one("Add", [g.one("Log", [prod]), top]), c])
    b2 = g.one("Where", [m, _lognorm(g, nb, f"{p}axis1"), b])
    return _body(
        g,
        f"{p}backward",
        [(tag, I64), (b, F), (e, F), (m, BOOL), (ptr, I64)],
        [(tag2, I64), (b2, F), (y_tag, I64), (y_beta, F)],
    )


def append_crf(g: Graph, crf: CRF, emissions: str, lengths: str, log_probs: str, path: str) -> None:
    """Decode ``emissions`` (batch, seq, labels) with ``crf``'s scores: adds nodes to
    ``g`` whose outputs are ``log_probs`` (the marginals, (batch, seq, labels)) and
    ``path`` ((batch, seq) int64). ``lengths``: (batch,) int64."""
    p = f"{path}_"
    np_ = lambda t: t.detach().cpu().float().numpy()  # noqa: E731
    trans = g.const(f"{p}transitions", np_(crf.transitions))  # (from, to)
    exp_t, c_val = (t.detach() for t in crf._exp_transitions())
    c = g.const(f"{p}c", np.array(float(c_val), dtype=np.float32))
    exp_tt = g.const(f"{p}exp_tt", np_(exp_t.t().contiguous()))  # (to, from)
    exp_t = g.const(f"{p}exp_t", np_(exp_t))  # (from, to)
    start, end = g.const(f"{p}start", np_(crf.start)), g.const(f"{p}end", np_(crf.end))
    n = crf.transitions.shape[0]
    ident = g.const(f"{p}ident", np.arange(n, dtype=np.int64))  # (labels,)
    axis0, axis1 = g.const(f"{p}axis0", _i64(0)), g.const(f"{p}axis1", _i64(1))
    axis2 = g.const(f"{p}axis2", _i64(2))

    em = g.one("Transpose", [emissions], perm=[1, 0, 2])  # (seq, batch, labels)
    seq = g.one("Gather", [g.one("Shape", [em]), g.const(f"{p}zero", np.array(0, np.int64))])
    t = g.one(
        "Unsqueeze",
        [
            g.one(
                "Range",
                [
                    g.const(f"{p}t0", np.array(0, np.int64)),
                    seq,
                    g.const(f"{p}t1", np.array(1, np.int64)),
                ],
            ),
            axis1,
        ],
    )
    valid = g.one("Less", [t, g.one("Unsqueeze", [lengths, axis0])])  # (seq, batch)
    step = g.one("And", [valid, g.one("GreaterOrEqual", [t, g.const(f"{p}one", _i64(1))])])
    m = g.one("Unsqueeze", [step, axis2])  # (seq, batch, 1): position t is a real step

    first = g.one(
        "Add", [start, g.one("Gather", [em, g.const(f"{p}first", np.array(0, np.int64))], axis=0)]
    )
    delta, alpha, ptrs, alphas = g.op(
        "Scan", [first, first, em, m], n_out=4, num_scan_inputs=2,
        body=_forward_body(p, trans, exp_t, c, ident, axis1),
    )  # fmt: skip
    last = g.one("ArgMax", [g.one("Add", [delta, end])], axis=1, keepdims=0)  # (batch,)
    end_norm = g.const(f"{p}end_norm", np_(crf.end - torch.logsumexp(crf.end, 0)))
    beta0 = g.one("Expand", [end_norm, g.one("Shape", [alpha])])  # (batch, labels)
    _, _, tags, betas = g.op(
        "Scan", [last, beta0, em, m, ptrs], n_out=4, num_scan_inputs=3,
        scan_input_directions=[1, 1, 1], scan_output_directions=[1, 1],
        body=_backward_body(p, exp_tt, c),
    )  # fmt: skip
    zero = g.const(f"{p}pad", np.array(0, np.int64))
    g.nodes.append(
        helper.make_node(
            "Transpose", [g.one("Where", [valid, tags, zero])], [path], perm=[1, 0]
        )  # (batch, seq), 0 past each length
    )
    # alpha_t + beta_t - log Z, the per-position constants cancelled by the log-softmax
    marg = g.one("LogSoftmax", [g.one("Add", [alphas, betas])], axis=-1)  # (seq, b, labels)
    g.nodes.append(helper.make_node("Transpose", [marg], [log_probs], perm=[1, 0, 2]))
