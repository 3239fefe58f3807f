"""postag runtime: tag text with an exported bundle using onnxruntime + numpy (no torch)."""

__version__ = "0.1.0"
