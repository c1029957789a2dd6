"""The whole flow with the real models: nothing touches the network, no plaintext lands anywhere.

The flow (init, import of a transcript and of a recording, quotes, ask, saved moments kept,
listed and played, a note of the user's own and a PDF handout, the app's index with chromadb
built in the background) runs in a child process whose HOME, data, config, state, cache and
temp folders are fresh folders of this test, with a socket guard that records and
refuses any name lookup or non-local connection. Afterwards every byte under those folders is
searched for the marker sentences (UTF-8 and UTF-16) and for the raw float32 bytes of their
embeddings. The same flow runs again inside a network namespace without connectivity
(`unshare -n`) where that is available.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import grep_tree

MARKER = "the heron stood on one leg by the allotment gate 9317"
# The user's own note and a handout page: sealed and searchable like a session.
NOTE_MARKER = "the kettle whistled twice before the blackbird sang 5120"
HANDOUT_MARKER = "count the ceiling tiles slowly when the lamp is off 7741"
# The invented two-voice recording, transcribed by the bundled Whisper during the flow.
RECORDING = Path(__file__).parent / "fixtures" / "audio" / "session_stereo.opus"
RECORDED = "we walk by the river after dinner"
# A saved moment's label: the person's own words, sealed like the transcript.
LABEL = "when my head went quiet by the heron gate 4410"

TRANSCRIPT = textwrap.dedent(
    f"""\
    [00:00:04] Therapist: Where would you like to start today?
    [00:00:09] Jules: With the walk on Sunday. I saw {MARKER}, and for once my head went quiet.
    [00:00:31] Therapist: What was it like when your head went quiet?
    [00:00:36] Jules: Like putting down a heavy bag. I want more of that feeling.
    [00:01:02] Therapist: Then let's look at when else you have had it this week.
    """
)

FLOW = textwrap.dedent(
    """
    import json, socket, sys

    attempts = []

    def _local(address):
        host = address[0] if isinstance(address, tuple) else address
        return isinstance(host, str) and (host.startswith("127.") or host in ("::1", "localhost"))

    def guard(original, describe):
        def guarded(*args, **kwargs):
            target = describe(*args, **kwargs)
            if target is not None:
                attempts.append(repr(target))
                raise OSError("network access is forbidden in this test")
            return original(*args, **kwargs)
        return guarded

    def on_connect(sock, address, *rest):
        if sock.family == socket.AF_UNIX or _local(address):
            return None
        return address

    socket.socket.connect = guard(socket.socket.connect, on_connect)
    socket.socket.connect_ex = guard(socket.socket.connect_ex, on_connect)
    socket.getaddrinfo = guard(
        socket.getaddrinfo, lambda host, *a, **k: None if _local((host,)) or host is None else host
    )
    socket.gethostbyname = guard(
        socket.gethostbyname, lambda host: None if _local((host,)) else host
    )

    from reflect.cli import main

    source, pass_file, recording, label, handout, note = sys.argv[1:7]
    # No sound device here: playing a moment decodes it in memory and stops at the speaker.
    import reflect.audio
    reflect.audio.play = lambda samples, rate, **kw: None
    results = {}
    for name, argv in [
        ("init", ["init", "--passphrase-file", pass_file]),
        ("import", ["import", "--me", "Jules", source]),
        ("import recording", ["import", "--consented", recording]),
        ("quotes", ["quotes", "heron by the allotment gate", "--json"]),
        ("quotes recording", ["quotes", "walk the dog by the river", "--json"]),
        ("ask", ["ask", "what did I see on the Sunday walk?", "--json"]),
        ("keep", ["keep", "Sunday walk", "--turn", "2", "--label", label]),
        ("keep recording", ["keep", "Session stereo", "--at", "0:28"]),
        ("moments", ["moments", "--json"]),
        ("moments play", ["moments", "play", "2"]),
        ("note", ["note", note]),
        ("handout", ["import", "--handout", handout, "--title", "Night routine"]),
        ("quotes note", ["quotes", "kettle whistled before the blackbird", "--json"]),
        ("quotes handout", ["quotes", "ceiling tiles when the lamp is off", "--json"]),
        ("notes", ["notes", "--json"]),
        ("handouts", ["handouts", "--json"]),
    ]:
        results[name] = main(argv)

    from reflect.index_record import decode_index_record
    from reflect.service import Reflect
    from reflect.testing import store_of
    from reflect import paths
    service = Reflect.unlock(paths.resolve_vault_dir(None), open(pass_file).read().strip())
    # As the app opens it: exact search at once, chromadb's index built in a background
    # thread, then serving. That must leave nothing on disk either.
    import time
    service.open_index()
    index = service._live_index().index
    deadline = time.monotonic() + 120
    while not index.store_serving and time.monotonic() < deadline:
        time.sleep(0.05)
    found = service.quotes("heron by the allotment gate").hits
    results["app index"] = 0 if index.store_serving and found else 1
    prefixes = []
    found_note = service.quotes("kettle whistled before the blackbird").hits
    found_handout = service.quotes("ceiling tiles when the lamp is off").hits
    results["app note"] = 0 if found_note and found_note[0].source == "note" else 1
    results["app handout"] = 0 if found_handout and found_handout[0].page == 1 else 1
    for summary in store_of(service).catalog():  # sessions, the note and the handout
        _, _, vectors = decode_index_record(store_of(service).index_record(summary.id))
        prefixes += [v[:16].astype("<f4").tobytes().hex() for v in vectors]
    print("RESULT " + json.dumps({
        "exit_codes": results,
        "attempts": attempts,
        "sessions": len(service.sessions()),
        "moments": [m.label for m in service.moments()],
        "vector_prefixes": prefixes,
        "records": len(store_of(service).catalog()),
    }))
    """
)


def run_flow(tmp_path: Path, wrapper: list[str]) -> tuple[dict, Path]:  # type: ignore[type-arg]
    root = tmp_path / "machine"
    dirs = {name: root / name for name in ("home", "data", "config", "state", "cache", "tmp")}
    for d in dirs.values():
        d.mkdir(parents=True)
    # The bundled chat model lives in the cache; link it rather than assembling 491 MB again.
    from reflect.bundled import chat_model_path

    model = chat_model_path()
    linked = dirs["cache"] / "reflect" / "models" / model.name
    linked.parent.mkdir(parents=True)
    os.symlink(model, linked)
    for stamp in model.parent.glob(model.name + ".*"):
        shutil.copy(stamp, linked.parent / stamp.name)
    source = tmp_path / "source" / "2025-06-01 sunday walk.txt"
    source.parent.mkdir()
    source.write_text(TRANSCRIPT)
    from tests.pdf_fixtures import make_pdf

    handout = tmp_path / "source" / "night-routine.pdf"
    handout.write_bytes(make_pdf([["Night routine", f"Then {HANDOUT_MARKER}."]]))
    pass_file = tmp_path / "source" / "pass.txt"
    pass_file.write_text("offline flow passphrase\n")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("XDG_", "REFLECT_", "HF_", "TRANSFORMERS_"))
    }
    env.update(
        HOME=str(dirs["home"]),
        XDG_DATA_HOME=str(dirs["data"]),
        XDG_CONFIG_HOME=str(dirs["config"]),
        XDG_STATE_HOME=str(dirs["state"]),
        XDG_CACHE_HOME=str(dirs["cache"]),
        TMPDIR=str(dirs["tmp"]),
        REFLECT_PASSPHRASE_FILE=str(pass_file),
    )
    proc = subprocess.run(
        [
            *wrapper,
            sys.executable,
            "-c",
            FLOW,
            str(source),
            str(pass_file),
            str(RECORDING),
            LABEL,
            str(handout),
            f"Before work {NOTE_MARKER}.",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT ")), root


def check_flow(result: dict, root: Path) -> None:  # type: ignore[type-arg]
    assert set(result["exit_codes"].values()) == {0}, result["exit_codes"]
    assert result["attempts"] == []
    assert result["sessions"] == 2
    assert result["moments"] == [LABEL, ""]
    assert result["records"] == 4  # two sessions, a note, a handout
    needles = [
        marker.encode(encoding)
        for marker in (MARKER, NOTE_MARKER, HANDOUT_MARKER)
        for encoding in ("utf-8", "utf-16-le", "utf-16-be")
    ]
    needles += [LABEL.encode(), LABEL.encode("utf-16-le")]
    # What the recording says (as transcribed), and any stretch of the audio itself.
    needles += [RECORDED.encode(), RECORDED.encode("utf-16-le")]
    audio = RECORDING.read_bytes()
    needles += [audio[i : i + 48] for i in range(1000, len(audio) - 48, len(audio) // 8)]
    needles += [bytes.fromhex(prefix) for prefix in result["vector_prefixes"]]
    assert len(result["vector_prefixes"]) >= 1
    leaks = [p for p in grep_tree(root, needles) if not p.is_symlink()]
    assert leaks == [], f"plaintext or embedding bytes found in {leaks}"


@pytest.mark.slow
def test_full_flow_offline_with_socket_guard_and_no_plaintext(tmp_path: Path) -> None:
    result, root = run_flow(tmp_path, [])
    check_flow(result, root)


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _unshare_works(), reason="unshare -n is not permitted here")
def test_full_flow_in_a_network_namespace_without_connectivity(tmp_path: Path) -> None:
    result, root = run_flow(tmp_path, ["unshare", "-n"])
    check_flow(result, root)
