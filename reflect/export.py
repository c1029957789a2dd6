"""Writing a session back out as plain text: only ever at the user's explicit request."""

from __future__ import annotations

from reflect.session import Session

# Used only for VTT export of sessions that have no times: speech runs about 2.5 words/s.
_WORDS_PER_SECOND = 2.5


def _clock(seconds: float, *, millis: bool) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}" if millis else f"{h:02d}:{m:02d}:{s:02d}"


def render(session: Session, fmt: str) -> str:
    if fmt == "txt":
        return _txt(session)
    if fmt == "md":
        return _md(session)
    if fmt == "vtt":
        return _vtt(session)
    raise ValueError(fmt)


def _txt(session: Session) -> str:
    lines = []
    for t in session.turns:
        stamp = f"[{_clock(t.start, millis=False)}] " if t.start is not None else ""
        who = f"{t.speaker}: " if t.speaker else ""
        lines.append(f"{stamp}{who}{session.turn_text(t)}")
    return "\n".join(lines) + "\n"


def _md(session: Session) -> str:
    # Front matter keeps title and date readable by people and by reflect's own importer.
    out = ["---", f"title: {session.title}", f"date: {session.date.isoformat()}", "---", ""]
    out += [f"# {session.title}", ""]
    for t in session.turns:
        stamp = f"[{_clock(t.start, millis=False)}] " if t.start is not None else ""
        who = f"**{t.speaker}:** " if t.speaker else ""
        out += [f"{stamp}{who}{session.turn_text(t)}", ""]
    return "\n".join(out)


def _vtt(session: Session) -> str:
    out = ["WEBVTT", "", f"NOTE {session.title}, {session.date.isoformat()}", ""]
    if any(t.start is None for t in session.turns):
        out += ["NOTE Some times are estimated: the original transcript had none.", ""]
    clock = 0.0
    for t in session.turns:
        text = session.turn_text(t)
        start = t.start if t.start is not None else clock
        end = (
            t.end if t.end is not None else start + max(1.0, len(text.split()) / _WORDS_PER_SECOND)
        )
        clock = end
        body = f"<v {t.speaker}>{text}" if t.speaker else text
        out += [f"{_clock(start, millis=True)} --> {_clock(end, millis=True)}", body, ""]
    return "\n".join(out)
