"""postag runtime: tag text with an exported bundle using onnxruntime + numpy (no torch)."""

__version__ = "0.1.0"

from .errors import BundleError, PostagError  # noqa: E402
from .tagger import TaggedSentence, Tagger  # noqa: E402

__all__ = ["BundleError", "PostagError", "TaggedSentence", "Tagger", "__version__"]
