"""Render the invented demo sessions from `demo_script.txt` into `reflect/demo/sessions/`.

The people in the demo (the client "Sam", the therapist "Dr. Rivera", their families, the
places) are invented. `demo_script.txt` holds each session once, as speaker-tagged lines;
this script gives every turn plausible times (about 2.5 spoken words a second, short gaps,
a longer pause after some questions) and writes each session in a different import format:

    vtt-voice  WebVTT with <v Name> voice tags        (session 1)
    srt        SubRip, "Name: text" in each cue        (session 2)
    bracketed  "[hh:mm:ss] Name: text" lines           (session 3)
    markdown   "**Name:** text" lines, no times        (session 4)
    whisper    Whisper-style JSON segments + speaker   (session 5)
    otter      "Name  m:ss" line, then the text        (session 6)
    vtt-zoom   Zoom WebVTT, "Name: text" in each cue   (session 7)
    plain      "Name: text" lines, no times            (session 8)

Subtitle-like formats (vtt, srt, whisper) split a long turn into several cues at sentence
ends (and, for very long sentences, at a comma), the way captioning tools do. Output is
deterministic: run it again and the files come out byte-identical.

    python bench/eval/make_demo_sessions.py            # write the files
    python bench/eval/make_demo_sessions.py --check    # fail if the files are out of date
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SCRIPT = HERE / "demo_script.txt"
OUT_DIR = REPO / "reflect" / "demo" / "sessions"

SPEAKERS = {"S": "Sam", "T": "Dr. Rivera"}
WORDS_PER_SECOND = 2.5
CUE_MAX_WORDS = 16
SENTENCE_MAX_WORDS = 24


@dataclass
class ScriptTurn:
    speaker: str
    text: str
    pause_before: float = 0.0  # extra silence requested in the script ("~ 6" line)


@dataclass
class ScriptSession:
    file: str
    fmt: str
    title: str
    turns: list[ScriptTurn] = field(default_factory=list)


@dataclass
class TimedTurn:
    speaker: str
    text: str
    start: float
    end: float
    cues: list[tuple[float, float, str]]


def parse_script(path: Path) -> list[ScriptSession]:
    """Read demo_script.txt.

    `=== <file name> | <format> | <title>` starts a session; `S: ...` / `T: ...` are turns
    (a turn may continue on following indented lines); `~ <seconds>` asks for a silence
    before the next turn; lines starting with `#` and blank lines are ignored.
    """
    sessions: list[ScriptSession] = []
    pending_pause = 0.0
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("==="):
            parts = [p.strip() for p in line[3:].split("|")]
            if len(parts) != 3:
                raise SystemExit(f"{path.name}:{lineno}: expected '=== file | format | title'")
            sessions.append(ScriptSession(*parts))
            continue
        if not sessions:
            raise SystemExit(f"{path.name}:{lineno}: text before the first '===' header")
        cur = sessions[-1]
        if line.startswith("~"):
            pending_pause += float(line[1:])
            continue
        if line[:1] in SPEAKERS and line[1:3] == ": ":
            cur.turns.append(ScriptTurn(SPEAKERS[line[0]], line[3:].strip(), pending_pause))
            pending_pause = 0.0
            continue
        if raw[:1] in " \t" and cur.turns:
            cur.turns[-1].text += " " + line.strip()
            continue
        raise SystemExit(f"{path.name}:{lineno}: can't read line: {line[:40]!r}")
    return sessions


def split_cues(text: str) -> list[str]:
    """Split a turn into caption-sized pieces at sentence ends, never inside a sentence
    unless it is very long (then at a comma)."""
    sentences = re.split(r"(?<=[.?!])\s+", text)
    pieces: list[str] = []
    for s in sentences:
        if len(s.split()) <= SENTENCE_MAX_WORDS:
            pieces.append(s)
            continue
        chunk: list[str] = []
        for part in re.split(r"(?<=,)\s+", s):
            if chunk and len(" ".join([*chunk, part]).split()) > SENTENCE_MAX_WORDS:
                pieces.append(" ".join(chunk))
                chunk = []
            chunk.append(part)
        if chunk:
            pieces.append(" ".join(chunk))
    cues: list[str] = []
    for p in pieces:
        if cues and len((cues[-1] + " " + p).split()) <= CUE_MAX_WORDS:
            cues[-1] += " " + p
        else:
            cues.append(p)
    return cues


def time_session(session: ScriptSession, seed: int) -> list[TimedTurn]:
    rng = random.Random(seed)
    t = rng.uniform(2.0, 5.0)
    timed: list[TimedTurn] = []
    prev: ScriptTurn | None = None
    for turn in session.turns:
        if prev is not None:
            gap = rng.uniform(0.4, 1.6)
            if prev.text.endswith("?"):
                gap += rng.uniform(0.5, 3.0)
            t += gap + turn.pause_before
        rate = WORDS_PER_SECOND * rng.uniform(0.85, 1.08)
        cues: list[tuple[float, float, str]] = []
        start = t
        for piece in split_cues(turn.text):
            dur = max(0.7, len(piece.split()) / rate)
            cues.append((round(t, 2), round(t + dur, 2), piece))
            t += dur + rng.uniform(0.15, 0.6)
        end = cues[-1][1]
        t = end
        timed.append(TimedTurn(turn.speaker, turn.text, round(start, 2), end, cues))
        prev = turn
    return timed


def hms(seconds: float, sep: str = ".") -> str:
    ms = round(seconds * 1000)
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def otter_clock(seconds: float) -> str:
    s = int(seconds)
    h, m, sec = s // 3600, s % 3600 // 60, s % 60
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def render_vtt_voice(turns: list[TimedTurn], session: ScriptSession) -> str:
    out = ["WEBVTT", ""]
    for tt in turns:
        for a, b, text in tt.cues:
            out += [f"{hms(a)} --> {hms(b)}", f"<v {tt.speaker}>{text}</v>", ""]
    return "\n".join(out)


def render_vtt_zoom(turns: list[TimedTurn], session: ScriptSession) -> str:
    out = ["WEBVTT", ""]
    n = 0
    for tt in turns:
        for a, b, text in tt.cues:
            n += 1
            out += [str(n), f"{hms(a)} --> {hms(b)}", f"{tt.speaker}: {text}", ""]
    return "\n".join(out)


def render_srt(turns: list[TimedTurn], session: ScriptSession) -> str:
    out: list[str] = []
    n = 0
    for tt in turns:
        for a, b, text in tt.cues:
            n += 1
            out += [str(n), f"{hms(a, ',')} --> {hms(b, ',')}", f"{tt.speaker}: {text}", ""]
    return "\n".join(out)


def render_bracketed(turns: list[TimedTurn], session: ScriptSession) -> str:
    return "".join(f"[{clock(tt.start)}] {tt.speaker}: {tt.text}\n" for tt in turns)


def render_markdown(turns: list[TimedTurn], session: ScriptSession) -> str:
    body = "\n\n".join(f"**{tt.speaker}:** {tt.text}" for tt in turns)
    return f"# {session.title}\n\n{body}\n"


def render_whisper(turns: list[TimedTurn], session: ScriptSession) -> str:
    segments = []
    for tt in turns:
        for a, b, text in tt.cues:
            segments.append(
                {
                    "id": len(segments),
                    "start": a,
                    "end": b,
                    "text": " " + text,
                    "speaker": tt.speaker,
                }
            )
    return json.dumps({"language": "en", "segments": segments}, ensure_ascii=False, indent=2) + "\n"


def render_otter(turns: list[TimedTurn], session: ScriptSession) -> str:
    blocks = [f"{tt.speaker}  {otter_clock(tt.start)}\n{tt.text}" for tt in turns]
    return "\n\n".join(blocks) + "\n"


def render_plain(turns: list[TimedTurn], session: ScriptSession) -> str:
    return "".join(f"{tt.speaker}: {tt.text}\n" for tt in turns)


RENDERERS = {
    "vtt-voice": render_vtt_voice,
    "vtt-zoom": render_vtt_zoom,
    "srt": render_srt,
    "bracketed": render_bracketed,
    "markdown": render_markdown,
    "whisper": render_whisper,
    "otter": render_otter,
    "plain": render_plain,
}


def render_all() -> dict[str, str]:
    files: dict[str, str] = {}
    for i, session in enumerate(parse_script(SCRIPT), 1):
        if session.fmt not in RENDERERS:
            raise SystemExit(f"{session.file}: unknown format {session.fmt!r}")
        turns = time_session(session, seed=2026_00 + i)
        files[session.file] = RENDERERS[session.fmt](turns, session)
    return files


def stats() -> list[str]:
    lines = []
    for i, session in enumerate(parse_script(SCRIPT), 1):
        turns = time_session(session, seed=2026_00 + i)
        words = sum(len(t.text.split()) for t in turns)
        longest = max(len(t.text.split()) for t in turns)
        lines.append(
            f"{session.file:28s} {session.fmt:10s} turns={len(turns):3d} words={words:5d} "
            f"longest_turn={longest:3d}w duration={otter_clock(turns[-1].end)}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only verify the files are up to date")
    ap.add_argument("--stats", action="store_true", help="print turns/words/duration per session")
    args = ap.parse_args(argv)
    files = render_all()
    if args.stats:
        print("\n".join(stats()))
    if args.check:
        stale = [
            name
            for name, text in files.items()
            if not (OUT_DIR / name).is_file()
            or (OUT_DIR / name).read_text(encoding="utf-8") != text
        ]
        for name in stale:
            print(f"out of date: {OUT_DIR.relative_to(REPO) / name}", file=sys.stderr)
        return 1 if stale else 0
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (OUT_DIR / name).write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {OUT_DIR.relative_to(REPO) / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
