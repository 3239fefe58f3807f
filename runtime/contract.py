"""The model's I/O contract, declared once.

Names, dtypes and axes of every input and output, the ONNX opset and the parity
tolerance. The ONNX export, the TorchScript wrapper, the verification gate, the
manifest and the runtime's session feeding all read this one object.

:data:`CONTRACT` is the model as trained (``model.onnx``, TorchScript, Triton), with one
log-probability output per head (:meth:`IOContract.with_heads`; UPOS-only as declared
here, UPOS + XPOS + UFeats for the joint tagger).
:data:`FAST_CONTRACT` is the runtime's fast graph (``model.fast.onnx``): the same
network with the character BiLSTM's output for every training word form computed once
at export time and stored in the graph as a table. ``feat_idx`` picks each token's row:
a table row for a known form, or ``table_rows + j`` for the ``j``-th row of
``new_chars`` (forms the table lacks, run through the character BiLSTM in the graph).
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass

import numpy as np

from .errors import BundleError

#: Axes that vary at run time; every other axis name is fixed by the model config.
DYNAMIC_AXES = ("batch", "seq", "word_len", "new_words", "length")
#: Element types a contract may declare (what the runtime feeds and Triton maps).
DTYPES = ("int64", "int32", "float32", "float16")

#: The output heads, in output order, each with its output's name and its label axis
#: (fixed by the head's label list). UPOS keeps the names of the UPOS-only contract
#: (``log_probs`` over ``tags``), so a UPOS-only bundle is the one-head case.
HEAD_OUTPUTS = {
    "upos": ("log_probs", "tags"),
    "xpos": ("xpos_log_probs", "xpos"),
    "feats": ("feats_log_probs", "feats"),
}
LABEL_AXES = tuple(axis for _, axis in HEAD_OUTPUTS.values())
#: The segmenter's fixed axes: its character features and its labels
#: (:data:`SEGMENTER_CONTRACT`).
SEGMENTER_AXES = ("features", "labels")
#: How each head is called in reports and error messages.
HEAD_NAMES = {"upos": "UPOS", "xpos": "XPOS", "feats": "UFeats"}
#: A CRF head's second output: its Viterbi path, label ids ``(batch, seq)`` (0 past each
#: sentence's length), decoded inside the graph. Its log-probability output then holds
#: the CRF's posterior marginals.
PATH_OUTPUTS = {head: f"{head}_path" for head in HEAD_OUTPUTS}


def head_of(spec: TensorSpec) -> str:
    """The head an output belongs to: a path output's by name, a log-probability
    output's by its label axis (its last one)."""
    for head, name in PATH_OUTPUTS.items():
        if spec.name == name:
            return head
    for head, (_, axis) in HEAD_OUTPUTS.items():
        if spec.axes[-1:] == (axis,):
            return head
    raise BundleError(f"output {spec.name!r} has no label axis ({', '.join(LABEL_AXES)})")


def is_path(spec: TensorSpec) -> bool:
    return spec.name in PATH_OUTPUTS.values()


def head_outputs(
    heads: tuple[str, ...] | list[str], crf: tuple[str, ...] | list[str] = ()
) -> tuple[TensorSpec, ...]:
    """Per head, in ``heads`` order: its log-probabilities ``(batch, seq, labels)``, then,
    for a head in ``crf``, its decoded path ``(batch, seq)``."""
    out: list[TensorSpec] = []
    for h in heads:
        out.append(TensorSpec(HEAD_OUTPUTS[h][0], "float32", ("batch", "seq", HEAD_OUTPUTS[h][1])))
        if h in crf:
            out.append(TensorSpec(PATH_OUTPUTS[h], "int64", ("batch", "seq")))
    return tuple(out)


def output_key(spec: TensorSpec) -> str:
    """The key a run's output goes under: its head for log-probabilities, the output's
    name (``upos_path``, …) for a decoded path."""
    return spec.name if is_path(spec) else head_of(spec)


def scores(outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A run's log-probabilities per head, ``{head: (…, labels)}`` (paths left out)."""
    return {h: v for h, v in outputs.items() if h in HEAD_OUTPUTS}


def decoded(outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each head's label ids: its decoded path where the model has one (a CRF head),
    else the argmax of its log-probabilities."""
    return {
        h: outputs[PATH_OUTPUTS[h]] if PATH_OUTPUTS[h] in outputs else lp.argmax(-1)
        for h, lp in scores(outputs).items()
    }


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str  # numpy / ONNX element type name: "int64", "float32"
    axes: tuple[str, ...]  # symbolic names; label axes (tags, xpos, feats) are fixed

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
    def from_dict(cls, data: object) -> IOContract:
        """Parse a manifest's contract; anything malformed is one :class:`BundleError`."""
        try:
            if not isinstance(data, dict):
                raise TypeError(f"expected a JSON object, got {type(data).__name__}")
            return cls(
                inputs=tuple(_spec(s) for s in _list(data["inputs"], "inputs")),
                outputs=tuple(_spec(s) for s in _list(data["outputs"], "outputs")),
                opset=_number(data["opset"], "opset", int),
                atol=_number(data["atol"], "atol", float),
                int8_min_tag_agreement=_number(
                    data["int8_min_tag_agreement"], "int8_min_tag_agreement", float
                ),
                int8_max_accuracy_drop=_number(
                    data["int8_max_accuracy_drop"], "int8_max_accuracy_drop", float
                ),
            )
        except KeyError as exc:
            raise BundleError(f"malformed I/O contract in manifest: no {exc}") from None
        except (TypeError, ValueError) as exc:
            raise BundleError(f"malformed I/O contract in manifest: {exc}") from None

    @property
    def input_names(self) -> list[str]:
        return [s.name for s in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [s.name for s in self.outputs]

    @property
    def heads(self) -> list[str]:
        """The output heads in output order (``["upos"]`` for a UPOS-only model)."""
        return [head_of(s) for s in self.outputs if not is_path(s)]

    @property
    def crf(self) -> list[str]:
        """The heads decoded in the graph (a path output each), in output order."""
        return [head_of(s) for s in self.outputs if is_path(s)]

    @property
    def output_keys(self) -> list[str]:
        """What each output is called in a run's result dict (:func:`output_key`)."""
        return [output_key(s) for s in self.outputs]

    def with_heads(
        self, heads: tuple[str, ...] | list[str], crf: tuple[str, ...] | list[str] = ()
    ) -> IOContract:
        """This contract with the outputs of these heads (:func:`head_outputs`)."""
        return dataclasses.replace(self, outputs=head_outputs(heads, crf))


def _list(value: object, what: str) -> list:
    if not isinstance(value, (list, tuple)) or not value:
        raise TypeError(f"{what} must be a non-empty list")
    return value


def _number(value: object, what: str, kind: type) -> int | float:
    ok = (int,) if kind is int else (int, float)
    if isinstance(value, bool) or not isinstance(value, ok):
        raise TypeError(f"{what} must be a number, got {value!r}")
    return kind(value)


def _spec(s: object) -> TensorSpec:
    """One tensor: a name, a dtype the runtime feeds, axes it knows."""
    if not isinstance(s, dict):
        raise TypeError(f"a tensor must be a JSON object, got {s!r}")
    name, dtype, axes = s["name"], s["dtype"], s["axes"]
    if not isinstance(name, str) or not name:
        raise TypeError(f"tensor name {name!r} is not a non-empty string")
    if dtype not in DTYPES:
        raise ValueError(f"{name}: dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    if not isinstance(axes, (list, tuple)) or not all(
        a in (*DYNAMIC_AXES, *LABEL_AXES, *SEGMENTER_AXES) for a in axes
    ):
        known = (*DYNAMIC_AXES, *LABEL_AXES, *SEGMENTER_AXES)
        raise ValueError(f"{name}: axes {axes!r} must be a list of {known}")
    return TensorSpec(name, dtype, tuple(axes))


CONTRACT = IOContract(
    inputs=(
        TensorSpec("word_ids", "int64", ("batch", "seq")),
        TensorSpec("char_ids", "int64", ("batch", "seq", "word_len")),
        TensorSpec("lengths", "int64", ("batch",)),
    ),
    outputs=head_outputs(("upos",)),
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


#: The trained segmenter's graph (``segmenter.onnx``): character ids and
#: :func:`postag.segmentation.char_features` of a batch of windows → one score per label
#: (:data:`postag.segmentation.LABELS`) per character. Fixed axes: ``features`` (4) and
#: ``labels`` (5). ``atol``: the largest |Δ score| allowed between PyTorch and the export
#: (the labels, tokens and sentences must be identical besides); it has no int8 graph.
SEGMENTER_CONTRACT = IOContract(
    inputs=(
        TensorSpec("chars", "int64", ("batch", "length")),
        TensorSpec("features", "float32", ("batch", "length", "features")),
    ),
    outputs=(TensorSpec("label_scores", "float32", ("batch", "length", "labels")),),
    opset=CONTRACT.opset,
    atol=CONTRACT.atol,
    int8_min_tag_agreement=1.0,
    int8_max_accuracy_drop=0.0,
)
