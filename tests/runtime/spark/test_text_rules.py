"""postag.spark.dataframe's cells follow the runtime's rules on hostile text, without a
JVM (tag_cells is what every Arrow batch goes through): a BOM, soft hyphens, bidi marks
and control characters are never words; a pre-tokenized token of format characters only
is dropped and edges are trimmed; a very long token array is tagged in windows."""

from __future__ import annotations

from postag.spark.dataframe import _clean_tokens, tag_cells
from postag.tagger import WINDOW_TOKENS


def test_raw_text_cells_never_tag_invisible_characters(tagger):
    cells = ["\ufeffAlice sa\u00adw \u202eParis\u202c.", "a\x00b \u200b", None]
    got = tag_cells(tagger, cells, pretokenized=False)
    assert got["tokens"] == [["Alice", "sa\u00adw", "Paris", "."], ["a", "b"], []]
    assert got["start"] == [[1, 7, 13, 19], [0, 2], []]
    assert got["end"] == [[6, 11, 18, 20], [1, 3], []]
    clean = tagger.tag(["Alice", "saw", "Paris", "."])
    for head in tagger.heads:
        assert got[head][0] == clean.labels(head), head  # looked up without the Cf


def test_pretokenized_cells_drop_invisible_tokens_and_trim_edges(tagger):
    assert _clean_tokens(["\ufeffAlice", " saw ", "\u200b", "\u202eParis\u202c", "", 7, "."]) == [
        "Alice",
        "saw",
        "Paris",
        ".",
    ]
    assert _clean_tokens(None) == [] and _clean_tokens(["\u200d", "\x00"]) == []
    got = tag_cells(tagger, [["\ufeffAlice", "\u200b", "saw", "Paris", "."], ["\u2066"]], True)
    assert got["tokens"] == [["Alice", "saw", "Paris", "."], []]


def test_a_long_token_array_is_tagged_in_windows(tagger, monkeypatch):
    shapes = []
    run = tagger.model.run
    monkeypatch.setattr(
        tagger.model, "run", lambda batch: shapes.append(batch.word_ids.shape) or run(batch)
    )
    row = ["the", "dog", "runs", "."] * 1_000
    got = tag_cells(tagger, [row], pretokenized=True)
    assert got["tokens"] == [row] and all(len(got[h][0]) == len(row) for h in tagger.heads)
    assert max(seq for _, seq in shapes) <= WINDOW_TOKENS
