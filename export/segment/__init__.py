"""The trained character segmenter: tokens, sentences and multiword tokens from raw text.

* :mod:`.data`: a treebank's raw text with one label per character (torch-free);
* :mod:`.config`, :mod:`.model`: :class:`SegmenterConfig` and the BiLSTM
  :class:`Segmenter` (torch);
* :mod:`.trainer`: ``train_segmenter`` / ``load_segmenter`` (checkpoints);
* :mod:`.onnx_export`: ``segmenter.onnx`` + ``segmenter.json`` and the PyTorch-vs-ONNX
  parity check through the runtime's own path (``postag.segmentation.label_text``).

    python -m postag.export.segment train DATA_DIR --out seg.pt --epochs 25 --threads 1
    python -m postag.export.segment export seg.pt OUT_DIR --parity DEV.conllu
"""
