import pytest

from postag.tokenizer import sentences, span_f1, tokenize
from tests.conftest import EWT


def words(text: str) -> list[str]:
    return [t.text for t in tokenize(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I don't know.", ["I", "do", "n't", "know", "."]),
        (
            "We can't, won't, and shouldn't.",
            ["We", "ca", "n't", ",", "wo", "n't", ",", "and", "should", "n't", "."],
        ),
        (
            "I'm sure you're right; they'll see we've won. He'd go.",
            [
                "I",
                "'m",
                "sure",
                "you",
                "'re",
                "right",
                ";",
                "they",
                "'ll",
                "see",
                "we",
                "'ve",
                "won",
                ".",
                "He",
                "'d",
                "go",
                ".",
            ],
        ),
        ("John's dog’s bone", ["John", "'s", "dog", "’s", "bone"]),
        ("I cannot, I'm gonna", ["I", "can", "not", ",", "I", "'m", "gon", "na"]),
        ("a long-term, non-profit e-mail", ["a", "long", "-", "term", ",", "non-profit", "e-mail"]),
        ("and/or b/c", ["and", "/", "or", "b/c"]),
        (
            "Visit https://example.com/a?b=1, or mail jo.doe@mail.example.org.",
            [
                "Visit",
                "https://example.com/a?b=1",
                ",",
                "or",
                "mail",
                "jo.doe@mail.example.org",
                ".",
            ],
        ),
        (
            "It costs $1,000.50 (about 5%) at 12:30 on 3/4.",
            [
                "It",
                "costs",
                "$",
                "1,000.50",
                "(",
                "about",
                "5",
                "%",
                ")",
                "at",
                "12:30",
                "on",
                "3/4",
                ".",
            ],
        ),
        (
            "The U.S. and Mr. Smith, e.g. here...",
            ["The", "U.S.", "and", "Mr.", "Smith", ",", "e.g.", "here", "..."],
        ),
        ("Wow!!! Really?! :) ok", ["Wow", "!!!", "Really", "?!", ":)", "ok"]),
        ("Call 713-853-3242 now", ["Call", "713-853-3242", "now"]),
        ("see API.pdf", ["see", "API.pdf"]),
        ("Jennifer M. Anderson", ["Jennifer", "M.", "Anderson"]),
        # abbreviations that are also words keep the period only mid-sentence
        ("The cat sat.", ["The", "cat", "sat", "."]),
        ("It sat. Then", ["It", "sat", ".", "Then"]),
        ("the sun.", ["the", "sun", "."]),
        ("See you Sat. 12th", ["See", "you", "Sat.", "12th"]),
        ("5 min. later", ["5", "min.", "later"]),
        ("", []),
        ("   \n\t ", []),
    ],
)
def test_ewt_style_tokens(text, expected):
    assert words(text) == expected


def test_offsets_point_into_the_text():
    text = "Don't stop — café ☕ naïve 東京."
    for t in tokenize(text):
        assert text[t.start : t.end] == t.text


def test_sentence_splitting():
    text = (
        'Mr. Smith went to Washington D.C. on Jan. 5. He said "I can\'t go." '
        "Then he left!! OK?\n\nNo period here\nand the line goes on"
    )
    got = sentences(text)
    assert [s[0] for s in got] == ["Mr.", "He", "Then", "OK", "No"]
    assert got[1][-2:] == [".", '"']  # the closing quote stays with its sentence
    assert got[-1] == ["No", "period", "here", "and", "the", "line", "goes", "on"]


def test_other_scripts_emoji_and_long_words_do_not_crash():
    assert words("東京 は 👍🏽 ok") == ["東京", "は", "👍", "🏽", "ok"]
    assert words("x" * 500) == ["x" * 500]
    assert len(words("word " * 20000)) == 20000


def test_span_f1_counts():
    m = span_f1([("I don't know.", ["I", "do", "n't", "know", "."]), ("a-b", ["a-b"])])
    assert m["gold"] == 6 and m["predicted"] == 8
    assert m["precision"] == pytest.approx(5 / 8) and m["recall"] == pytest.approx(5 / 6)


@pytest.mark.skipif(not EWT.is_dir(), reason="../shared/data/ud-english-ewt is not present")
def test_f1_against_ewt_dev_tokenization():
    from postag.data import read_conllu

    dev = read_conllu(EWT / "en_ewt-ud-dev.conllu")
    m = span_f1((s.text, s.words) for s in dev)
    assert m["f1"] >= 0.97, m
