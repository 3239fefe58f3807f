"""What CRF decoding costs per call: the decoding nodes of the exported graph (two
``Scan`` loops, run by onnxruntime) against the same Viterbi + forward-backward written
as vectorised numpy, on emissions of the default model's label counts.

    python -m postag.export.bench.crf            # prints a table (median ms per call)

The numpy decoder is also a third implementation the tests hold equal to PyTorch's.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
import onnxruntime as ort
import torch
from onnx import TensorProto, helper

from postag.export.graphs.builder import Graph
from postag.export.graphs.crf_decoding import append_crf
from postag.export.train.model import CRFDecoder


def _lse(x: np.ndarray, axis: int, keepdims: bool = False) -> np.ndarray:
    m = x.max(axis=axis, keepdims=True)
    out = m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))
    return out if keepdims else out.squeeze(axis)


def numpy_decode(
    trans: np.ndarray, start: np.ndarray, end: np.ndarray, em: np.ndarray, lengths: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Viterbi path (batch, seq) and log-marginals (batch, seq, labels), the recursion
    of ``crf.py`` (renormalised steps, frozen past each length) in numpy."""
    batch, seq, n = em.shape
    ident = np.broadcast_to(np.arange(n), (batch, n))
    delta = start + em[:, 0]
    delta = delta - delta.max(1, keepdims=True)
    alpha = start + em[:, 0]
    alpha = alpha - _lse(alpha, 1, True)
    c = trans.max()
    exp_t = np.exp(trans - c)  # (from, to)
    ptrs, alphas = [ident], [alpha]
    for t in range(1, seq):
        keep = (lengths > t)[:, None]  # (batch, 1)
        s = delta[:, :, None] + trans  # (batch, from, to)
        ptr = s.argmax(1)
        nd = s.max(1) + em[:, t]
        delta = np.where(keep, nd - nd.max(1, keepdims=True), delta)
        ptrs.append(np.where(keep, ptr, ident))
        na = np.log(np.exp(alpha) @ exp_t) + c + em[:, t]
        alpha = np.where(keep, na - _lse(na, 1, True), alpha)
        alphas.append(alpha)
    tag = (delta + end).argmax(1)
    beta = np.broadcast_to(end - _lse(end, 0), (batch, n))
    path, betas = [tag], [beta]
    for t in range(seq - 1, 0, -1):
        keep = (lengths > t)[:, None]
        tag = np.take_along_axis(ptrs[t], tag[:, None], 1)[:, 0]
        path.append(tag)
        v = em[:, t] + beta
        top = v.max(1, keepdims=True)
        nb = np.log(np.exp(v - top) @ exp_t.T) + top + c
        beta = np.where(keep, nb - _lse(nb, 1, True), beta)
        betas.append(beta)
    paths = np.stack(path[::-1], 1) * (np.arange(seq)[None] < lengths[:, None])
    scores = np.stack(alphas, 1) + np.stack(betas[::-1], 1)
    return paths.astype(np.int64), (scores - _lse(scores, 2, True)).astype(np.float32)


def graph_session(crf: CRFDecoder, threads: int = 1) -> ort.InferenceSession:
    """The CRF decoding nodes alone: emissions ``em`` + ``lengths`` → ``lp``, ``path``."""
    n = crf.transitions.shape[0]
    g = Graph()
    append_crf(g, crf, "em", "lengths", "lp", "path")
    graph = helper.make_graph(
        g.nodes,
        "crf",
        [
            helper.make_tensor_value_info("em", TensorProto.FLOAT, ["b", "s", n]),
            helper.make_tensor_value_info("lengths", TensorProto.INT64, ["b"]),
        ],
        [
            helper.make_tensor_value_info("lp", TensorProto.FLOAT, ["b", "s", n]),
            helper.make_tensor_value_info("path", TensorProto.INT64, ["b", "s"]),
        ],
        g.inits,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    proto.ir_version = 9
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    return ort.InferenceSession(proto.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - t0))
    return statistics.median(times)


def main(labels: tuple[int, ...] = (17, 49), seq: int = 24, repeats: int = 30) -> None:
    """One row per label count and batch size: median ms per call, graph vs numpy."""
    rng = np.random.default_rng(0)
    print(f"CRF decoding (Viterbi + marginals), seq {seq}, median of {repeats} calls, 1 thread")
    print(f"{'labels':>6} {'batch':>5} {'graph ms':>9} {'numpy ms':>9} {'numpy/graph':>11}")
    for n in labels:
        crf = CRFDecoder(n)
        with torch.no_grad():
            for p in crf.parameters():
                p.copy_(torch.from_numpy(rng.normal(size=tuple(p.shape)).astype(np.float32)))
        sess = graph_session(crf)
        t, s, e = (p.detach().numpy() for p in (crf.transitions, crf.start, crf.end))
        for batch in (1, 8, 64, 256):
            em = rng.normal(scale=5, size=(batch, seq, n)).astype(np.float32)
            lengths = rng.integers(1, seq + 1, size=batch).astype(np.int64)
            lengths[0] = seq
            feed = {"em": em, "lengths": lengths}
            g = median_ms(lambda f=feed, run=sess.run: run(None, f), repeats)
            npy = median_ms(lambda args=(t, s, e, em, lengths): numpy_decode(*args), repeats)
            print(f"{n:>6} {batch:>5} {g:>9.3f} {npy:>9.3f} {npy / g:>11.2f}")


if __name__ == "__main__":
    main(repeats=int(sys.argv[1]) if len(sys.argv) > 1 else 30)
