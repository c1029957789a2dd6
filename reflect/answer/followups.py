""" "When was that?", "when do I start?", "what did she say?": answered from the moment the
last answer cited (and the replies after it), or where the thing is told with a day
(reflect.answer.conversation reads the day and the reply; this module looks for them)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterator

from reflect.answer.compose import AnswerServices, composed_answer, day
from reflect.answer.conversation import DatedMoment, dated_moment, reply_at, with_reply
from reflect.answer.question import AskedQuestion
from reflect.answer.results import Answer
from reflect.index import Filters
from reflect.retrieval import Hit
from reflect.words import content_stems

__all__ = ["answer_reply", "answer_when"]


def answer_when(
    services: AnswerServices, asked: AskedQuestion, filters: Filters, began: float
) -> Answer | None:
    """ "When was that?": the day the moment the last answer cited gives for it ("the
    hearing, Thursday the twelfth of March"), else the day it was said; "when do I
    start?": the moment that tells it, looked for first in the sessions the last answer
    cited (reflect.answer.conversation.dated_moment). None: nothing holds it."""
    today = services.today()
    if asked.when_words:
        moment = _moment_asked_about(services, asked, filters)
        if moment is None:
            return None
    else:
        assert asked.refers_to is not None
        cited = asked.refers_to
        if cited.text.rstrip().endswith("?"):
            # A question was cited ("And your mum came to stay?"): the reply tells when.
            cited = with_reply(cited, services.session_of(cited.session_id), turns=1)
        moment = dated_moment([cited], content_stems(asked.topic))
        if (moment is None or moment.day is None) and not asked.asks_when_said:
            # The moment cited tells no day ("I've been reading the thesis since I
            # handed it in"): the day is looked for where the thing is said with one
            # ("I hand it in on Friday the fourth"), as for "when do I start?".
            told = _moment_asked_about(
                services, dataclasses.replace(asked, when_words=asked.topic), filters, dated=True
            )
            moment = told or moment
        if moment is None or asked.asks_when_said:
            moment = DatedMoment(asked.refers_to, None)
    hit = moment.hit
    said = f"{day(hit.session_date, today)}, in “{hit.session_title}”"
    if moment.day is not None and moment.day != hit.session_date:
        line = f"On {day(moment.day, today)}: on {said}, {{who}} said “{{quote}}” [{{n}}]"
    else:
        line = f"That was on {said} [{{n}}]: {{who}} said “{{quote}}”"
    # The excerpt and its quote hold the words that give the day.
    quoted = dataclasses.replace(asked, topic=moment.sentence) if moment.sentence else asked
    answer = composed_answer(services, quoted, [hit], [(hit, line)], began)
    answer.question = asked.text
    return answer


def answer_reply(
    services: AnswerServices, asked: AskedQuestion, moment: Hit, filters: Filters, began: float
) -> Answer | None:
    """ "What did she say?" / "what did I do when he said it?": the user's turn at or
    right after the moment the last answer cited that tells it
    (reflect.answer.conversation.reply_at), or at the other moments it cited, or at a
    later moment about the same thing. None: no turn there does."""

    def later() -> Iterator[Hit]:
        # "did I take the money Mum offered?" cited her offer; "what did she say?" is
        # where the user told her yes, sessions later: the topic, from that day on.
        after = dataclasses.replace(
            filters, since=moment.session_date, until=None, session_ids=None
        )
        mine = dataclasses.replace(asked.understood, speaker="me", speaker_words=None)
        yield from services.search(asked.topic, after, dataclasses.replace(asked, understood=mine))

    # The moment the last answer pointed at first, then the others it cited: "what did
    # she say?" after "did I tell work?" is at the telling, wherever the answer led.
    cited_first = (moment, *(h for h in asked.context if h is not moment))
    turn = None
    for cited in itertools.chain(cited_first, later()):
        session = services.session_of(cited.session_id)
        turn = reply_at(cited, session, asked.reply, asked.reply_by, services.me_labels)
        if turn is not None:
            break
    if turn is None:
        return None
    line = f"Then, on {day(turn.session_date, services.today())}, {{who}} said: “{{quote}}” [{{n}}]"
    answer = composed_answer(services, asked, [turn], [(turn, line)], began, topic_words=False)
    # "that" in the next question ("and when was that?") is still the moment replied to.
    answer.focus = cited
    return answer


def _moment_asked_about(
    services: AnswerServices, asked: AskedQuestion, filters: Filters, *, dated: bool = False
) -> DatedMoment | None:
    """Where "when do I start?" is answered, looked for in turn: the excerpts the last
    answer cited with the replies after them; the sessions they are from (the topic and
    the asked words searched there); everywhere; and, for "when did he move in?" after
    the care home he was to move to, the asked words from that moment on."""
    search = services.search
    said = content_stems(asked.when_words)
    context = asked.context
    # Whoever said it (the day is often in a reply to the other person's question), and
    # the asked words alone too ("start"): "When do you start?" names no job.
    neutral = dataclasses.replace(
        asked,
        understood=dataclasses.replace(asked.understood, speaker=None, speaker_words=None),
    )
    alone = dataclasses.replace(neutral, topic=asked.when_words)
    groups: list[Callable[[], list[Hit]]] = [
        lambda: [with_reply(h, services.session_of(h.session_id)) for h in context]
    ]
    if context:
        there = dataclasses.replace(filters, session_ids=frozenset(h.session_id for h in context))
        groups.append(
            lambda: [
                *search(asked.topic, there, neutral),
                *search(asked.when_words, there, alone),
            ]
        )
    groups.append(lambda: search(asked.topic, filters, neutral))
    if context:
        since = min(h.session_date for h in context)
        later = dataclasses.replace(filters, since=since, until=None, session_ids=None)
        groups.append(lambda: search(asked.when_words, later, alone))
    about = content_stems(asked.topic) - said
    for group in groups:
        moment = dated_moment(group(), said, about, dated=dated)
        if moment is not None:
            return moment
    return None
