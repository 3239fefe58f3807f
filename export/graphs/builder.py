"""A small builder for hand-written ONNX graphs: named initializers and numbered nodes.

g = Graph()
y = g.one("MatMul", ["x", g.const("W", weights)])
proto_graph = helper.make_graph(g.nodes, "name", inputs, outputs, g.inits)
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class Graph:
    """Nodes and initializers; node outputs are named ``{prefix}{op}_{n}_{k}`` (a prefix
    keeps them apart from the names of a graph they are spliced into)."""

    def __init__(self, prefix: str = "") -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[TensorProto] = []
        self.n = 0
        self.prefix = prefix

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(
            numpy_helper.from_array(np.array(value, order="C"), name)
        )  # 0-d stays 0-d
        return name

    def op(self, op_type: str, inputs: list[str], n_out: int = 1, **attrs: object) -> list[str]:
        self.n += 1
        outs = [f"{self.prefix}{op_type.lower()}_{self.n}_{k}" for k in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, **attrs))
        return outs

    def one(self, op_type: str, inputs: list[str], **attrs: object) -> str:
        return self.op(op_type, inputs, **attrs)[0]
