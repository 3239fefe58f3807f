"""TorchScript export (``model.torchscript.pt``): the scripted model, loadable with
``torch.jit.load`` and no postag code; same inputs/outputs as the ONNX graph.

TorchScript is deprecated in torch 2.13; postag keeps it because users ask for it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from postag.export.train.model import TaggerModel


def export_torchscript(
    model: TaggerModel, path: str | Path, metadata: dict[str, str] | None = None
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = torch.jit.script(model.eval())
        extra = {k: v.encode() for k, v in (metadata or {}).items()}
        torch.jit.save(scripted, str(path), _extra_files=extra)


def load_torchscript(path: str | Path) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.load(str(path), map_location="cpu").eval()
