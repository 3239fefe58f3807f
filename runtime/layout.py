"""The bundle's layout, declared once: file names and ONNX metadata keys.

Every writer (the export) and reader (runtime, Triton, bench, gate) names bundle files
and metadata keys through these constants, never through string literals.

    artifacts/postag-en-ewt/
      manifest.json            name, versions, contract, tags, files + sha256, identity,
                               the gate's checks and the sentences its accuracy checks scored
      model.onnx               ONNX fp32 (CONTRACT)            model.int8.onnx  int8
      model.fast.onnx          fast graph (FAST_CONTRACT)      model.fast.int8.onnx  int8
      model.fast.compact.onnx  a slim bundle's fast graph, compact storage (postag slim)
      char_forms.json          the fast graph's precomputed word forms
      model.torchscript.pt     TorchScript
      words.json chars.json tags.json    vocabularies and tag list (JSON lists)
      verification.json        the gate's fixed sample
      mwt.json                 multiword-token lexicon (a bundle whose splitter has one)
      segmenter.onnx segmenter.json   the trained segmenter (splitter "model" only)
      training_curve.png MODEL_CARD.md
"""

from __future__ import annotations

#: The format this postag writes. Format 2: the identity hash also covers the
#: vocabularies, the tag list file and the fast graph's form list (their sha256), and the
#: manifest records the sentences the export's accuracy checks scored (``gate``).
FORMAT_VERSION = 2
#: The formats this postag reads (format 1: identity over the manifest fields only).
READ_FORMATS = (1, 2)

MANIFEST = "manifest.json"
MODEL = "model.onnx"
MODEL_INT8 = "model.int8.onnx"
FAST_MODEL = "model.fast.onnx"
FAST_INT8 = "model.fast.int8.onnx"
#: A slim bundle's fast graph with compact storage (``postag slim``): lookup tables
#: uint8, other weights float16, cast to float32 when loaded; it computes in float32.
FAST_COMPACT = "model.fast.compact.onnx"
FAST_FORMS = "char_forms.json"
TORCHSCRIPT = "model.torchscript.pt"
WORDS = "words.json"
CHARS = "chars.json"
TAGS = "tags.json"
XPOS = "xpos.json"
FEATS = "feats.json"
VERIFICATION = "verification.json"
#: The splitter's files (manifest ``splitter``; bundles without it use the rule tokenizer):
#: the multiword-token lexicon, the trained segmenter's graph and its tables/settings.
MWT_LEXICON = "mwt.json"
SEGMENTER = "segmenter.onnx"
SEGMENTER_CONFIG = "segmenter.json"
#: How a bundle splits raw text (manifest ``splitter.kind``).
SPLITTER_KINDS = ("rules", "model")
CURVE = "training_curve.png"
MODEL_CARD = "MODEL_CARD.md"

#: Files every bundle must list in its manifest (and at least one of :data:`ONNX_GRAPHS`).
REQUIRED_FILES = (WORDS, CHARS, TAGS)
#: The model files a bundle may hold, in the order the CLI and the bench report them.
MODEL_FILES = (MODEL, FAST_MODEL, MODEL_INT8, FAST_INT8, FAST_COMPACT, TORCHSCRIPT)
#: The ONNX graphs the runtime can run, in the order it prefers them: float32 compute
#: first (``quantized`` not asked for), then int8. A full bundle has all but
#: FAST_COMPACT; a slim one (``postag slim``) only the one it ships.
FP32_GRAPHS = (FAST_MODEL, FAST_COMPACT, MODEL)
INT8_GRAPHS = (FAST_INT8, MODEL_INT8)
ONNX_GRAPHS = FP32_GRAPHS + INT8_GRAPHS
#: The graphs that follow the fast path's contract (``fast_path`` in the manifest).
FAST_GRAPHS = (FAST_MODEL, FAST_COMPACT, FAST_INT8)
#: Each graph's name in the manifest's ``evaluation`` (the gate's backend names).
GRAPH_BACKENDS = {
    MODEL: "onnx-fp32",
    MODEL_INT8: "onnx-int8",
    FAST_MODEL: "onnx-fast",
    FAST_INT8: "onnx-fast-int8",
    FAST_COMPACT: "onnx-fast-compact",
}

#: The vocabulary files every bundle has (manifest ``vocab_files``: role → file name).
VOCAB_FILES = {"words": WORDS, "chars": CHARS, "tags": TAGS}
#: Each output head's label list (UPOS's is ``tags``); a joint tagger's bundle lists the
#: XPOS and UFeats ones in ``vocab_files`` too, under the head's name.
LABEL_FILES = {"upos": TAGS, "xpos": XPOS, "feats": FEATS}

#: What each file is (model card, README).
FILES_DOC = {
    MWT_LEXICON: "multiword-token lexicon learned from the training treebank (JSON)",
    SEGMENTER: "the trained segmenter (tokens, sentences, multiword tokens): ONNX fp32",
    SEGMENTER_CONFIG: "the segmenter's character table, windows and lexicon (JSON)",
    MODEL: "ONNX fp32 graph",
    FAST_MODEL: "ONNX fp32 graph with known forms' character features precomputed "
    "(the runtime's default)",
    FAST_INT8: "the fast graph with int8 dynamic quantisation (what --int8 runs)",
    FAST_COMPACT: "the fast graph with compact storage: lookup tables uint8, other weights "
    "float16, cast to float32 when loaded (computes in float32)",
    FAST_FORMS: "word forms whose character features model.fast.onnx stores (JSON list)",
    MODEL_INT8: "ONNX with int8 dynamic quantisation (LSTM, MatMul, Gather)",
    TORCHSCRIPT: "TorchScript (torch.jit.load)",
    WORDS: "word vocabulary (JSON list, <pad>=0, <unk>=1)",
    CHARS: "character vocabulary (JSON list, <pad>=0, <unk>=1)",
    TAGS: "UPOS tag list (output unit order)",
    XPOS: "XPOS tag list (output unit order of xpos_log_probs)",
    FEATS: "UFeats labels: whole FEATS strings (output unit order of feats_log_probs)",
    VERIFICATION: "the sentences the verification gate runs",
    CURVE: "train loss and dev accuracy per epoch",
    MODEL_CARD: "model card",
}

# Metadata keys stored in every ONNX graph and the TorchScript file.
META_NAME = "postag.name"
META_VERSION = "postag.version"
META_IDENTITY = "postag.manifest_sha256"  # the manifest's identity hash
META_TABLE_ROWS = "postag.table_rows"  # fast graphs: rows of the feature table
META_TAGS = "postag.tags"  # Triton config: the tag list, space-separated
