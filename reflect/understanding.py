"""Understanding a question before searching: what to look for, quoted words, who said it.

A person asks "when did my counsellor say the move might be a fresh start?" or "where did I
say 'the kettle is my alarm clock'?". Searching those words as typed matches every session
where someone said "say", "counsellor" or "where"; what they look for is "the move might be a
fresh start", said by the other person, and the exact words "the kettle is my alarm clock".

`understand` splits a question into:
- `phrases`: words the person put in quotes (straight or curly, inside a longer sentence),
  which search finds verbatim before anything else;
- `speaker`: who said it, read from the words ("my doctor said", "did you tell me" → the other
  person; "did I say", "I admitted" → the user), applied by search as a preference, never as a
  filter the user did not set;
- `content`: the question without its framing ("when did I say", "which session was that",
  "something about", "I remember admitting") and without the role words: what to look for.

Rules rather than the chat model: the bundled 0.5B model reads questions unreliably (see
models/README.md), and these rules take microseconds and can be tested one by one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["SpeakerRole", "Understood", "understand"]

SpeakerRole = Literal["me", "other"]

# Quoted words: double quotes of either kind, curly single quotes, and straight single quotes
# only where they cannot be apostrophes (a space or the edge outside, a letter inside).
_QUOTED = re.compile(
    r"\"(?P<d>[^\"]+)\""
    r"|“(?P<c>[^”“]+)”"
    r"|‘(?P<s>[^’‘]+(?:’\w[^’‘]*)*)’(?!\w)"
    r"|(?:(?<=^)|(?<=[\s(\[—–-]))'(?P<a>\w[^']*?(?:'\w[^']*?)*)'(?=$|[\s.,;:!?)\]—–-])"
)
_MIN_PHRASE_WORDS = 2

# Who the question is about. The other person is named by a role (the user never types a
# speaker label), by "you" (asking the app as if it were the therapist), or by he/she/they.
_ROLE_NOUNS = (
    r"counsell?ors?|therapists?|psychologists?|psychiatrists?|psychotherapists?|doctors?|"
    r"docs?|dr\.?(?:\s+(?!(?:say|says|said|tell|told|mention|suggest|ask|explain)\b)"
    r"[a-z][\w'’-]+)?|gps?|physicians?|nurses?(?: practitioners?)?|midwi(?:fe|ves)|"
    r"pharmacists?|chemists?|social ?workers?|case ?workers?|caseworkers?|"
    r"(?:probation|youth|drug|alcohol|outreach|housing|recovery|crisis) workers?|"
    r"probation officers?|officers?|dietitians?|dieticians?|nutritionists?|coach(?:es)?|"
    r"clinicians?|practitioners?|specialists?|consultants?|advisers?|advisors?|"
    r"health ?visitors?|home ?visitors?|key ?workers?|support ?workers?|mentors?|"
    r"dentists?|hygienists?|physios?|physiotherapists?|staff members?|care ?workers?|"
    r"surgeons?|paramedics?|"
    r"(?:clinic|group|program(?:me)?|rehab|hospital|school|health) "
    r"(?:guy|lady|woman|man|person|worker|staff|leader|nurse|counsell?or)"
)
_ROLE = re.compile(
    rf"\b(?:(?:my|the|our|that|this|her|his|a)\s+)?(?:(?:new|old|regular|school|family|"
    rf"addiction|drug|alcohol|community)\s+)?(?:{_ROLE_NOUNS})\b",
    re.IGNORECASE,
)
_SPEECH = (
    r"say|said|says|tell|told|tells|mention(?:ed|s)?|suggest(?:ed|s)?|recommend(?:ed|s)?|"
    r"advise[ds]?|ask(?:ed|s)?|explain(?:ed|s)?|describe[ds]?|talk(?:ed|s)?|spoke|speak|"
    r"admit(?:ted|s)?|confess(?:ed)?|call(?:ed)?|put it|warn(?:ed|s)?|point(?:ed)? out|"
    r"bring up|brought up|bring|brought|mean|meant|(?:gave|give)(?!\s+up\b)|offer(?:ed)?|"
    r"teach|taught|show(?:ed)?|shared?|go on about|went on about|reckon(?:ed)?|think|thought"
)
_OTHER_SUBJECT = re.compile(
    rf"(?:{_ROLE.pattern}|\byou\b|\bshe\b|\bhe\b|\bthey\b)\s+(?:\w+\s+)?(?:{_SPEECH})\b"
    rf"|\b(?:did|does|do|has|had|was|were|would|could)\s+(?:{_ROLE.pattern}|you|she|he|they)\s+"
    rf"(?:\w+\s+)?(?:{_SPEECH})\b"
    rf"|\b(?:was|were)\s+(?:{_ROLE.pattern}|you|she|he|they)\s+(?:saying|telling|talking|"
    rf"going on)\b"
    # "what did my counsellor want me to do about...": what they asked of the user, said.
    rf"|(?:{_ROLE.pattern}|\byou\b|\bshe\b|\bhe\b|\bthey\b)\s+(?:want|wanted|ask|asked|need|"
    rf"needed|expect|expected|get|got)\s+me\s+to\b"
    rf"|\b(?:advice|suggestion|tip|idea|recommendation|warning|explanation|figure|number)s?\s+"
    rf"(?:that\s+|which\s+)?(?:{_ROLE.pattern}|you)\b"
    rf"|(?:{_ROLE.pattern})['’]s\s+(?:advice|suggestion|tip|idea|point|question|explanation|"
    rf"take|words?|figure|number)"
    # A role doing anything in the past ("the doctor threatened to...", "the GP wanted to
    # charge me"): in a question about a session, what they did there was say it.
    rf"|(?:{_ROLE.pattern})\s+(?:just\s+|also\s+|once\s+|then\s+)?(?:\w+ed|went|kept|made|"
    rf"got|took|felt|wrote|spoke|sent|let|set|put|seemed)\b",
    re.IGNORECASE,
)
_ME_SUBJECT = re.compile(
    rf"\b(?:did|do|have|had|was|would)\s+i\s+(?:ever\s+|first\s+|last\s+|once\s+)?"
    rf"(?:{_SPEECH}|admit|own up|open up|go on|rant|complain)\b"
    # "what was I saying about...", "was I telling you..."
    rf"|\b(?:was|were)\s+i\s+(?:saying|telling|talking|going on|mentioning)\b"
    rf"|\bi\s+(?:\w+\s+)?(?:{_SPEECH}|admitted|complained|ranted|owned up|opened up|"
    rf"went on|was saying|was talking|kept saying|worried|moaned|vented|joked|laughed|cried|"
    rf"argued|insisted|promised|swore|boasted|bragged|begged|pleaded|wondered|hoped|wished)\b"
    rf"|\bmy\s+(?:own\s+)?words\b|\bi\s+remember\s+(?:saying|telling|admitting|mentioning|"
    rf"explaining|describing|talking)\b",
    re.IGNORECASE,
)

# The framing of a question: words that say how the person remembers, not what they look for.
# Removed from what is searched. Order matters: longer forms first.
_FRAMING = [
    re.compile(p, re.IGNORECASE)
    for p in (
        # "which session was that?", "what session did ... in", "in which session"
        r"\b(?:in\s+)?(?:which|what)\s+(?:session|appointment|meeting|visit|conversation|"
        r"call|time|day|week)\b(?:\s+(?:was|is)\s+(?:that|it|this))?"
        r"(?:\s+(?:where|when|in which))?",
        # "..., when was that?", "where was that", "what visit was it"
        r"\b(?:when|where)\s+(?:was|is)\s+(?:that|it|this)\b",
        r"\b(?:was|is)\s+(?:that|it|this)\s+(?:in\s+)?(?:the\s+)?(?:same\s+|first\s+|last\s+)?"
        r"(?:session|one|time)\b",
        # "when did I say", "where did my counsellor talk about", "have I ever mentioned"
        rf"\b(?:when|where|how|why|what|at what point)?\s*(?:did|do|does|have|has|had|was|were)\s+"
        rf"(?:i|we|you|she|he|they|{_ROLE.pattern})\s+(?:ever\s+|once\s+|first\s+|last\s+|"
        rf"actually\s+|really\s+)?(?:{_SPEECH}|admit|own up|open up|go on|rant|complain|"
        # "what was I saying about the bike", "what were we talking about"
        rf"get into|go into|cover|discuss|saying|telling|talking|mentioning|going on)"
        rf"(?:\s+(?:to\s+)?(?:me|you|her|him|them|us))?"
        rf"(?:\s+(?:about|that|of|on|regarding))?\b",
        # "the bit where I said", "the part when the nurse told me", "that moment I admitted"
        r"\b(?:the|that|a|this)\s+(?:bit|part|moment|time|point|place|session|conversation|"
        r"thing|stuff|passage|line|exchange)\s+(?:where|when|in which|that|about)?\b",
        r"\bthere\s+was\s+(?:a|one|this|that)\s+(?:bit|part|moment|time|session)\b",
        # "I remember admitting", "I think I said", "I'm pretty sure I told you"
        rf"\bi\s+(?:remember|recall|think|believe|know|guess|feel like|am sure|'m sure|’m sure|"
        rf"am pretty sure|'m pretty sure|’m pretty sure)\s+(?:that\s+)?(?:i\s+|we\s+|you\s+)?"
        rf"(?:{_SPEECH}|saying|telling|admitting|mentioning|talking|explaining|describing|"
        rf"asking|being told|hearing)?(?:\s+(?:about|that|of))?\b",
        rf"\bi\s+(?:{_SPEECH}|admitted|complained|went on)\s+(?:about|that)\b",
        r"\b(?:something|anything|stuff|things?)\s+(?:about|around|like|regarding|to do with|on)\b",
        r"\b(?:can|could|would)\s+you\s+(?:find|show|remind me of|tell me|look up|pull up)\b",
        r"\b(?:find|show me|remind me of|look up|pull up|remind me)\b",
        r"\bdo\s+you\s+remember\b|\bremember\s+when\b",
        r"\b(?:at some point|once|one time|back then|the other day|a while ago|earlier)\b",
        r"\bwhat\s+was\s+(?:it|that)\s+(?:about|that)?\b",
        # "what did my counsellor want me to do about Pauline": Pauline
        rf"\bwhat\s+did\s+(?:{_ROLE.pattern}|you|she|he|they)\s+(?:want|ask|need|expect|get)\s+"
        r"me\s+to\s+(?:do|try)(?:\s+(?:about|with|for|on|during|when|if))?\b",
        # "did Liam's girlfriend ever come up?", "what came up about the wedding?": Liam's
        # girlfriend, the wedding
        r"^(?:and\s+|so\s+|but\s+)?(?:when\s+|what\s+)?(?:did|has|have|had\s+)?\s*"
        r"(?=.*\b(?:come|came)\s+up\b)",
        r"\b(?:ever\s+|once\s+)?(?:come|came)\s+up(?:\s+(?:about|with|regarding))?\b",
        # "what was going on with Danny": Danny
        r"\bwhat(?:\s+was|\s+is|['’]s)\s+(?:going\s+on|happening)\s+(?:with|about)\b",
        # "how was Mum doing", "how were things going at work": Mum, things at work
        r"^(?:and\s+|so\s+)?how\s+(?:was|were|is|are)\b(?=.*\b(?:doing|going|getting\s+on|"
        r"coping)\b)|\b(?:doing|going|getting\s+on|coping)\s*\??$",
        r"\b(?:what|which)\s+(?:was|were)\s+the\b",
    )
]
# "the nurse told me about", "you said that", "my GP's": who spoke, once the speaker is read.
_SPOKE = re.compile(
    rf"(?:{_ROLE.pattern}|\b(?:you|she|he|they|i)\b)(?:['’]s\b)?"
    rf"(?:\s+(?:{_SPEECH})\b(?:\s+(?:to\s+)?(?:me|you|her|him|them|us)\b)?"
    rf"(?:\s+(?:about|that|of|on|regarding)\b)?)?",
    re.IGNORECASE,
)
_SAYS = re.compile(rf"\b(?:{_SPEECH})\b", re.IGNORECASE)
_FILLER_WORDS = re.compile(
    r"\b(?:um+|uh+|er+m?|hmm+|like,|you know|kind of|sort of|basically|just|again|ever|"
    r"exactly|actually|really|maybe|please|anyway)\b",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")
_LEADING_WHEN = re.compile(r"^(?:when|where)\s+(?=\S)", re.IGNORECASE)
_EDGE_JUNK = re.compile(r"^[\s,;:—–\-….?!]+|[\s,;:—–\-…?!]+$")


@dataclass(frozen=True, slots=True)
class Understood:
    """A question as reflect reads it. `content` is never empty: with nothing left after the
    framing is removed, it is the question itself."""

    question: str
    content: str
    phrases: tuple[str, ...] = ()
    speaker: SpeakerRole | None = None
    speaker_words: str | None = None  # the words that named the speaker ("my counsellor")

    @property
    def changed_anything(self) -> bool:
        """Whether search reads the question differently from its words as typed."""
        return bool(self.phrases or self.speaker) or self.content != self.question

    def speaker_description(self) -> str | None:
        """Who the question is about, in the user's terms: "you", "your counsellor"."""
        if self.speaker == "me":
            return "you"
        if self.speaker is None:
            return None
        words = (self.speaker_words or "").strip()
        if not words or words.lower() in ("she", "he", "they"):
            return "the other person"
        if words.lower() == "you":
            return "your therapist"
        if words[:1].isupper() and (not _ROLE.fullmatch(words) or words[:2].lower() == "dr"):
            return words  # a name: "Helen", "Dr. Rivera"
        first, _, rest = words.partition(" ")
        if first.lower() in ("my", "the", "our", "that", "this", "a", "her", "his") and rest:
            return f"your {rest}"
        return f"your {words}"

    def summary(self, *, about: bool = True) -> str:
        """What search will look for, for the user: "about: X · the words “Y” · said by your
        counsellor (preferred)" (`about=False` leaves out what to look for)."""
        parts = [f"about: {self.content}"] if about and self.content else []
        parts += [f"the words “{p}”" for p in self.phrases]
        who = self.speaker_description()
        if who:
            parts.append(f"said by {who} (preferred)")
        return " · ".join(parts)

    def to_dict(self) -> dict[str, object]:
        """For `--json`: what was looked for, the quoted words, and who said it."""
        return {
            "about": self.content,
            "phrases": list(self.phrases),
            "speaker": {"me": "me", "other": "therapist"}.get(self.speaker or ""),
            "speaker_words": self.speaker_words,
        }

    @property
    def search_text(self) -> str:
        """The words to search: the content with the quoted words in it."""
        return " ".join(part for part in (*self.phrases, self.content) if part).strip()


def quoted_phrases(question: str) -> list[str]:
    """Words the person put in quotes, of two words or more, in order."""
    phrases = []
    for m in _QUOTED.finditer(question):
        text = next(g for g in m.groups() if g is not None).strip(" ,.;:!?…")
        if len(text.split()) >= _MIN_PHRASE_WORDS:
            phrases.append(text)
    return phrases


def speaker_of(question: str) -> tuple[SpeakerRole | None, str | None]:
    """Who said what the question is about, from its words: ('other', 'my counsellor')."""
    unquoted = _QUOTED.sub(" ", question)
    other = _OTHER_SUBJECT.search(unquoted)
    me = _ME_SUBJECT.search(unquoted)
    if other and me:
        # "did I tell my doctor..." (I speak) vs "did my doctor tell me..." (the other does):
        # whichever subject comes first in the sentence is the one speaking.
        return ("me", None) if me.start() < other.start() else ("other", _role_words(other))
    if other:
        return "other", _role_words(other)
    if me:
        return "me", None
    return None, None


def _role_words(match: re.Match[str]) -> str | None:
    role = _ROLE.search(match.group(0))
    if role:
        return " ".join(role.group(0).split())
    you = re.search(r"\b(you|she|he|they)\b", match.group(0), re.IGNORECASE)
    return you.group(1).lower() if you else None


# "What did Mum say when...", "what did my new boss tell me": someone the user talks about,
# whose words the user reports. The person is what to look for; the asking is not.
_THIRD_PARTY_SAID = re.compile(
    r"\b(?i:what|how)\s+(?i:did)\s+(?P<who>(?i:my|our|her|his)\s+(?:(?i:new|old)\s+)?[a-z'’]+|"
    r"[A-Z][\w'’]+)\s+(?i:say|said|tell\s+(?:me|you|her|him|us)|react|respond)\b"
)


def asks_what_someone_else_said(question: str) -> bool:
    """Whether the question asks what someone outside the sessions said ("what did Mum say
    when she brought the hot chocolate out?", "what did Lorna say to me on the phone?"):
    their words are in the user's reports of them. Call it on a question whose speaker labels
    have already been read as roles (a therapist's name reads as a third party here)."""
    m = _THIRD_PARTY_SAID.search(_QUOTED.sub(" ", question))
    return m is not None and _third_party(m) != m.group(0)


def _third_party(m: re.Match[str]) -> str:
    who = m.group("who")
    if _ROLE.fullmatch(who) or who.lower() in ("you", "she", "he", "they", "i", "we"):
        return m.group(0)  # the other side of the sessions: the framing below reads it
    return who


def strip_framing(text: str, *, roles: bool = True, other_speaker: str | None = None) -> str:
    """The question without how it is asked: what to look for. `roles=False` keeps role
    words that are not followed by speech ("did I see a doctor" is about the doctor).

    `other_speaker`: the words naming the other person when the question says they spoke
    ("the nurse", "she"). A role word that is not them nor followed by speech is then
    someone they talked about, and stays ("she suggested I talk to one of the social
    workers"). When the user speaks, a bare role word is whom they told, and goes."""
    out = _THIRD_PARTY_SAID.sub(_third_party, text)
    for pattern in _FRAMING:
        out = pattern.sub(" ", out)

    def spoken(m: re.Match[str]) -> bool:
        if not _is_spoken(m):
            return False
        if not roles:
            return bool(_SAYS.search(m.group(0)))
        if other_speaker is not None:
            return not _talked_about(m, other_speaker)
        return _spoke_or_was_told(m)

    out = _SPOKE.sub(lambda m: " " if spoken(m) else m.group(0), out)
    out = _FILLER_WORDS.sub(" ", out)
    out = _SPACES.sub(" ", out)
    out = _EDGE_JUNK.sub("", out).strip()
    # "when I said X" leaves "when X" once "I said" is gone: the "when" asked for the moment.
    return _LEADING_WHEN.sub("", out) if roles else out


def _is_spoken(match: re.Match[str]) -> bool:
    """A role word always goes; a pronoun only with a speech verb ("I drink" stays)."""
    words = match.group(0).split()
    return len(words) > 1 or bool(_ROLE.fullmatch(re.sub(r"['’]s$", "", match.group(0))))


# "I told the dentist", "I pointed out to the pharmacist": the role right after the speech.
# ("said the doctor never explained" is about the doctor: "said" takes no one without "to").
_TOLD = re.compile(
    rf"(?:\b(?:tell|told|tells|ask|asked|asks|warn(?:ed)?|show(?:ed)?|remind(?:ed)?)"
    rf"|\b(?:{_SPEECH}|admitted|complained|moaned|vented)\s+to)\s+$",
    re.IGNORECASE,
)


def _spoke_or_was_told(match: re.Match[str]) -> bool:
    """When the user spoke (or nobody is named): a role word alone goes only as whom they
    told ("when I told Dr. Rivera that..."); elsewhere it is someone talked about, and
    stays ("nagged by my family doctor", "a guy who's a drug counsellor now")."""
    said = match.group(0)
    if _SAYS.search(said) or re.search(r"['’]s$", said) or not _ROLE.fullmatch(said):
        return True  # speech, "the pharmacist's (tip)": whose words they are
    return bool(_TOLD.search(match.string[: match.start()]))


def _talked_about(match: re.Match[str], speaker_words: str) -> bool:
    """A role word alone, naming someone other than the person who spoke."""
    if _SAYS.search(match.group(0)):
        return False
    role = " ".join(re.sub(r"['’]s$", "", match.group(0)).split())
    return bool(_ROLE.fullmatch(role)) and role.lower() != speaker_words.lower()


def understand(question: str) -> Understood:
    question = " ".join(question.split())
    phrases = tuple(quoted_phrases(question))
    speaker, speaker_words = speaker_of(question)
    unquoted = _QUOTED.sub(" ", question) if phrases else question
    content = strip_framing(unquoted, other_speaker=speaker_words if speaker == "other" else None)
    if not content and not phrases:
        content = question
    return Understood(question, content, phrases, speaker, speaker_words)
