from pathlib import Path

import conllu
import pytest

from postag.data import parse_conllu, read_conllu, set_misc, write_conllu_with_tags
from postag.errors import CorpusError

MWT = """# sent_id = a-1
# text = I don't know.
1\tI\tI\tPRON\tPRP\t_\t4\tnsubj\t_\t_
2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t_\t_
3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_
4\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\t_
4.1\tit\tit\tPRON\tPRP\t_\t_\t_\t_\t_
5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_

# sent_id = a-2
1\tOk\tok\tINTJ\tUH\t_\t0\troot\t_\t_
"""


def test_keeps_syntactic_words_skips_ranges_and_empty_nodes():
    s1, s2 = parse_conllu(MWT)
    assert s1.words == ["I", "do", "n't", "know", "."]
    assert s1.tags == ["PRON", "AUX", "PART", "VERB", "PUNCT"]
    assert (s1.sent_id, s1.text) == ("a-1", "I don't know.")
    assert (s2.words, s2.tags, s2.text) == (["Ok"], ["INTJ"], None)


def test_file_with_bom_and_crlf(tmp_path: Path):
    p = tmp_path / "x.conllu"
    p.write_bytes(b"\xef\xbb\xbf" + MWT.replace("\n", "\r\n").encode())
    assert [s.words for s in read_conllu(p)][1] == ["Ok"]


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("1\tA\ta\tDET\n", 1, "expected 10 tab-separated columns, found 4"),
        (
            "# c\n1\tA\ta\tDET\t_\t_\t0\troot\t_\t_\nx\tB\tb\tNOUN\t_\t_\t1\tdep\t_\t_\n",
            3,
            "invalid token ID 'x'",
        ),
        ("1\tA\ta\t_\t_\t_\t0\troot\t_\t_\n", 1, "no UPOS"),
        (
            "1\tA\ta\tDET\t_\t_\t0\troot\t_\t_\n3\tB\tb\tNOUN\t_\t_\t1\tdep\t_\t_\n",
            2,
            "word ID 3, expected 2",
        ),
        ("\n\n# only a comment\n", 3, "sentence has no words"),
    ],
)
def test_malformed_input_names_file_and_line(tmp_path: Path, text: str, line: int, what: str):
    p = tmp_path / "bad.conllu"
    p.write_text(text)
    with pytest.raises(CorpusError) as err:
        read_conllu(p)
    assert f"bad.conllu:{line}:" in str(err.value)
    assert what in str(err.value)


def test_missing_empty_and_non_utf8_files(tmp_path: Path):
    with pytest.raises(CorpusError, match="no such file"):
        read_conllu(tmp_path / "nope.conllu")
    (tmp_path / "empty.conllu").write_text("")
    with pytest.raises(CorpusError, match="no sentences"):
        read_conllu(tmp_path / "empty.conllu")
    (tmp_path / "latin1.conllu").write_bytes(
        b"1\tA\ta\tDET\t_\t_\t0\troot\t_\t_\n\n1\tcaf\xe9\tx\tNOUN\t_\t_\t0\troot\t_\t_\n"
    )
    with pytest.raises(CorpusError, match=r"latin1.conllu:3: not valid UTF-8"):
        read_conllu(tmp_path / "latin1.conllu")
    with pytest.raises(CorpusError, match="not a file"):
        read_conllu(tmp_path)


def test_write_back_predicted_upos_keeps_everything_else():
    out = write_conllu_with_tags(MWT, [["X", "X", "X", "X", "X"], ["NOUN"]])
    parsed = conllu.parse(out)
    assert [t["upos"] for t in parsed[0] if isinstance(t["id"], int)] == ["X"] * 5
    assert parsed[0][1]["form"] == "don't"  # the range line survives untouched
    assert parsed[1][0]["upos"] == "NOUN"
    # every line kept; the last sentence now ends with its blank line, which MWT lacks
    assert out.count("\n") == MWT.count("\n") + 1 and out.endswith("_\n\n")


UNTAGGED = "1\tA\t_\t_\t_\t_\t_\t_\t_\t_\n2\tdog\t_\tNOUN\t_\t_\t_\t_\t_\t_\n"


def test_untagged_sentences_are_refused_only_where_gold_tags_are_needed(tmp_path: Path):
    p = tmp_path / "raw.conllu"
    p.write_text(MWT + "\n" + UNTAGGED)
    with pytest.raises(CorpusError, match=r"raw.conllu:14: word 1 has no UPOS"):
        read_conllu(p)  # training and evaluation: gold UPOS required, as before
    s1, s2, s3 = read_conllu(p, require_tags=False)
    assert s1.tags == ["PRON", "AUX", "PART", "VERB", "PUNCT"]  # gold where complete
    assert (s3.words, s3.tags) == (["A", "dog"], [])  # partly tagged: no gold
    with pytest.raises(CorpusError, match="expected 10 tab-separated columns"):
        parse_conllu("1\tA\t_\n", require_tags=False)  # still CoNLL-U


def test_misc_entries_are_kept_ours_replaced_or_appended():
    assert set_misc("_", {}) == "_"
    assert set_misc("_", {"UPOSProb": "0.5"}) == "UPOSProb=0.5"
    assert (
        set_misc("SpaceAfter=No|UPOSProb=0.1|Gloss=x", {"UPOSProb": "0.9", "UPOSTopK": "X:1"})
        == "SpaceAfter=No|UPOSProb=0.9|Gloss=x|UPOSTopK=X:1"
    )


def test_written_sentences_end_with_exactly_one_blank_line():
    src = "\n\n" + UNTAGGED + "\n\n\n\n" + UNTAGGED.rstrip("\n")  # odd blank lines, no end
    out = write_conllu_with_tags(src, [["DET", "NOUN"], ["X", "Y"]], misc=[[{}, {"P": "1"}]] * 2)
    one = "1\tA\t_\t{}\t_\t_\t_\t_\t_\t_\n2\tdog\t_\t{}\t_\t_\t_\t_\t_\tP=1\n\n"
    assert out == one.format("DET", "NOUN") + one.format("X", "Y")
    assert [t["upos"] for t in conllu.parse(out + out)[3]] == ["X", "Y"]  # concatenates
    with pytest.raises(ValueError, match="3 tags for a sentence of 2 words"):
        write_conllu_with_tags(UNTAGGED, [["A", "B", "C"]])
    with pytest.raises(ValueError, match="1 tag lists for 2 sentences"):
        write_conllu_with_tags(src, [["A", "B"]])
