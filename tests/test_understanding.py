"""Reading a question before searching it: quoted words, framing, who said it."""

from __future__ import annotations

import pytest

from reflect.understanding import (
    asks_what_someone_else_said,
    quoted_phrases,
    speaker_of,
    strip_framing,
    understand,
)


class TestQuotedPhrases:
    @pytest.mark.parametrize(
        ("question", "phrases"),
        [
            ('where did I say "the kettle is my alarm clock"?', ["the kettle is my alarm clock"]),
            ("where did I say “the kettle is my alarm clock”?", ["the kettle is my alarm clock"]),
            ("the bit where she said ‘one brick at a time’ — when?", ["one brick at a time"]),
            (
                "I said 'the kettle is my alarm clock' about mornings",
                ["the kettle is my alarm clock"],
            ),
            (
                '"tea first" and later "then the emails", which session',
                ["tea first", "then the emails"],
            ),
        ],
    )
    def test_quotes_of_every_kind_inside_a_sentence(
        self, question: str, phrases: list[str]
    ) -> None:
        assert quoted_phrases(question) == phrases

    @pytest.mark.parametrize(
        "question",
        [
            "what didn't I say about my dad's garage",  # apostrophes are not quotes
            "I don't think we've talked about Kit's new job",
            "where did I say 'fine'",  # one word is not a phrase to find verbatim
            "my mum’s garden and the neighbours’ dog",
        ],
    )
    def test_apostrophes_and_single_words_are_not_phrases(self, question: str) -> None:
        assert quoted_phrases(question) == []


class TestSpeaker:
    @pytest.mark.parametrize(
        ("question", "role", "words"),
        [
            (
                "when did my counsellor say the move might be a fresh start?",
                "other",
                "my counsellor",
            ),
            ("what did the pharmacist tell me about the side effects", "other", "the pharmacist"),
            ("the nurse offered me an earlier slot, where was that", "other", "the nurse"),
            ("what was my GP's advice about salt", "other", "my GP"),
            ("what did you say about keeping a diary", "other", "you"),
            ("when did she say I should try walking", "other", "she"),
            ("what did I say about the garage", "me", None),
            ("did I tell my doctor about the pills?", "me", None),
            ("I remember admitting I'd skipped the appointments", "me", None),
            ("when I said the evenings were the worst", "me", None),
            # A role doing anything in the past did it by saying it, in a session.
            (
                "the doctor threatened to tell my parents if I did it again, when was that?",
                "other",
                "the doctor",
            ),
            ("the GP wanted to charge me for a letter", "other", "the GP"),
            ("my social worker kept asking about the flat", "other", "my social worker"),
            ("did the staff member say I'd been a model resident", "other", "the staff member"),
            ("what did my youth worker ask about college", "other", "my youth worker"),
            # Saying it with feeling is saying it.
            ("where I worried about losing my independence", "me", None),
            ("the part where I joked about the kettle", "me", None),
        ],
    )
    def test_who_said_it_from_the_words(self, question: str, role: str, words: str | None) -> None:
        assert speaker_of(question) == (role, words)

    @pytest.mark.parametrize(
        "question",
        ["the garage and my dad", "sleep", "anything on the move to the coast"],
    )
    def test_no_speaker_when_the_question_names_none(self, question: str) -> None:
        assert speaker_of(question) == (None, None)

    def test_a_person_talked_about_is_not_the_speaker(self) -> None:
        # Only roles that speak in a session are read as a speaker: a teacher is a topic.
        understood = understand("what did I say about my teacher")
        assert understood.speaker == "me" and understood.content == "my teacher"

    @pytest.mark.parametrize(
        ("question", "content"),
        [
            ("what did Mum say when I told her about the new job?", "Mum when the new job"),
            ("what did my new boss tell me on the first day?", "my new boss on the first day"),
            ("how did Graham react?", "Graham"),
        ],
    )
    def test_what_someone_talked_about_said_is_looked_for_by_the_person(
        self, question: str, content: str
    ) -> None:
        # The user reports their words: the person is what to look for, not "what did ... say".
        assert understand(question).content == content

    @pytest.mark.parametrize(
        ("question", "asks"),
        [
            ("what did Mum say when she brought the hot chocolate out?", True),
            ("what did my new boss tell me on the first day?", True),
            ("what did Lorna say to me on the phone?", True),
            ("what did my counsellor say about sleep?", False),
            ("what did she say about the exam?", False),
            ("what did I say about Mum?", False),
        ],
    )
    def test_what_someone_outside_the_sessions_said_is_told_apart(
        self, question: str, asks: bool
    ) -> None:
        assert asks_what_someone_else_said(question) is asks

    def test_the_other_side_of_the_sessions_is_still_read_as_the_speaker(self) -> None:
        understood = understand("what did my counsellor say about sleep?")
        assert (understood.content, understood.speaker) == ("sleep", "other")

    @pytest.mark.parametrize(
        ("question", "speaker"),
        [
            ("what was I saying about the caravan?", "me"),
            ("what was she saying about the exam?", "other"),
            ("what did my counsellor want me to do about the landlord?", "other"),
        ],
    )
    def test_the_progressive_and_asking_of_the_user_name_the_speaker(
        self, question: str, speaker: str
    ) -> None:
        assert understand(question).speaker == speaker

    def test_words_inside_quotes_do_not_name_a_speaker(self) -> None:
        assert speaker_of('where is "you said you would" from')[0] is None


class TestFraming:
    @pytest.mark.parametrize(
        ("question", "content"),
        [
            (
                "when did I say the garage was full of his tools?",
                "the garage was full of his tools",
            ),
            ("where did I talk about the allotment", "the allotment"),
            ("the move to the coast, which session was that?", "the move to the coast"),
            ("something about my sister's new flat", "my sister's new flat"),
            ("I remember admitting I'd skipped the appointments", "I'd skipped the appointments"),
            (
                "when did my counsellor say the move might be a fresh start?",
                "the move might be a fresh start",
            ),
            ("the bit where the nurse told me about the inhaler", "the inhaler"),
            ("the nurse said asthma can be serious, where was that?", "asthma can be serious"),
            ("the pharmacist's tip on patches — when was that", "tip on patches"),
            # "when I said X": the "when" asked for the moment, it is not what was said.
            ("when I said weekends were the hardest", "weekends were the hardest"),
            ("where I said the bus was late again", "the bus was late"),
            # "give up" is what was said, not how: "give" is a speech verb only on its own.
            ("did I say I'd give up cigarettes?", "I'd give up cigarettes"),
            ("did the doctor recommend I give up meth", "I give up meth"),
            # Asked in the progressive, or as how someone or something was doing.
            ("what was I saying about the caravan?", "the caravan"),
            ("what was the nurse telling me about the inhaler", "the inhaler"),
            ("how was Grandad doing", "Grandad"),
            ("how is the new rota going?", "the new rota"),
            # What the other person asked of the user: the subject is what it was about.
            ("what did my counsellor want me to do about the landlord?", "the landlord"),
        ],
    )
    def test_framing_is_not_what_to_look_for(self, question: str, content: str) -> None:
        assert strip_framing(question) == content

    def test_a_question_that_is_all_framing_keeps_its_words(self) -> None:
        understood = understand("what did I say?")
        assert understood.content == "what did I say?"

    @pytest.mark.parametrize(
        ("question", "content"),
        [
            # The other person spoke: another role they named is someone talked about.
            (
                "when she suggested I talk to one of the social workers about childcare",
                "to one of the social workers about childcare",
            ),
            (
                "did the GP say the nurse would ring me back",
                "the nurse would ring me back",
            ),
            ("what did the doctor say about seeing a specialist", "seeing a specialist"),
            # The user spoke: a role alone is whom they told, the session's other person.
            ("when I told the nurse my knee was worse", "my knee was worse"),
            ("where I asked my GP whether I sleep too little", "whether I sleep too little"),
            # Elsewhere it is someone the user talked about, and stays ("said" takes no one
            # without "to"): bench/README.md #15, fourth round.
            (
                "when I said I get nagged by my family doctor and everybody",
                "I get nagged by my family doctor and everybody",
            ),
            (
                "the bit about a guy I did time with who's a drug counsellor now",
                "a guy I did time with who's a drug counsellor now",
            ),
            (
                "when I said the doctor never explained how to take it",
                "the doctor never explained how to take it",
            ),
        ],
    )
    def test_a_role_talked_about_is_what_to_look_for(self, question: str, content: str) -> None:
        assert understand(question).content == content

    def test_what_the_person_looks_for_is_never_dropped(self) -> None:
        # "I drink" is not a speech verb: it is what was said.
        assert understand("I remember admitting I drink in the car").content == (
            "I drink in the car"
        )


def test_understood_search_text_holds_phrases_and_content() -> None:
    u = understand('when did I say "tea first" about the mornings?')
    assert u.phrases == ("tea first",)
    assert u.speaker == "me"
    assert u.search_text == "tea first the mornings"
