"""Tests for embedlens.data: loaders, bad input, the built-in corpora and the split."""

from __future__ import annotations

import json
import random
import re
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from embedlens import corpora
from embedlens.data import (
    BUILTIN_CORPORA,
    Corpus,
    load_corpus,
    load_texts,
    split_indices,
    train_test_split,
)

WORDNET_DATA = Path("/usr/share/wordnet/data.noun")
PII_FIELDS = {
    "name",
    "email",
    "phone",
    "address",
    "dob",
    "city",
    "state",
    "condition",
    "age_band",
    "template",
}


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode("utf-8"))
    return path


def write_jsonl(path: Path, rows: Sequence[object]) -> Path:
    return write(path, "".join(json.dumps(r) + "\n" for r in rows))


# ---------------------------------------------------------------------------------------------
# lists


def test_list_and_tuple_are_returned_unchanged() -> None:
    texts = ["  leading space", "inner\nnewline", "trailing  "]
    assert load_texts(texts) == texts
    assert load_texts(tuple(texts)) == texts
    assert load_texts(np.array(["a", "b"])) == ["a", "b"]
    assert all(type(t) is str for t in load_texts(np.array(["a", "b"])))


def test_empty_list_raises() -> None:
    with pytest.raises(ValueError, match="at least one text, got an empty list"):
        load_texts([])


def test_non_string_element_names_index_and_type() -> None:
    with pytest.raises(TypeError, match=r"element 2 is int"):
        load_texts(["a", "b", 3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"element 0 is NoneType"):
        load_texts([None])  # type: ignore[list-item]


@pytest.mark.parametrize("bad", [42, b"bytes", {"text": "a"}])
def test_unsupported_source_type_raises(bad: object) -> None:
    with pytest.raises(TypeError, match="list of strings, a file path or a built-in corpus"):
        load_texts(bad)  # type: ignore[arg-type]


def test_column_with_a_list_is_rejected() -> None:
    with pytest.raises(ValueError, match="drop them"):
        load_texts(["a"], column="text")


# ---------------------------------------------------------------------------------------------
# .txt


def test_txt_strips_only_the_newline_and_skips_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "t.txt", "first line\n\n   \n  indented\ttab  \r\nlast without newline")
    assert load_texts(path) == ["first line", "  indented\ttab  ", "last without newline"]
    assert load_texts(str(path)) == load_texts(path)


def test_txt_keeps_other_line_breaking_characters(tmp_path: Path) -> None:
    path = write(tmp_path / "t.txt", "a\x0cb\u2028c\nnext\n")
    assert load_texts(path) == ["a\x0cb\u2028c", "next"]


def test_txt_utf8_bom_is_dropped(tmp_path: Path) -> None:
    path = write(tmp_path / "t.txt", b"\xef\xbb\xbfcaf\xc3\xa9\n")
    assert load_texts(path) == ["café"]


def test_txt_with_only_blank_lines_raises(tmp_path: Path) -> None:
    path = write(tmp_path / "blank.txt", "\n   \n\t\n")
    with pytest.raises(ValueError, match=r"non-blank text in .*blank\.txt"):
        load_texts(path)


def test_txt_with_binary_bytes_raises(tmp_path: Path) -> None:
    path = write(tmp_path / "bin.txt", b"PK\x03\x04\x00\x00binary")
    with pytest.raises(ValueError, match=r"bin\.txt does not look like \.txt text.*binary"):
        load_texts(path)


def test_txt_not_utf8_raises(tmp_path: Path) -> None:
    path = write(tmp_path / "latin.txt", "caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin\.txt is not UTF-8 text"):
        load_texts(path)


def test_txt_rejects_column(tmp_path: Path) -> None:
    path = write(tmp_path / "t.txt", "a\n")
    with pytest.raises(ValueError, match="drop column="):
        load_texts(path, column="text")


# ---------------------------------------------------------------------------------------------
# .jsonl


def test_jsonl_infers_preferred_column(tmp_path: Path) -> None:
    rows = [
        {"id": "1", "body": "b1", "sentence": "s1"},
        {"id": "2", "body": "b2", "sentence": "s2"},
    ]
    path = write_jsonl(tmp_path / "d.jsonl", rows)
    assert load_texts(path) == ["s1", "s2"]  # "sentence" comes before "body"
    assert load_texts(path, column="body") == ["b1", "b2"]


def test_jsonl_infers_only_string_field(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "d.jsonl", [{"id": 1, "review": "good"}, {"id": 2, "review": "bad"}]
    )
    assert load_texts(path) == ["good", "bad"]


def test_jsonl_of_strings_and_blank_values(tmp_path: Path) -> None:
    path = write(tmp_path / "s.jsonl", '"one"\n\n"two\\nlines"\n"  "\n')
    assert load_texts(path) == ["one", "two\nlines"]
    rows = [{"text": "a"}, {"text": None}, {"text": " "}, {"text": "b"}]
    assert load_texts(write_jsonl(tmp_path / "n.jsonl", rows)) == ["a", "b"]


def test_jsonl_invalid_line_is_named(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.jsonl", '{"text": "a"}\n{"text": "b"}\n{"text": oops}\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl is not valid JSON Lines: line 3"):
        load_texts(path)


def test_jsonl_ambiguous_columns_ask_for_column(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [{"title": "t", "summary": "s"}])
    with pytest.raises(ValueError, match=r"found columns \['title', 'summary'\].*column="):
        load_texts(path)


def test_jsonl_missing_field_and_wrong_types(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "m.jsonl", [{"text": "a"}, {"other": "b"}])
    with pytest.raises(ValueError, match=r"line 2 has no field 'text'"):
        load_texts(path)
    path = write_jsonl(tmp_path / "num.jsonl", [{"text": "a"}, {"text": 5}])
    with pytest.raises(ValueError, match=r"line 2: expected field 'text' to be a string, got int"):
        load_texts(path)
    path = write_jsonl(tmp_path / "list.jsonl", [[1, 2]])
    with pytest.raises(ValueError, match=r"line 1: expected a JSON object or string, got list"):
        load_texts(path)


# ---------------------------------------------------------------------------------------------
# .csv


def test_csv_infers_text_column_case_insensitively(tmp_path: Path) -> None:
    path = write(
        tmp_path / "d.csv", 'id,Text,score\n1,"hello, world",0.5\n2,"two\nlines",1\n3,,2\n'
    )
    assert load_texts(path) == ["hello, world", "two\nlines"]


def test_csv_infers_only_non_numeric_column_and_accepts_explicit(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "id,review,label\n1,great film,1\n2,dull film,0\n")
    assert load_texts(path) == ["great film", "dull film"]
    assert load_texts(path, column="label") == ["1", "0"]


def test_csv_without_text_column_names_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "nums.csv", "id,score\n1,0.5\n2,0.7\n")
    with pytest.raises(ValueError, match=r"found columns \['id', 'score'\].*Pass column="):
        load_texts(path)
    path = write(tmp_path / "two.csv", "title,summary\nt,s\n")
    with pytest.raises(ValueError, match=r"several text-like columns \['title', 'summary'\]"):
        load_texts(path)


def test_csv_unknown_explicit_column(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "id,text\n1,a\n")
    with pytest.raises(ValueError, match=r"no column 'body': found columns \['id', 'text'\]"):
        load_texts(path, column="body")


def test_csv_with_binary_bytes_and_header_only(tmp_path: Path) -> None:
    path = write(tmp_path / "bin.csv", b"text\n\x00\x01\x02\n")
    with pytest.raises(ValueError, match=r"bin\.csv does not look like \.csv text"):
        load_texts(path)
    path = write(tmp_path / "head.csv", "text\n")
    with pytest.raises(ValueError, match=r"non-blank text in .*head\.csv"):
        load_texts(path)


# ---------------------------------------------------------------------------------------------
# .parquet


def test_parquet_infers_and_accepts_explicit_column(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"id": [1, 2, 3], "passage": ["p1", None, "p3"], "tag": ["x", "y", "z"]})
    pq.write_table(table, tmp_path / "d.parquet")
    assert load_texts(tmp_path / "d.parquet") == ["p1", "p3"]
    assert load_texts(tmp_path / "d.parquet", column="tag") == ["x", "y", "z"]
    pq.write_table(pa.table({"id": [1], "note": ["only string"]}), tmp_path / "o.parquet")
    assert load_texts(tmp_path / "o.parquet") == ["only string"]


def test_parquet_bad_inputs(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    fake = write(tmp_path / "fake.parquet", "text\nnot parquet at all\n")
    with pytest.raises(ValueError, match=r"fake\.parquet is not a Parquet file"):
        load_texts(fake)
    pq.write_table(pa.table({"a": ["x"], "b": ["y"]}), tmp_path / "ab.parquet")
    with pytest.raises(ValueError, match=r"found columns \['a', 'b'\].*column="):
        load_texts(tmp_path / "ab.parquet")
    with pytest.raises(ValueError, match=r"no column 'text'"):
        load_texts(tmp_path / "ab.parquet", column="text")
    pq.write_table(pa.table({"text": [1, 2]}), tmp_path / "ints.parquet")
    with pytest.raises(ValueError, match=r"column 'text' to hold strings, got int"):
        load_texts(tmp_path / "ints.parquet")


# ---------------------------------------------------------------------------------------------
# paths, names and limit


def test_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"No such file: .*nope\.csv"):
        load_texts(tmp_path / "nope.csv")
    with pytest.raises(FileNotFoundError, match="No such file"):
        load_texts(str(tmp_path / "nope.txt"))


def test_unknown_extension_lists_supported(tmp_path: Path) -> None:
    path = write(tmp_path / "d.xlsx", "text\n")
    with pytest.raises(ValueError, match=r"unsupported extension '\.xlsx'.*\.txt, \.jsonl, \.csv"):
        load_texts(path)


def test_directory_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError, match="is a directory"):
        load_texts(tmp_path)


def test_unknown_builtin_lists_valid_names() -> None:
    with pytest.raises(ValueError, match=r"Unknown built-in corpus 'wordnett'.*'pii'.*'wordnet'"):
        load_texts("wordnett")


def test_limit_keeps_first_n(tmp_path: Path) -> None:
    path = write(tmp_path / "t.txt", "a\nb\n\nc\nd\n")
    assert load_texts(path, limit=3) == ["a", "b", "c"]
    assert load_texts(path, limit=99) == ["a", "b", "c", "d"]
    assert load_texts(["x", "y"], limit=1) == ["x"]
    with pytest.raises(ValueError, match="limit must be a positive int"):
        load_texts(path, limit=0)
    with pytest.raises(TypeError, match="limit must be a positive int"):
        load_texts(path, limit=True)


def test_n_only_for_generated_corpora(tmp_path: Path) -> None:
    path = write(tmp_path / "t.txt", "a\n")
    with pytest.raises(ValueError, match="use limit="):
        load_corpus(path, n=5)


# ---------------------------------------------------------------------------------------------
# Corpus


def test_corpus_for_files_and_lists(tmp_path: Path) -> None:
    path = write(tmp_path / "t.txt", "a\nb\n")
    corpus = load_corpus(path)
    assert (corpus.name, corpus.texts, corpus.fields, corpus.labels) == (
        "t.txt",
        ["a", "b"],
        None,
        {},
    )
    assert len(corpus) == 2
    assert load_texts(path) == corpus.texts


def test_corpus_checks_alignment_and_subsets() -> None:
    with pytest.raises(ValueError, match="label column 'y' has 1 values"):
        Corpus("c", ["a", "b"], labels={"y": ["1"]})
    with pytest.raises(ValueError, match="2 texts but 3 field records"):
        Corpus("c", ["a", "b"], fields=[{}, {}, {}])
    corpus = Corpus(
        "c",
        ["a", "b", "c"],
        fields=[{"k": "A"}, {"k": "B"}, {"k": "C"}],
        labels={"y": ["0", "1", "2"]},
    )
    sub = corpus.subset([2, 0])
    assert sub.texts == ["c", "a"] and sub.labels == {"y": ["2", "0"]}
    assert sub.fields == [{"k": "C"}, {"k": "A"}]


# ---------------------------------------------------------------------------------------------
# pii


@pytest.fixture(scope="module")
def pii() -> Corpus:
    return load_corpus("pii")


def test_pii_shape_fields_and_labels(pii: Corpus) -> None:
    assert len(pii) == 1000 and pii.name == "pii"
    assert pii.fields is not None and len(pii.fields) == 1000
    assert all(set(f) == PII_FIELDS for f in pii.fields)
    assert set(pii.labels) == {"condition", "state", "age_band"}
    assert pii.labels["condition"] == [f["condition"] for f in pii.fields]
    assert set(pii.labels["condition"]) <= set(corpora.CONDITIONS)
    assert len(set(pii.labels["condition"])) == len(corpora.CONDITIONS)
    assert len(set(pii.labels["state"])) > 30


def test_pii_texts_contain_their_ground_truth(pii: Corpus) -> None:
    assert pii.fields is not None
    for text, f in zip(pii.texts, pii.fields, strict=True):
        for key in ("name", "email", "phone", "address", "city", "state", "dob", "condition"):
            assert f[key] in text, (key, f[key], text)
        assert "x" not in f["phone"]  # extensions are dropped
        assert len(text.split()) < 60


def test_pii_dob_and_age_band_are_consistent(pii: Corpus) -> None:
    assert pii.fields is not None
    ref = corpora.REFERENCE_DATE
    for f in pii.fields:
        dob = date.fromisoformat(f["dob"])
        age = ref.year - dob.year - ((ref.month, ref.day) < (dob.month, dob.day))
        low, high = (int(x) for x in f["age_band"].split("-"))
        assert low <= age <= high and high - low == 9 and 20 <= age <= 89


def test_pii_is_varied_and_emails_often_come_from_names(pii: Corpus) -> None:
    assert pii.fields is not None
    templates = Counter(f["template"] for f in pii.fields)
    assert set(templates) == set(corpora.PII_TEMPLATES)
    assert min(templates.values()) > 60  # 1000 records over 8 templates
    derived = sum(
        re.sub(r"[^a-z]", "", f["name"].split()[-1].lower()) in f["email"] for f in pii.fields
    )
    assert 0.6 < derived / len(pii) < 0.95
    assert len(set(pii.texts)) == len(pii)
    assert len({f["email"] for f in pii.fields}) > 900


def test_pii_is_deterministic_and_seeded(pii: Corpus) -> None:
    random.seed(1234)  # a state that no seed the generator could pass would recreate
    np.random.seed(1234)
    state_py, state_np = random.getstate(), np.random.get_state(legacy=False)
    again = load_corpus("pii", seed=0)
    assert random.getstate() == state_py
    state_np_after = np.random.get_state(legacy=False)
    assert state_np_after["state"]["pos"] == state_np["state"]["pos"]
    assert np.array_equal(state_np_after["state"]["key"], state_np["state"]["key"])
    assert again.texts == pii.texts and again.fields == pii.fields
    other = load_corpus("pii", seed=1, n=50)
    assert other.texts != pii.texts[:50]
    assert sum(a == b for a, b in zip(other.texts, pii.texts, strict=False)) == 0


def test_pii_prefix_is_stable_under_n_and_limit(pii: Corpus) -> None:
    assert load_corpus("pii", n=20).texts == pii.texts[:20]
    small = load_corpus("pii", limit=7)
    assert small.texts == pii.texts[:7] and small.fields == pii.fields[:7]  # type: ignore[index]
    assert load_texts("pii", limit=3) == pii.texts[:3]


def test_pii_without_faker_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "faker", None)
    with pytest.raises(ImportError, match=r'pip install "embedlens\[audit\]"'):
        load_corpus("pii", n=2)


def test_builtin_registry_lists_the_corpora() -> None:
    assert {"pii", "wordnet", "wordnet-examples", "wordnet-glosses"} <= set(BUILTIN_CORPORA)
    with pytest.raises(ValueError, match="drop column="):
        load_corpus("pii", column="text")


# ---------------------------------------------------------------------------------------------
# wordnet

SYNTHETIC_WORDNET = "".join(
    line + "  \n"  # the real files end every line with two spaces
    for line in (
        "  1 This software and database is being provided to you, the LICENSEE, by",
        '  2 THIS SOFTWARE IS PROVIDED "AS IS" AND PRINCETON',
        "00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 | that which exists; "
        '"the entity was real"; "a second example" - Someone',
        "00002137 03 n 02 thing 0 000 | a separate entity",
        '00002452 03 n 01 cat 0 000 | a small feline; "the cat sat"; "the entity was real"',
    )
)


def make_wordnet(root: Path, noun: str = SYNTHETIC_WORDNET) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write(root / "data.noun", noun)
    write(
        root / "data.verb", '  1 header\n00000001 29 v 01 run 0 000 | move fast; "she ran home"\n'
    )
    write(root / "data.adj", "")
    write(root / "data.adv", "")
    return root


def test_wordnet_parser_on_synthetic_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBEDLENS_WORDNET_DIR", str(make_wordnet(tmp_path / "wn")))
    examples = load_texts("wordnet-examples")
    assert examples == ["the entity was real", "a second example", "the cat sat", "she ran home"]
    glosses = load_texts("wordnet-glosses")
    assert glosses == ["that which exists", "a separate entity", "a small feline", "move fast"]
    full = load_corpus("wordnet")
    assert full.texts == examples + glosses
    assert full.labels["kind"] == ["example"] * 4 + ["definition"] * 4
    assert full.labels["pos"][3] == "verb"
    assert corpora.load_wordnet("examples", directory=tmp_path / "wn").texts == examples


def test_wordnet_missing_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMBEDLENS_WORDNET_DIR", str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError) as info:
        load_texts("wordnet")
    assert "install Debian's wordnet-base (`sudo apt-get install wordnet-base`)" in str(info.value)
    with pytest.raises(ValueError, match="part must be"):
        corpora.load_wordnet("nouns", directory=tmp_path)  # type: ignore[arg-type]


def test_wordnet_system_data(monkeypatch: pytest.MonkeyPatch) -> None:
    if not WORDNET_DATA.is_file():
        pytest.skip(
            "Debian's wordnet-base is not installed (/usr/share/wordnet/data.noun missing): "
            "sudo apt-get install wordnet-base"
        )
    monkeypatch.delenv("EMBEDLENS_WORDNET_DIR", raising=False)
    examples = load_texts("wordnet-examples")
    glosses = load_texts("wordnet-glosses")
    assert 40_000 < len(examples) < 60_000
    assert 100_000 < len(glosses) < 140_000
    assert len(set(examples)) == len(examples)
    assert "She choked with emotion when she spoke about her deceased husband" in examples
    assert glosses[0].startswith("that which is perceived or known or inferred")
    assert not any(t.startswith(('"', ";")) or t.endswith(('"', ";")) for t in examples)
    full = load_corpus("wordnet", limit=5)
    assert full.texts == examples[:5]


# ---------------------------------------------------------------------------------------------
# split


TEXTS = [f"record number {i}" for i in range(4000)]


def test_split_is_deterministic_disjoint_and_roughly_sized() -> None:
    train_idx, test_idx = split_indices(TEXTS, test_size=0.2, seed=3)
    assert train_idx.dtype == np.int64 and test_idx.dtype == np.int64
    assert np.array_equal(np.sort(np.concatenate([train_idx, test_idx])), np.arange(len(TEXTS)))
    assert 0.17 < len(test_idx) / len(TEXTS) < 0.23
    again = split_indices(TEXTS, test_size=0.2, seed=3)
    assert np.array_equal(again[1], test_idx)
    other = split_indices(TEXTS, test_size=0.2, seed=4)
    assert not np.array_equal(other[1], test_idx)
    train, test = train_test_split(TEXTS, test_size=0.2, seed=3)
    assert test == [TEXTS[i] for i in test_idx] and set(train).isdisjoint(test)


def test_split_keeps_duplicates_together_and_ignores_order() -> None:
    texts = TEXTS[:500] * 3
    train, test = train_test_split(texts, test_size=0.3)
    assert set(train).isdisjoint(test)
    assert all(test.count(t) == 3 for t in set(test))
    shuffled = list(texts)
    random.Random(0).shuffle(shuffled)
    assert set(train_test_split(shuffled, test_size=0.3)[1]) == set(test)
    grown = train_test_split(TEXTS, test_size=0.3)[1]
    assert set(grown) & set(TEXTS[:500]) == set(test)


@pytest.mark.parametrize("size", [0, 1, 1.5, -0.1])
def test_split_rejects_bad_test_size(size: float) -> None:
    with pytest.raises(ValueError, match=r"test_size must be in \(0, 1\)"):
        split_indices(TEXTS, test_size=size)


def test_split_bad_inputs() -> None:
    with pytest.raises(TypeError, match="test_size must be a float"):
        split_indices(TEXTS, test_size=True)
    with pytest.raises(TypeError, match="test_size must be a float"):
        split_indices(TEXTS, test_size="0.1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty list"):
        train_test_split([])
    with pytest.raises(ValueError, match=r"left the (test|train) side empty"):
        train_test_split(["same"] * 10)


def test_corpus_split_keeps_records_aligned(pii: Corpus) -> None:
    train, test = pii.split(test_size=0.25, seed=1)
    assert len(train) + len(test) == len(pii)
    assert test.fields is not None
    for text, f, cond in zip(test.texts, test.fields, test.labels["condition"], strict=True):
        assert f["name"] in text and f["condition"] == cond


def test_count_longer_counts_texts_over_the_token_limit():
    from embedlens.tokens import count_longer
    from tiny_models import tiny_tokenizer

    tok = tiny_tokenizer()  # one token per character
    texts = ["abc", "abcd", "", "abcdefgh"] * 300  # more than one 1,024-text chunk
    assert count_longer(tok, texts, 3) == 2 * 300
    assert count_longer(tok, texts, 8) == 0 and count_longer(tok, [], 1) == 0
