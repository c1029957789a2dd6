"""Which moments answer "did I keep the diary?" (#17): where it was proposed, and the
user's later turns that tell what became of it.

`answer_outcome` chooses the hits and composes the answer; the rules for a hit's turns
(reflect.answer.excerpts.turn_pieces) are pure functions below it. Why turns rather than
whole passages: a passage holds three or four turns, and one of them tells ("Every
single one went in with the crumbs") while another starts something else ("Can I come to
Poppy's party?"); the turn is what is quoted and cited.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from itertools import pairwise

from reflect.agreements import proposes
from reflect.answer.compose import (
    AnswerServices,
    composed_answer,
    day,
    not_found_answer,
    within,
)
from reflect.answer.excerpts import turn_pieces
from reflect.answer.question import OUTCOME_VERBS, AskedQuestion
from reflect.answer.results import Answer
from reflect.index import Filters
from reflect.retrieval import Hit
from reflect.words import content_stems

Stems = Callable[[Hit], set[str]]

# Where a hit is: its session and its span, the key its words and turns are kept under.
Place = tuple[str, int, int]


def _place(hit: Hit) -> Place:
    return (hit.session_id, hit.char_start, hit.char_end)


def answer_outcome(
    services: AnswerServices, asked: AskedQuestion, filters: Filters, began: float
) -> Answer:
    """ "Did I keep the diary?": where it first came up among the moments found, then
    what was said about it in *later* sessions (the user's own words preferred); say what
    those show, or that the sessions after it don't say."""
    today = services.today()
    me_labels = services.me_labels
    # Where it came up is often the therapist's suggestion: found without preferring the
    # user; what happened after is the user's to tell, so that search prefers them.
    neutral = dataclasses.replace(
        asked,
        understood=dataclasses.replace(asked.understood, speaker=None, speaker_words=None),
    )
    found = services.search(asked.topic, filters, neutral)
    evidence = services.decide(asked.topic, found, filters, asking=OUTCOME_VERBS)
    # "did I keep it up?": "it" is the moment the last answer cited.
    cited_before = asked.refers_to if asked.followup else None
    if not evidence.found and cited_before is None:
        return not_found_answer(services, asked, found, evidence, began)
    # After an answer that cited it, "did I keep it up?" is about something the sessions
    # hold, whatever words the question gave it: what happened is looked for after it.
    if cited_before is not None:
        found = found or [cited_before]
    terms = content_stems(asked.topic) - OUTCOME_VERBS or content_stems(asked.topic)
    key = services.rarest(asked.topic, terms) if terms else ""
    stems: dict[Place, set[str]] = {}

    def said(hit: Hit) -> set[str]:
        place = _place(hit)
        if place not in stems:
            stems[place] = content_stems(hit.text)
        return stems[place]

    def mentions(hit: Hit) -> bool:
        # A later mention names the thing itself (its rarest word: "diary" rather than
        # "sleep" in "the sleep diary"); the user's own turn may say no more ("I brought
        # the diary"), anyone else's must say all of it.
        return key in said(hit) and (hit.speaker in me_labels or terms <= said(hit))

    turns_of: dict[Place, list[Hit]] = {}

    def turns(hit: Hit) -> list[Hit]:
        place = _place(hit)
        if place not in turns_of:
            turns_of[place] = turn_pieces(hit, services.session_of(hit.session_id))
        return turns_of[place]

    relevant = [h for h in found if key in said(h)] or found[:1]
    fullest = max(len(said(h) & terms) for h in relevant)
    anchor = min(
        (h for h in relevant if len(said(h) & terms) == fullest),
        key=lambda h: (h.session_date, h.rank),
    )
    # Where it was proposed, when that was earlier ("Can I suggest something small? ...
    # Wait an hour."), rather than a later plan that shares more of the question's words
    # ("What if you asked Lorna, not by text, at the handover?"): the proposing turn
    # itself. A proposal after the fullest moment is left alone: "I'm going to go back
    # swimming" is told after "I used to swim every morning", and the report between
    # them would be lost (bench/README.md, #17).
    naming = services.telling_words(asked.topic, terms) | {key}
    most = max(len(said(h) & terms) for h in found)
    proposals = [
        turn
        for h in found
        if len(said(h) & terms) >= max(1, most - 1)
        and (turn := proposal_turn(turns(h), naming, said)) is not None
    ]
    if proposals:
        first = min(proposals, key=lambda h: (h.session_date, h.char_start))
        if first.session_date < anchor.session_date:
            anchor = first
    if cited_before is not None:
        anchor = cited_before
    # The words of the question and of the moment it came up that say what it is about:
    # a later report shares them ("Tuesday and Thursday, before work" -> "I went. To the
    # pool. Tuesday and Thursday, both of them.").
    echo = f"{asked.topic} {anchor.text}"
    telling = services.telling_words(echo, content_stems(echo) - OUTCOME_VERBS)
    later = [h for h in relevant if h.session_date > anchor.session_date and mentions(h)]
    if not filters.session_ids:
        after = dataclasses.replace(filters, since=anchor.session_date + dt.timedelta(days=1))
        named = [h for h in services.search(asked.topic, after, asked, k=5) if mentions(h)]
        later = _told_after(services, asked, echo, after, mentions, said, telling) + later + named
    # Of each later moment, the user's turn that tells about it (what happened between
    # sessions is theirs to tell): the one holding most of the question's and the
    # moment's words, or their answer to a question that holds them ("And the texts,
    # since we last met?"). A moment without one holds something else ("Can I come to
    # Poppy's party?" for the texts): it is left out.
    weights = services.retriever.term_weights(asked.topic)
    report_of: dict[Place, Hit | None] = {}

    def told_in(hit: Hit) -> Hit | None:
        place = _place(hit)
        if place not in report_of:
            wanted = telling | terms | {key}
            report_of[place] = report_turn(turns(hit), wanted, me_labels, said, weights)
        return report_of[place]

    later = [h for h in later if told_in(h) is not None]
    if cited_before is None and not any(mentions(h) for h in later):
        # Nothing after it names the thing, and where it came up the user told all of
        # what happened, beyond whom it happened to, without planning it ("She crawled!"
        # for "has Nell started crawling yet?"; not "She's in hospital" for "did Mum make
        # it home from hospital?"): that moment is the answer, not a plan to look past.
        subject = next((content_stems(w) for w in asked.topic.split() if content_stems(w)), set())
        report = _users_report(services, anchor, terms - subject or terms)
        if report is not None:
            told_it = f"On {day(report.session_date, today)}, {{who}} said: “{{quote}}” [{{n}}]"
            answer = composed_answer(
                services,
                asked,
                found,
                [(report, told_it)],
                began,
                tellers=frozenset(me_labels),
                told=[report],
                telling=telling,
            )
            answer.evidence = evidence
            answer.focus = answer.citations[0][1] if answer.citations else None
            return answer
    # Up to three sessions, the closest first; from each, its first moment about it:
    # what happened is told when the session comes back to it ("Hi. Good mixed, I
    # think. I brought the diary."), later in the session come new plans.
    chosen: list[str] = []
    for h in later:
        if len(chosen) < 3 and h.session_id not in chosen:
            chosen.append(h.session_id)
    picks = [
        min((h for h in later if h.session_id == sid), key=lambda h: h.char_start) for sid in chosen
    ]
    # Quoted and cited: the turn of it that tells.
    picks = [told_in(h) or h for h in picks]
    # What "that" in the next question points at: the earliest report that names the
    # thing in the user's words, else the closest.
    best = min(
        (h for h in picks if mentions(h) and h.speaker in me_labels),
        key=lambda h: (h.session_date, h.char_start),
        default=picks[0] if picks else None,
    )
    came_up = (
        anchor,
        f"It came up on {day(anchor.session_date, today)}: {{who}} said “{{quote}}” [{{n}}]",
    )
    if picks:
        picks.sort(key=lambda h: (h.session_date, h.char_start))
        lines = [
            (
                h,
                ("Afterwards, on " if i == 0 else "On ")
                + day(h.session_date, today)
                + ", {who} said: “{quote}” [{n}]",
            )
            for i, h in enumerate(picks)
        ]
        tellers = frozenset() if asked.speaker == "other" else frozenset(me_labels)
        answer = composed_answer(
            services,
            asked,
            found,
            [*lines, came_up],
            began,
            tellers=tellers,
            told=picks,
            telling=telling,
        )
    else:
        answer = composed_answer(
            services,
            asked,
            found,
            [came_up],
            began,
            lead=f"Your sessions after {day(anchor.session_date, today)} don't say what happened.",
        )
    answer.evidence = evidence
    if best is not None:
        # The excerpt quoted from it (a piece of the hit, as cited).
        answer.focus = next((h for _, h in answer.citations if within(h, best)), None)
    return answer


def _users_report(services: AnswerServices, moment: Hit, terms: set[str]) -> Hit | None:
    """`moment` when one of the user's own turns in it holds all of `terms` and proposes
    nothing (a report, not a plan: "I went to the pool twice", not "I'll try the
    pool"), else None."""
    for piece in services.excerpts(moment.text, [moment]):
        turn = piece.hit
        if turn.speaker in services.me_labels and terms <= content_stems(turn.text):
            return None if proposes(turn.text) else moment
    return None


def _told_after(
    services: AnswerServices,
    asked: AskedQuestion,
    echo: str,
    after: Filters,
    mentions: Callable[[Hit], bool],
    said: Callable[[Hit], set[str]],
    telling: set[str],
) -> list[Hit]:
    """The moments after the moment it came up (`after`: the filters from the next day
    on) that tell what became of it, closest first. `echo`: the question's topic and that
    moment's text; `telling`, their telling words.

    What happened is told in words of its own, often echoing the moment it came up
    rather than the question ("fifteen minutes, seven o'clock, the kitchen table" ->
    "I did the fifteen minutes most evenings"), so the later sessions are searched for the
    question and that moment together, the user's own words preferred (what happened
    between sessions is theirs to tell) unless the question asks what the other person
    said. A moment counts when it names the thing (`mentions`) or shares a telling word
    with the question or the moment (see `Answerer._telling_words`; two were tried and lost
    reports, bench/README.md)."""
    teller = asked.understood
    if teller.speaker != "other":
        teller = dataclasses.replace(teller, speaker="me", speaker_words=None)
    ranked = services.retriever.search(
        echo, k=8, filters=after, mode=services.settings.mode, understood=teller
    )
    return [h for h in ranked if mentions(h) or said(h) & telling]


# Suggestions the agreement rules leave out, since without a verb of doing they may not ask
# for anything between sessions ("Can I suggest something small for this week?"); here the
# turn must also hold the thing's own words.
_SUGGESTS = re.compile(
    r"\b(?:can|could|may) I suggest\b|\bI(?:['’]d| would) suggest\b|\bwhy don['’]t you\b"
    r"|\byou could (?:try|maybe|perhaps|always)\b",
    re.IGNORECASE,
)


def suggests(text: str) -> bool:
    """Whether `text` proposes or commits to something to try."""
    return proposes(text) or bool(_SUGGESTS.search(text))


def proposal_turn(turns: Sequence[Hit], terms: Collection[str], stems: Stems) -> Hit | None:
    """The first of `turns` that proposes something named by `terms`, in itself or in the
    reply right after it ("Wait an hour." / "Where do I put the phone?"), else None."""
    wanted = set(terms)
    for i, turn in enumerate(turns):
        if not suggests(turn.text):
            continue
        reply = stems(turns[i + 1]) if i + 1 < len(turns) else set()
        if stems(turn) & wanted or (reply & wanted and not turn.text.rstrip().endswith("?")):
            return turn
    return None


def report_turn(
    turns: Sequence[Hit],
    wanted: Collection[str],
    me: Collection[str],
    stems: Stems,
    weights: Mapping[str, float] | None = None,
) -> Hit | None:
    """The user's turn of `turns` that tells about `wanted` (stems), else None: the one
    holding most of them (a report before a plan: "four of them went in the bread bin", not
    "I'll keep the bread bin"), or else the user's answer to the other's question that holds
    them ("And the texts, since we last met?" / "Good, actually. Every single one...")."""
    words = set(wanted)
    weights = weights or {}

    def weight(turn: Hit) -> float:
        return sum(weights.get(t, 1.0) for t in stems(turn) & words)

    own = [t for t in turns if t.speaker in me and weight(t) > 0]
    if own:
        return max(own, key=lambda t: (not suggests(t.text), weight(t), -t.char_start))
    for asked, answer in pairwise(turns):
        if (
            asked.speaker not in me
            and answer.speaker in me
            and asked.text.rstrip().endswith("?")
            and weight(asked) > 0
        ):
            return answer
    return None
