"""Other ways of writing a query's words: numbers, closed compounds, British/American."""

from __future__ import annotations

import datetime as dt

import pytest

from reflect.chunking import chunk_session
from reflect.index import SearchIndex, lexical_fts_query
from reflect.session import Session, build_text
from reflect.transcript import Turn
from reflect.wordforms import number_value, number_words, other_forms, spelling_variants


@pytest.mark.parametrize(
    ("terms", "form"),
    [
        (["twelve", "pounds"], "12"),
        (["eighteen", "years"], "18"),
        (["twenty", "five", "a", "day"], "25"),
        (["two", "hundred"], "200"),
        (["12"], "twelve"),
        (["45"], "forty five"),
        (["chicken", "pox"], "chickenpox"),
        (["health", "care"], "healthcare"),
        (["programme"], "program"),
        (["counselling"], "counseling"),
        (["counseling"], "counselling"),
        (["behaviour"], "behavior"),
        (["behavior"], "behaviour"),
        (["organisation"], "organization"),
        (["centre"], "center"),
        (["paediatric"], "pediatric"),
        (["mum"], "mom"),
    ],
)
def test_other_forms(terms: list[str], form: str) -> None:
    assert form in other_forms(terms)


@pytest.mark.parametrize(
    ("terms", "unwanted"),
    [
        (["one"], "1"),  # "the one who listens" is not a number
        (["four"], "for"),  # short words keep their spelling
        (["your"], "yor"),
        (["filling"], "filing"),  # only the -el- words double their l
        (["sister", "s"], "sisters"),  # "sister's": a letter is no part of a compound
    ],
)
def test_no_form_from_the_wrong_rule(terms: list[str], unwanted: str) -> None:
    assert unwanted not in other_forms(terms)


def test_forms_never_repeat_the_terms() -> None:
    forms = other_forms(["twelve", "12", "chicken", "pox"])
    assert "12" not in forms and "twelve" not in forms and len(forms) == len(set(forms))


def test_numbers_both_ways() -> None:
    assert number_value(["twenty", "five"]) == 25
    assert number_value(["five", "twenty"]) is None
    assert number_value(["kettle"]) is None
    assert number_words(25) == ["twenty", "five"] and number_words(300) == ["three", "hundred"]
    assert number_words(123) == []  # not written out: too rare to be worth a rule


def test_spelling_variants_of_words_without_a_rule() -> None:
    assert spelling_variants("kettle") == []
    assert spelling_variants("dog") == []


def test_the_word_query_looks_for_every_form() -> None:
    query = lexical_fts_query("the GP charged me twelve pounds")
    assert query is not None and '"12"' in query and '"twelve"' in query
    # Several words are one form: searched as a phrase.
    query = lexical_fts_query("in 45 minutes")
    assert query is not None and '"forty five"' in query
    assert lexical_fts_query("what did I") == '"what" OR "did" OR "i"'  # stopwords only: as before


def _session(session_id: str, text: str) -> Session:
    body, turns = build_text([Turn("Therapist", text, 0.0, 5.0)])
    return Session(
        id=session_id, title="A visit", date=dt.date(2024, 5, 2), date_source="option",
        source_file=f"{session_id}.txt", content_hash=session_id,
        imported_at="2024-05-03T09:00:00",
        format="txt", text=body, turns=turns,
    )


@pytest.mark.parametrize(
    ("said", "asked"),
    [
        ("For a letter like that our rate is £12, I'm afraid.", "twelve pounds for a letter"),
        ("You had chickenpox as a child, so you're immune now.", "chicken pox as a child"),
        ("There's a free preschool program at the library.", "the preschool programme"),
        ("You've smoked for eighteen years on and off.", "smoking for 18 years"),
    ],
)
def test_word_search_finds_the_other_form(said: str, asked: str) -> None:
    index = SearchIndex()
    try:
        for session in (
            _session("s", said),
            _session("d", "We talked about the weather, a child's letters and the years."),
        ):
            index.add_lexical(session, chunk_session(session))
        found = index.lexical_search(asked, 5)
        assert found and found[0].session.id == "s"
    finally:
        index.close()
