# postag — the front door. `make install` once (or let any target do it), then:
#   make export   train (if needed), export, verify → artifacts/<name>/
#   make test     the test suite
VENV   := .venv
PY     := $(VENV)/bin/python
POSTAG := $(VENV)/bin/postag
STAMP  := $(VENV)/.installed
BUNDLE := artifacts/postag-en-ewt
# Where pip also looks for torch (the export extra pins torch==2.13.0): PyTorch's CPU-only
# index, whose 2.13.0+cpu wins over the CUDA build of the default index. Another index
# (e.g. .../whl/cu126) works the same; empty = pip's own configuration only (a local
# wheel through PIP_FIND_LINKS, an offline machine): make install TORCH_INDEX=
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: install train seed crf export default-model verify eval parity loadtest bench tokenizer-bench spark-bench test lint docs clean clean-all

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[export,vectors,serve,spark,spacy,dev]" $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
	touch $(STAMP)

train: $(STAMP)
	$(POSTAG) train

seed: $(STAMP)
	$(POSTAG) train --preset seed

# The CRF variant (not the default: docs/design/crf.md): train, then export a
# verified bundle with Viterbi decoding in every graph → artifacts/postag-en-ewt-crf
crf: $(STAMP)
	test -f artifacts/checkpoints/crf.pt || $(POSTAG) train --crf upos,xpos --out artifacts/checkpoints/crf.pt
	$(POSTAG) export --checkpoint artifacts/checkpoints/crf.pt --out artifacts/postag-en-ewt-crf --name postag-en-ewt-crf

# Trains the tagger, then the segmenter (artifacts/segmenter/en-ewt.pt), where missing,
# one after the other: side by side they oversubscribe 2 cores (the tagger's epochs took
# 2.8x as long, measured), then exports and verifies.
export: $(STAMP)
	$(POSTAG) export --segmenter default

# The model shipped inside postag (runtime/models/en-ewt, checked in): the slim form of
# $(BUNDLE), measured and gated against it (postag slim; re-run after `make export`)
default-model: $(STAMP)
	$(POSTAG) slim $(BUNDLE) --out runtime/models/en-ewt

verify: $(STAMP)
	$(POSTAG) verify $(BUNDLE)

eval: $(STAMP)
	$(POSTAG) eval artifacts/checkpoints/default.pt test

# The parity suite against the real bundle, then every EWT test sentence → artifacts/parity/
parity: $(STAMP)
	POSTAG_PARITY_BUNDLE=$(BUNDLE) $(PY) -m pytest -q tests/parity
	$(POSTAG) parity $(BUNDLE) --split test --out artifacts/parity

# Bounded loopback load test of `postag serve` (1, 8, 50 clients), one hostile request
# always in flight beside them, /v1/health probed every 20 ms → artifacts/loadtest/
loadtest: $(STAMP)
	$(POSTAG) loadtest $(BUNDLE) --clients 1,8,50 --requests 1000 --time-cap 60 --hostile

# Tokenizer scaling on adversarial input (time, peak RSS, n vs 8n) → artifacts/bench/
tokenizer-bench: $(STAMP)
	$(PY) -m postag.tokenizer_bench --out artifacts/bench

# Backends side by side on EWT test: throughput, latency, memory, cold start, roofline
bench: $(STAMP)
	$(POSTAG) bench $(BUNDLE) --size-sweep 32,64,100,200 --out artifacts/bench

# Spark scaling: local[1] vs local[2] vs one runtime process, 200,000 rows → artifacts/spark/
spark-bench: $(STAMP)
	$(POSTAG) spark-bench $(BUNDLE) --sentences 200000 --out artifacts/spark

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check export runtime tests
	$(VENV)/bin/ruff format --check export runtime tests

# The documentation (docs/, mkdocs.yml) → build/site/; strict: a broken link or anchor fails
# (not --quiet: it hides the warnings, and strict then passes a broken link)
docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict

# Generated reports and bundles; checkpoints (minutes of training) only with `make clean-all`
clean:
	find artifacts -mindepth 1 -maxdepth 1 ! -name .gitkeep ! -name checkpoints -exec rm -rf {} +
	rm -rf .pytest_cache

clean-all: clean
	@printf 'Delete artifacts/checkpoints (trained models)? [y/N] ' && read ans && [ "$$ans" = y ]
	rm -rf artifacts/checkpoints
