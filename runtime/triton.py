"""Write an NVIDIA Triton model repository from a bundle (`postag export-triton`).

    OUT_DIR/<model>/config.pbtxt      names, dtypes and dims from the bundle's I/O contract
    OUT_DIR/<model>/1/model.onnx      the bundle's ONNX model, byte for byte

Every dynamic axis (batch, sequence, word length) is ``-1``; ``max_batch_size: 0`` because
the batch axis is part of the declared dims (the model takes whole padded batches).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .bundle import Manifest, load_manifest
from .contract import DYNAMIC_AXES, HEAD_OUTPUTS, TensorSpec
from .errors import BundleError
from .files import atomic_dir
from .layout import META_IDENTITY, META_TAGS, MODEL, MODEL_INT8
from .session import check_identity, model_metadata

TRITON_DTYPES = {
    "int64": "TYPE_INT64",
    "int32": "TYPE_INT32",
    "float32": "TYPE_FP32",
    "float16": "TYPE_FP16",
}


def _tensor(spec: TensorSpec, label_dims: dict[str, int]) -> str:
    dims = [-1 if a in DYNAMIC_AXES else label_dims[a] for a in spec.axes]
    return (
        f'  {{\n    name: "{spec.name}"\n    data_type: {TRITON_DTYPES[spec.dtype]}\n'
        f"    dims: [ {', '.join(str(d) for d in dims)} ]\n  }}"
    )


def _quote(text: str) -> str:
    """A protobuf text-format string literal: backslash, quote and control characters
    escaped (control characters in octal), everything else as UTF-8."""
    body = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c >= " " else f"\\{ord(c):03o}" for c in body) + '"'


def config_pbtxt(
    name: str,
    man: Manifest,
    contract_inputs: tuple[TensorSpec, ...],
    contract_outputs: tuple[TensorSpec, ...],
    instances: int = 1,
    kind: str = "KIND_AUTO",
) -> str:
    # each head's label axis has its label count: tags (UPOS), xpos, feats
    label_dims = {HEAD_OUTPUTS[head][1]: len(man.labels[head]) for head in man.contract.heads}
    ins = ",\n".join(_tensor(s, label_dims) for s in contract_inputs)
    outs = ",\n".join(_tensor(s, label_dims) for s in contract_outputs)
    return (
        f'name: {_quote(name)}\nbackend: "onnxruntime"\nmax_batch_size: 0\n'
        f"input [\n{ins}\n]\noutput [\n{outs}\n]\n"
        f"instance_group [\n  {{\n    count: {instances}\n    kind: {kind}\n  }}\n]\n"
        f"parameters {{\n  key: {_quote(META_IDENTITY)}\n"
        f"  value: {{ string_value: {_quote(man.identity)} }}\n}}\n"
        f"parameters {{\n  key: {_quote(META_TAGS)}\n"
        f"  value: {{ string_value: {_quote(' '.join(man.tags))} }}\n}}\n"
    )


def export_triton(
    bundle: str | Path,
    out_dir: str | Path,
    model_name: str | None = None,
    int8: bool = False,
    instances: int = 1,
) -> Path:
    """Write the repository entry; returns ``OUT_DIR/<model>``. The entry is written to a
    temporary directory and renamed into place."""
    man = load_manifest(bundle)
    name = model_name or man.name
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise BundleError(f"{name!r}: not a usable Triton model name (a directory name)")
    model = MODEL_INT8 if int8 else MODEL
    if model not in man.files:
        raise BundleError(f"{man.root}: this bundle has no {model}")
    check_identity(man.path(model), model_metadata(man.path(model)), man.identity)
    target = Path(out_dir) / name
    with atomic_dir(target) as tmp:
        (tmp / "1").mkdir()
        shutil.copyfile(man.path(model), tmp / "1" / MODEL)
        (tmp / "config.pbtxt").write_text(
            config_pbtxt(name, man, man.contract.inputs, man.contract.outputs, instances), "utf-8"
        )
        # clients need the encoding and every head's labels (the output units' order)
        label_files = [man.data["vocab_files"][h] for h in man.contract.heads[1:]]
        for vocab in (man.vocab_files.words, man.vocab_files.chars, man.vocab_files.tags):
            shutil.copyfile(man.path(vocab), tmp / vocab)
        for vocab in label_files:
            shutil.copyfile(man.path(vocab), tmp / vocab)
    return target
