"""Benchmarks that print numbers (never asserted): the backend suite (`postag bench`),
one backend in its own process (``python -m postag.export.bench.measure``), CRF decoding
(``python -m postag.export.bench.crf``) and PyTorch's cold start
(``python -m postag.export.bench.torch_tag``)."""
