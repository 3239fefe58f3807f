"""The trained character segmenter: tokens, sentences and multiword tokens from raw text."""
