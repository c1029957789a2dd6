"""Render the invented multi-session history from `history_script.txt` into `bench/eval/history/`.

Everyone in the history (the client "Jonah", the therapist "Helen", their families, the school,
the care home, the places) is invented. `history_script.txt` holds the twelve sessions as
speaker-tagged lines (`J:` Jonah, `T:` Helen). Times are computed exactly as the demo generator
computes them (`make_demo_sessions.time_session`: about 2.5 words a second, short gaps, a longer
gap after a question, `~ N` for extra silence), with one seed per session, so the output is
deterministic. Every session is written as `[hh:mm:ss] Name: text` lines.

    python bench/eval/make_history_sessions.py            # write the files
    python bench/eval/make_history_sessions.py --check    # fail if the files are out of date
    python bench/eval/make_history_sessions.py --stats    # turns / words / duration per session
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_demo_sessions as demo  # noqa: E402  (timing and the bracketed format are shared)

REPO = HERE.parent.parent
SCRIPT = HERE / "history_script.txt"
OUT_DIR = HERE / "history"
SPEAKERS = {"J": "Jonah", "T": "Helen"}
SEED_BASE = 2025_00


def parse_script(path: Path = SCRIPT) -> list[demo.ScriptSession]:
    """Same grammar as demo_script.txt, with the history's speaker letters."""
    sessions: list[demo.ScriptSession] = []
    pending_pause = 0.0
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("==="):
            parts = [p.strip() for p in line[3:].split("|")]
            if len(parts) != 3 or parts[1] != "bracketed":
                raise SystemExit(f"{path.name}:{lineno}: expected '=== file | bracketed | title'")
            sessions.append(demo.ScriptSession(*parts))
            continue
        if not sessions:
            raise SystemExit(f"{path.name}:{lineno}: text before the first '===' header")
        cur = sessions[-1]
        if line.startswith("~"):
            pending_pause += float(line[1:])
            continue
        if line[:1] in SPEAKERS and line[1:3] == ": ":
            cur.turns.append(demo.ScriptTurn(SPEAKERS[line[0]], line[3:].strip(), pending_pause))
            pending_pause = 0.0
            continue
        if raw[:1] in " \t" and cur.turns:
            cur.turns[-1].text += " " + line.strip()
            continue
        raise SystemExit(f"{path.name}:{lineno}: can't read line: {line[:40]!r}")
    return sessions


def render_all() -> dict[str, str]:
    files: dict[str, str] = {}
    for i, session in enumerate(parse_script(), 1):
        turns = demo.time_session(session, seed=SEED_BASE + i)
        files[session.file] = demo.render_bracketed(turns, session)
    return files


def stats() -> list[str]:
    lines = []
    for i, session in enumerate(parse_script(), 1):
        turns = demo.time_session(session, seed=SEED_BASE + i)
        words = sum(len(t.text.split()) for t in turns)
        lines.append(
            f"{session.file:24s} turns={len(turns):3d} words={words:5d} "
            f"duration={demo.otter_clock(turns[-1].end)}"
        )
    return lines


def stale_files() -> list[str]:
    files = render_all()
    stale = [
        name
        for name, text in files.items()
        if not (OUT_DIR / name).is_file() or (OUT_DIR / name).read_text(encoding="utf-8") != text
    ]
    extra = (
        sorted(p.name for p in OUT_DIR.glob("*.txt") if p.name not in files)
        if OUT_DIR.is_dir()
        else []
    )
    return stale + [f"{name} (not in the script)" for name in extra]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only verify the files are up to date")
    ap.add_argument("--stats", action="store_true", help="print turns/words/duration per session")
    args = ap.parse_args(argv)
    if args.stats:
        print("\n".join(stats()))
    if args.check:
        stale = stale_files()
        for name in stale:
            print(f"out of date: bench/eval/history/{name}", file=sys.stderr)
        return 1 if stale else 0
    if args.stats:
        return 0
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in render_all().items():
        (OUT_DIR / name).write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote bench/eval/history/{name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
