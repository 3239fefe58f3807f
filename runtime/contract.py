"""The model's I/O contract, declared once.

Names, dtypes and axes of every input and output, the ONNX opset and the parity
tolerance. The ONNX export, the TorchScript wrapper, the verification gate, the
manifest and the runtime's session feeding all read this one object.

:data:`CONTRACT` is the model as trained (``model.onnx``, TorchScript, Triton).
:data:`FAST_CONTRACT` is the runtime's fast graph (``model.fast.onnx``): the same
network with the character BiLSTM's output for every training word form computed once
at export time and stored in the graph as a table. ``feat_idx`` picks each token's row:
a table row for a known form, or ``table_rows + j`` for the ``j``-th row of
``new_chars`` (forms the table lacks, run through the character BiLSTM in the graph).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .errors import BundleError

#: Axes that vary at run time; every other axis name is fixed by the model config.
DYNAMIC_AXES = ("batch", "seq", "word_len", "new_words")


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str  # numpy / ONNX element type name: "int64", "float32"
    axes: tuple[str, ...]  # symbolic names; "tags" is fixed by the tag set

    def shape(self, dims: dict[str, int]) -> tuple[int | str, ...]:
        """Declared shape: dynamic axes stay symbolic, fixed ones come from ``dims``."""
        return tuple(a if a in DYNAMIC_AXES else dims[a] for a in self.axes)


@dataclass(frozen=True)
class IOContract:
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    opset: int
    atol: float  # max |Δ log-prob| between PyTorch and an fp32 export
    int8_min_tag_agreement: float  # int8 vs fp32 tags on the verification sample
    int8_max_accuracy_drop: float  # absolute accuracy points (0.005 = 0.5 pt)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> IOContract:
        try:
            return cls(
                inputs=tuple(
                    TensorSpec(s["name"], s["dtype"], tuple(s["axes"])) for s in data["inputs"]
                ),
                outputs=tuple(
                    TensorSpec(s["name"], s["dtype"], tuple(s["axes"])) for s in data["outputs"]
                ),
                opset=int(data["opset"]),
                atol=float(data["atol"]),
                int8_min_tag_agreement=float(data["int8_min_tag_agreement"]),
                int8_max_accuracy_drop=float(data["int8_max_accuracy_drop"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"malformed I/O contract in manifest: {exc!r}") from None

    @property
    def input_names(self) -> list[str]:
        return [s.name for s in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [s.name for s in self.outputs]


CONTRACT = IOContract(
    inputs=(
        TensorSpec("word_ids", "int64", ("batch", "seq")),
        TensorSpec("char_ids", "int64", ("batch", "seq", "word_len")),
        TensorSpec("lengths", "int64", ("batch",)),
    ),
    outputs=(TensorSpec("log_probs", "float32", ("batch", "seq", "tags")),),
    opset=18,
    atol=1e-4,
    int8_min_tag_agreement=0.98,
    int8_max_accuracy_drop=0.01,
)


FAST_CONTRACT = IOContract(
    inputs=(
        TensorSpec("word_ids", "int64", ("batch", "seq")),
        TensorSpec("feat_idx", "int64", ("batch", "seq")),
        TensorSpec("new_chars", "int64", ("new_words", "word_len")),
        TensorSpec("lengths", "int64", ("batch",)),
    ),
    outputs=CONTRACT.outputs,
    opset=CONTRACT.opset,
    atol=CONTRACT.atol,
    int8_min_tag_agreement=CONTRACT.int8_min_tag_agreement,
    int8_max_accuracy_drop=CONTRACT.int8_max_accuracy_drop,
)
