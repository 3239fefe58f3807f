"""Write an NVIDIA Triton model repository from a bundle (`postag export-triton`).

    OUT_DIR/<model>/config.pbtxt      names, dtypes and dims from the bundle's I/O contract
    OUT_DIR/<model>/1/model.onnx      the bundle's ONNX model, byte for byte

Every dynamic axis (batch, sequence, word length) is ``-1``; ``max_batch_size: 0`` because
the batch axis is part of the declared dims (the model takes whole padded batches).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .bundle import load_manifest
from .contract import DYNAMIC_AXES, TensorSpec
from .files import atomic_dir

TRITON_DTYPES = {
    "int64": "TYPE_INT64",
    "int32": "TYPE_INT32",
    "float32": "TYPE_FP32",
    "float16": "TYPE_FP16",
}


def _tensor(spec: TensorSpec, n_tags: int) -> str:
    dims = [-1 if a in DYNAMIC_AXES else n_tags for a in spec.axes]
    return (
        f'  {{\n    name: "{spec.name}"\n    data_type: {TRITON_DTYPES[spec.dtype]}\n'
        f"    dims: [ {', '.join(str(d) for d in dims)} ]\n  }}"
    )


def config_pbtxt(
    name: str,
    manifest: dict,
    contract_inputs: tuple[TensorSpec, ...],
    contract_outputs: tuple[TensorSpec, ...],
    instances: int = 1,
    kind: str = "KIND_AUTO",
) -> str:
    n_tags = len(manifest["tags"])
    ins = ",\n".join(_tensor(s, n_tags) for s in contract_inputs)
    outs = ",\n".join(_tensor(s, n_tags) for s in contract_outputs)
    return (
        f'name: "{name}"\nbackend: "onnxruntime"\nmax_batch_size: 0\n'
        f"input [\n{ins}\n]\noutput [\n{outs}\n]\n"
        f"instance_group [\n  {{\n    count: {instances}\n    kind: {kind}\n  }}\n]\n"
        f'parameters {{\n  key: "postag.manifest_sha256"\n'
        f'  value: {{ string_value: "{manifest.get("manifest_sha256", "")}" }}\n}}\n'
        f'parameters {{\n  key: "postag.tags"\n'
        f'  value: {{ string_value: "{" ".join(manifest["tags"])}" }}\n}}\n'
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
    contract = man.contract
    target = Path(out_dir) / name
    with atomic_dir(target) as tmp:
        (tmp / "1").mkdir()
        shutil.copyfile(
            man.path("model.int8.onnx" if int8 else "model.onnx"), tmp / "1" / "model.onnx"
        )
        (tmp / "config.pbtxt").write_text(
            config_pbtxt(name, man.data, contract.inputs, contract.outputs, instances), "utf-8"
        )
        for vocab in ("words.json", "chars.json", "tags.json"):  # clients need the encoding
            shutil.copyfile(man.path(vocab), tmp / vocab)
    return target
