"""Scope and safety: requests for a diagnosis, medication advice or a decision go back to
the therapist; both answers are fixed texts, never the model's."""

from __future__ import annotations

import re

_CONDITIONS = (
    r"depression|depressed|anxiety|an anxiety disorder|adhd|add|ptsd|c-ptsd|ocd|bipolar|"
    r"autism|autistic|bpd|borderline|a personality disorder|an eating disorder|anorexia|"
    r"bulimia|insomnia|a disorder|a problem|an addiction|a drinking problem|an alcohol "
    r"problem|psychosis|schizophrenia|panic disorder|a mental illness|\w+ disorder"
)
_SCOPE_PATTERNS = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\b(?:should|shall|must|ought) i\b",
        r"\bi should\b.*\?\s*$",
        r"\bwhat (?:should|do|can|must) i do\b",
        r"\bwhat would you do\b",
        r"\b(?:is|would) it (?:be )?(?:ok|okay|safe|better|best|wise|a good idea|right) "
        r"(?:for me )?to\b",
        rf"\b(?:do|might|could|did) i (?:have|suffer from) (?:{_CONDITIONS})\b",
        rf"\bhave i got (?:{_CONDITIONS})\b",
        rf"\bam i (?:{_CONDITIONS}|an alcoholic|an addict|crazy|normal|mentally ill|a "
        r"narcissist|ok|okay|sick)\b",
        rf"\bis (?:this|it|that) (?:{_CONDITIONS}|normal)\b",
        r"\bwhat(?:'s| is) wrong with me\b",
        r"\bdiagnos(?:e|is|ing)\b.*\bme\b",
        r"\b(?:what|which|how much|how many) (?:dose|dosage|mg|milligrams|pills|tablets)\b",
        r"\b(?:increase|decrease|reduce|stop|start|change|double|skip|come off|quit|switch) "
        r"(?:taking )?(?:my )?(?:meds|medication|medicine|dose|dosage|pills|tablets|"
        r"antidepressants?)\b",
    )
)
# "What did my therapist say about whether I should..." asks what was said: that is recall,
# which reflect answers, even when the subject is a decision or a medication.
_RECALL = re.compile(
    r"\b(?:said|say|says|mention\w*|talk\w*|told|tell|discuss\w*|suggest\w*|recommend\w*|"
    r"advis\w*|brought up|bring up|came up|come up|went over|go over|asked)\b|"
    r"\b(?:what|when|where|how|why|which) (?:did|was|were|had)\b|\bdid (?:i|we|you)\b",
    re.IGNORECASE,
)


def is_scope_request(question: str) -> bool:
    """True for a request for diagnosis, medication advice or a decision, not for recall."""
    q = question.replace("’", "'")
    return any(p.search(q) for p in _SCOPE_PATTERNS) and not _RECALL.search(q)
