"""Tag pre-tokenized sentences with a PyTorch checkpoint, one per line of standard input:
the PyTorch side of `postag bench`'s cold-start comparison (import torch, load, tag).

    echo "The cat sat ." | python -m postag.export.bench.torch_tag artifacts/checkpoints/default.pt
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    from postag.export.train.checkpoint import Checkpoint
    from postag.export.train.predict import predict_tags

    (path,) = argv if argv is not None else sys.argv[1:]
    ckpt = Checkpoint.load(path)
    model, encoder = ckpt.model(), ckpt.encoder()
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        tags = predict_tags(model, encoder, [words])[0]
        print(" ".join(f"{w}/{ckpt.tags.items[t]}" for w, t in zip(words, tags, strict=True)))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
