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

Another script renders the same way with `--script` and `--out` (relative paths are taken from
the repository root); its speaker letters come from a `# speakers: N=Name, T=Name` comment line
in the script (without one, `J`/`T` are Jonah and Helen):

    python bench/eval/make_history_sessions.py --script bench/eval/history2_script.txt \
        --out bench/eval/history2
    python bench/eval/make_history_sessions.py --script bench/eval/history3_script.txt \
        --out bench/eval/history3
    python bench/eval/make_history_sessions.py --script bench/eval/history4_script.txt \
        --out bench/eval/history4
    python bench/eval/make_history_sessions.py --script bench/eval/history5_script.txt \
        --out bench/eval/history5
    python bench/eval/make_history_sessions.py --script bench/eval/history6_script.txt \
        --out bench/eval/history6
    python bench/eval/make_history_sessions.py --script bench/eval/history7_script.txt \
        --out bench/eval/history7
    python bench/eval/make_history_sessions.py --script bench/eval/history8_script.txt \
        --out bench/eval/history8
    python bench/eval/make_history_sessions.py --script bench/eval/history9_script.txt \
        --out bench/eval/history9
    python bench/eval/make_history_sessions.py --script bench/eval/history10_script.txt \
        --out bench/eval/history10
    python bench/eval/make_history_sessions.py --script bench/eval/history11_script.txt \
        --out bench/eval/history11
    python bench/eval/make_history_sessions.py --script bench/eval/history12_script.txt \
        --out bench/eval/history12
    python bench/eval/make_history_sessions.py --script bench/eval/history13_script.txt \
        --out bench/eval/history13
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


def script_speakers(path: Path) -> dict[str, str]:
    """The `# speakers: N=Name, T=Name` line of a script, or Jonah and Helen."""
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.startswith("# speakers:"):
            pairs = (p.split("=", 1) for p in raw.split(":", 1)[1].split(","))
            return {k.strip(): v.strip() for k, v in pairs}
    return SPEAKERS


def parse_script(path: Path = SCRIPT) -> list[demo.ScriptSession]:
    """Same grammar as demo_script.txt, with the history's speaker letters."""
    speakers = script_speakers(path)
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
        if line[:1] in speakers and line[1:3] == ": ":
            cur.turns.append(demo.ScriptTurn(speakers[line[0]], line[3:].strip(), pending_pause))
            pending_pause = 0.0
            continue
        if raw[:1] in " \t" and cur.turns:
            cur.turns[-1].text += " " + line.strip()
            continue
        raise SystemExit(f"{path.name}:{lineno}: can't read line: {line[:40]!r}")
    return sessions


def render_all(script: Path = SCRIPT) -> dict[str, str]:
    files: dict[str, str] = {}
    for i, session in enumerate(parse_script(script), 1):
        turns = demo.time_session(session, seed=SEED_BASE + i)
        files[session.file] = demo.render_bracketed(turns, session)
    return files


def stats(script: Path = SCRIPT) -> list[str]:
    lines = []
    for i, session in enumerate(parse_script(script), 1):
        turns = demo.time_session(session, seed=SEED_BASE + i)
        words = sum(len(t.text.split()) for t in turns)
        lines.append(
            f"{session.file:24s} turns={len(turns):3d} words={words:5d} "
            f"duration={demo.otter_clock(turns[-1].end)}"
        )
    return lines


def stale_files(script: Path = SCRIPT, out_dir: Path = OUT_DIR) -> list[str]:
    files = render_all(script)
    stale = [
        name
        for name, text in files.items()
        if not (out_dir / name).is_file() or (out_dir / name).read_text(encoding="utf-8") != text
    ]
    extra = (
        sorted(p.name for p in out_dir.glob("*.txt") if p.name not in files)
        if out_dir.is_dir()
        else []
    )
    return stale + [f"{name} (not in the script)" for name in extra]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only verify the files are up to date")
    ap.add_argument("--stats", action="store_true", help="print turns/words/duration per session")
    ap.add_argument("--script", type=Path, default=SCRIPT, help="the script to render")
    ap.add_argument("--out", type=Path, default=OUT_DIR, help="the folder to write")
    args = ap.parse_args(argv)
    script = args.script if args.script.is_absolute() else REPO / args.script
    out_dir = args.out if args.out.is_absolute() else REPO / args.out
    shown = out_dir.relative_to(REPO).as_posix() if out_dir.is_relative_to(REPO) else out_dir.name
    if args.stats:
        print("\n".join(stats(script)))
    if args.check:
        stale = stale_files(script, out_dir)
        for name in stale:
            print(f"out of date: {shown}/{name}", file=sys.stderr)
        return 1 if stale else 0
    if args.stats:
        return 0
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in render_all(script).items():
        (out_dir / name).write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {shown}/{name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
