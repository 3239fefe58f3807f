"""Character offsets through `postag tag`: every word of text (and pre-tokenized) input has
its ``start``/``end`` in the whole input file, code points of the decoded text with line
ends counted as they are, across CR LF, paragraphs and the reader's chunk boundaries;
json shows them as ``start``/``end``, CoNLL-U as MISC ``TokenRange=start:end``."""

import io
import json

import conllu
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postag.cli.formats import decoded_lines, read_pretokenized, read_text, token_ranges
from postag.tokenizer import tokenize
from postag.tokenizer_bench import FAMILIES
from tests.runtime.spans import (
    EWT_TEST,
    NO_EWT,
    UNICODE,
    check_offsets,
    ewt_raw_text,
)
from tests.runtime.spans import invisible as is_blank  # what the reader may skip


def decoded(data: bytes, errors: str = "strict") -> str:
    """The text offsets index: the whole input decoded, no newline translation (with
    ``replace``, a NUL byte is a bad byte: U+FFFD)."""
    text = data.decode("utf-8-sig", errors=errors)
    return text.replace("\x00", "\ufffd") if errors == "replace" else text


def read(data: bytes, chunk_chars: int, errors: str = "strict") -> list[tuple]:
    units = read_text(decoded_lines(io.BytesIO(data), "x", errors), chunk_chars)
    return [s for u in units for s in zip(u.sentences, u.starts, u.ends, strict=True)]


#: A file of lines: any Unicode but NUL (refused: see test_tag), any line end, blank
#: lines between paragraphs, a BOM anywhere.
LINE_ENDS = st.sampled_from(["\n", "\r\n", "\r\r\n", "\n\n", "\r\n\r\n", " \n\t\n", "\ufeff\n"])
FILES = st.lists(st.tuples(UNICODE, LINE_ENDS), max_size=12).map(
    lambda parts: "".join(text + end for text, end in parts).replace("\x00", "")
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(FILES, st.booleans(), st.integers(1, 60))
def test_read_text_offsets_index_the_whole_input(text, bom, chunk_chars):
    """Whatever the text, line ends, paragraphs and chunk size (tiny chunks cut
    paragraphs at every sentence boundary): offsets index the decoded input."""
    data = ("\ufeff" if bom else "").encode() + text.encode()
    check_offsets(decoded(data), read(data, chunk_chars), is_blank)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=200), st.integers(1, 40))
def test_offsets_count_each_replacement_character_once(data, chunk_chars):
    """--encoding-errors replace: invalid bytes are U+FFFD, counted as Python's decoder
    gives them for the whole input (one line at a time gives the same)."""
    check_offsets(decoded(data, "replace"), read(data, chunk_chars, "replace"), is_blank)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(FILES)
def test_pretokenized_offsets_index_the_whole_input(text):
    data = text.encode()
    units = read_pretokenized(decoded_lines(io.BytesIO(data), "x", "strict"), 3)
    got = [s for u in units for s in zip(u.sentences, u.starts, u.ends, strict=True)]
    check_offsets(decoded(data), got, is_blank)


def test_lines_given_without_their_ends_count_one_each():
    """read_text as a library: lines without line ends are one "\\n" apart, as joined."""
    lines = ["Bob runs.", "", "She saw", "it."]
    units = list(read_text(iter(enumerate(lines, 1)), 100))
    got = [s for u in units for s in zip(u.sentences, u.starts, u.ends, strict=True)]
    assert check_offsets("\n".join(lines), got) == 7
    assert [u.texts for u in units] == [["Bob runs."], ["She saw it."]]


@pytest.mark.skipif(not EWT_TEST.is_file(), reason=NO_EWT)
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_ewt_raw_text_through_the_reader(newline):
    text = ewt_raw_text(newline)
    data = text.encode()
    got = read(data, 2_000)  # ~64 chunks
    assert check_offsets(text, got, is_blank) > 20_000


def json_spans(stdout: str) -> list[tuple]:
    return [(o["words"], o["start"], o["end"]) for o in map(json.loads, stdout.splitlines())]


def test_cli_json_and_conllu_offsets_cross_chunks_crlf_and_paragraphs(run_tag, tmp_path):
    """A file with a BOM, CR LF line ends, paragraphs, decomposed accents, a soft hyphen
    and bidi controls, big enough that --chunk 1 (100-character chunks) cuts its
    paragraphs many times."""
    line = "Line {} of cafe\u0301 no. {}. It's 👨\u200d👩\u200d👧 co\u00adop \u202eRTL\u202c fine!"
    paras = ["\r\n".join(line.format(i, k) for i in range(9)) for k in range(8)]
    text = "\r\n\r\n".join(paras) + "\r\n"
    path = tmp_path / "in.txt"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    with open(path, encoding="utf-8-sig", newline="") as f:  # what offsets index
        assert f.read() == text
    res = run_tag(["--format", "json", "--chunk", "1", str(path)])
    assert res.exit_code == 0, res.output
    spans = json_spans(res.stdout)
    assert check_offsets(text, spans) == len(tokenize(text)) > 8 * 9 * 10
    assert spans[0][1][:3] == [0, 5, 7]
    # the same as one chunk: chunks change nothing
    assert json_spans(run_tag(["--format", "json", str(path)]).stdout) == spans
    res = run_tag(["--format", "conllu", "--chunk", "1", "--probs", str(path)])
    assert res.exit_code == 0, res.output
    tokens = [t for s in conllu.parse(res.stdout) for t in s]
    ranges = [tuple(map(int, t["misc"]["TokenRange"].split(":"))) for t in tokens]
    assert ranges == [pair for _, starts, ends in spans for pair in zip(starts, ends, strict=True)]
    assert all("UPOSProb" in t["misc"] for t in tokens)  # merged with the other entries
    # SpaceAfter=No exactly where the next word starts right at the end of this one
    for t, (_, b), (a, _) in zip(tokens, ranges, [*ranges[1:], (None, None)], strict=True):
        assert (t["misc"].get("SpaceAfter") == "No") == (a == b)


def test_cli_offsets_restart_with_each_file_and_stdin(run_tag, tmp_path):
    one, two = tmp_path / "one.txt", tmp_path / "two.txt"
    one.write_bytes(b"Hi there.\r\n")
    two.write_bytes("\u00e9t\u00e9 🇺🇸 ok.\n".encode())
    res = run_tag(["--format", "json", str(one), str(two)])
    assert [(s, e) for _, s, e in json_spans(res.stdout)] == [
        ([0, 3, 8], [2, 8, 9]),
        ([0, 4, 7, 9], [3, 6, 9, 10]),
    ]
    res = run_tag(["--format", "json"], b"A\r\nB.\r\n\r\nC.")
    want = [([0, 3, 4], [1, 4, 5]), ([9, 10], [10, 11])]
    assert [(s, e) for _, s, e in json_spans(res.stdout)] == want


def test_cli_pretokenized_input_has_offsets_in_the_file(run_tag):
    data = "The  cat\tsat .\r\n\r\nOK\n"
    res = run_tag(["--pretokenized", "--format", "json"], data.encode())
    assert check_offsets(data, json_spans(res.stdout)) == 5
    res = run_tag(["--pretokenized", "--format", "conllu"], data.encode())
    assert [t["misc"]["TokenRange"] for s in conllu.parse(res.stdout) for t in s] == [
        "0:3", "5:8", "9:12", "13:14", "18:20"
    ]  # fmt: skip


#: CoNLL-U as UDPipe writes it: TokenRange on each token, on the multiword token's line
#: for its words ("don't" = do + n't).
RANGED = (
    "# text = I don't.\n"
    "1\tI\t_\t_\t_\t_\t_\t_\t_\tTokenRange=0:1\n"
    "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\tTokenRange=2:7\n"
    "2\tdo\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "3\tn't\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "4\t.\t_\t_\t_\t_\t_\t_\t_\tSpaceAfter=No|TokenRange=7:8\n"
    "\n"
    "1\tNo\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "2\tranges\t_\t_\t_\t_\t_\t_\t_\tTokenRange=12:18\n"
    "\n"
)


def test_conllu_input_keeps_its_token_ranges(run_tag):
    res = run_tag(["--input-format", "conllu", "--format", "conllu", "--probs"], RANGED.encode())
    assert res.exit_code == 0, res.output
    first, second = conllu.parse(res.stdout)
    assert [t["misc"] and t["misc"].get("TokenRange") for t in first] == [
        "0:1",
        "2:7",
        None,
        None,
        "7:8",
    ]  # fmt: skip: kept where they were, none added to the words of "don't"
    assert first[4]["misc"]["SpaceAfter"] == "No" and "UPOSProb" in first[4]["misc"]
    assert "TokenRange" not in second[0]["misc"]
    res = run_tag(["--input-format", "conllu", "--format", "json"], RANGED.encode())
    objs = [json.loads(line) for line in res.stdout.splitlines()]
    assert (objs[0]["start"], objs[0]["end"]) == ([0, 2, 2, 7], [1, 7, 7, 8])
    assert "start" not in objs[1]  # not every word has a range: none


def test_token_ranges_refuses_what_it_cannot_read():
    word = "1\tHi\t_\t_\t_\t_\t_\t_\t_\t{}"
    assert token_ranges([word.format("TokenRange=3:5")]) == ([3], [5])
    assert token_ranges([word.format("Foo=1|TokenRange=3:5|Bar=2")]) == ([3], [5])
    for misc in ("_", "TokenRange=3", "TokenRange=a:b", "TokenRange=-1:2"):
        assert token_ranges([word.format(misc)]) is None, misc
    assert token_ranges(["# only a comment"]) is None


def test_a_giant_line_keeps_its_offsets(run_tag):
    """One 60,000-character line (no paragraph break) read in 100-character chunks."""
    line = FAMILIES["ordinary"](60_000)
    text = f"{line}\r\n{line}"
    res = run_tag(["--format", "json", "--chunk", "1"], text.encode())
    assert res.exit_code == 0, res.output
    assert check_offsets(text, json_spans(res.stdout)) > 20_000
