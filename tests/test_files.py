"""The safe writer: atomic replacement, the umask's mode, special files, and planted links."""

import os
import stat
import subprocess
import sys
import threading

import polars as pl
import pytest
from typer.testing import CliRunner

import kldrift
from kldrift import files, profile_file
from kldrift.cli import app
from kldrift.errors import OutputError

from .conftest import SAMPLE, forbid

runner = CliRunner()
SAMPLE_ARGS = ["compare", str(SAMPLE / "reference.csv"), str(SAMPLE / "current.csv")]


@pytest.fixture
def umask():
    """Set the process umask for one test."""
    saved = os.umask(0o022)
    yield os.umask
    os.umask(saved)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_gets_the_umasks_mode(tmp_path, umask, mask, mode):
    umask(mask)
    files.write_text(tmp_path / "r.json", "{}\n")
    assert stat.S_IMODE(os.stat(tmp_path / "r.json").st_mode) == mode
    files.append_text(tmp_path / "summary.md", "x\n")
    assert stat.S_IMODE(os.stat(tmp_path / "summary.md").st_mode) == mode


def test_a_replaced_file_keeps_its_mode_and_gets_the_whole_text(tmp_path, umask):
    target = tmp_path / "r.json"
    target.write_text("old")
    target.chmod(0o640)
    files.write_text(target, "new\n" * 10_000)
    assert target.read_text() == "new\n" * 10_000
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert os.listdir(tmp_path) == ["r.json"]


def test_report_and_profile_files_get_the_umasks_mode_from_the_cli(tmp_path, umask):
    umask(0o022)
    out, prof = tmp_path / "r.json", tmp_path / "p.kldrift.json"
    assert runner.invoke(app, [*SAMPLE_ARGS, "-f", "json", "-o", str(out)]).exit_code == 1
    assert runner.invoke(app, ["profile", SAMPLE_ARGS[1], "-o", str(prof)]).exit_code == 0
    assert {stat.S_IMODE(os.stat(p).st_mode) for p in (out, prof)} == {0o644}


def _profile():
    return kldrift.profile_data(pl.DataFrame({"x": [1.0, 2.0, 3.0]}))


def test_a_link_planted_at_the_old_predictable_temporary_name_is_not_followed(tmp_path):
    # The attack on the profile writer: it used to write ".NAME.<pid>.tmp" and follow a link there.
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    target = tmp_path / "p.kldrift.json"
    (tmp_path / f".{target.name}.{os.getpid()}.tmp").symlink_to(victim)
    profile_file.save(_profile(), target)
    assert victim.read_text() == "precious"
    assert profile_file.load(target).rows == 3 and not target.is_symlink()


@pytest.mark.parametrize("write", [files.write_text, files.append_text])
def test_a_link_at_the_target_is_refused_and_its_target_untouched(tmp_path, write):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "out.md"
    link.symlink_to(victim)
    with pytest.raises(OutputError, match="out.md: cannot write: a symbolic link"):
        write(link, "attack")
    assert victim.read_text() == "precious" and link.is_symlink()
    assert sorted(os.listdir(tmp_path)) == ["out.md", "victim.txt"]


def test_cli_output_onto_a_link_is_a_one_line_error(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "r.json").symlink_to(victim)
    result = runner.invoke(app, [*SAMPLE_ARGS, "-f", "json", "-o", str(tmp_path / "r.json")])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "r.json: cannot write: a symbolic link" in result.stderr
    assert victim.read_text() == "precious"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("link.json", "link.json: cannot write: a symbolic link"),
        ("no/such/dir/p.json", "cannot write: no directory"),
        ("s3://bucket/p.json", "s3://bucket/p.json: {what} are written to local files"),
    ],
)
@pytest.mark.parametrize("command", ["profile", "history"])
def test_profile_and_history_refuse_their_target_before_the_work(
    tmp_path, monkeypatch, command, target, message
):
    forbid(monkeypatch, "kldrift.reference.profile_data", "kldrift.historydb.read")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "link.json").symlink_to(victim)
    out = target if "://" in target else str(tmp_path / target)
    data = SAMPLE_ARGS[1] if command == "profile" else str(tmp_path / "drift.db")
    result = runner.invoke(app, [command, data, "-o", out])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.stderr
    what = "profiles" if command == "profile" else "reports"
    assert message.format(what=what) in result.stderr
    assert victim.read_text() == "precious"


MONITOR_ARGS = ["monitor", SAMPLE_ARGS[2], "-r", SAMPLE_ARGS[1], "--history", "h.db"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([*SAMPLE_ARGS, "-o", "r.txt", "--html", "r.txt"], "--output and --html both name r.txt"),
        (
            [*SAMPLE_ARGS, "-o", "./r.txt", "--html", "r.txt"],
            "--output and --html both name one file (./r.txt and r.txt)",
        ),
        (
            [*SAMPLE_ARGS, "--html", "alias/r.txt", "-o", "real/r.txt"],
            "--output and --html both name one file (real/r.txt and alias/r.txt)",
        ),
        (
            [*SAMPLE_ARGS, "-o", "hard.txt", "--html", "r.txt"],
            "--output and --html both name one file (hard.txt and r.txt)",
        ),
        ([*MONITOR_ARGS, "-o", "h.db"], "--output and --history both name h.db"),
        (
            [*MONITOR_ARGS, "--html", "./h.db"],
            "--html and --history both name one file (./h.db and h.db)",
        ),
    ],
)
def test_two_outputs_naming_one_file_are_refused_before_the_work(
    tmp_path, monkeypatch, args, message
):
    # Written one after the other, the second would silently replace the first.
    forbid(monkeypatch, "kldrift.drift.compare")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to("real")
    for precious in (tmp_path / "r.txt", tmp_path / "real" / "r.txt"):
        precious.write_text("precious")
    os.link(tmp_path / "r.txt", tmp_path / "hard.txt")
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr == f"kldrift: error: {message}\n"
    assert (tmp_path / "r.txt").read_text() == "precious"
    assert (tmp_path / "real" / "r.txt").read_text() == "precious"
    assert not (tmp_path / "h.db").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["compare", "ref.csv", "cur.csv", "-o", "cur.csv"],
            "--output would replace cur.csv, which CURRENT reads",
        ),
        (
            ["compare", "ref.csv", "cur.csv", "--html", "./ref.csv"],
            "--html would replace ref.csv (as ./ref.csv), which REFERENCE reads",
        ),
        (
            ["compare", "ref.csv", "parts/*.csv", "-o", "parts/b.csv"],
            "--output would replace parts/b.csv, which CURRENT reads",
        ),
        (
            ["compare", "ref.csv", "parts", "-o", "link/a.csv"],
            "--output would replace parts/a.csv (as link/a.csv), which CURRENT reads",
        ),
        (
            ["compare", "ref.csv", "cur.csv", "-o", "hard.csv"],
            "--output would replace cur.csv (as hard.csv), which CURRENT reads",
        ),
        (
            ["profile", "ref.csv", "-o", "ref.csv"],
            "--output would replace ref.csv, which DATA reads",
        ),
        (
            ["profile", "cur.csv", "--bins-from", "ref.json", "-o", "ref.json"],
            "--output would replace ref.json, which --bins-from reads",
        ),
        (
            ["profile", "--merge", "ref.json", "cur.json", "-o", "cur.json"],
            "--output would replace cur.json, which DATA reads",
        ),
        (
            ["monitor", "cur.csv", "-r", "ref.json", "--history", "h.db", "--html", "ref.json"],
            "--html would replace ref.json, which --reference reads",
        ),
        (["history", "h.db", "-o", "h.db"], "--output would replace h.db, which DATABASE reads"),
    ],
)
def test_an_output_naming_a_file_the_run_reads_is_refused_before_the_work(
    tmp_path, monkeypatch, args, message
):
    # Written after the run, the report would replace the data (or history) it was made from.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "parts").mkdir()
    (tmp_path / "link").symlink_to("parts")
    inputs = {"ref.csv": "reference.csv", "cur.csv": "current.csv"}
    inputs |= {"parts/a.csv": "current.csv", "parts/b.csv": "current.csv"}
    for name, sample in inputs.items():
        (tmp_path / name).write_bytes((SAMPLE / sample).read_bytes())
    os.link(tmp_path / "cur.csv", tmp_path / "hard.csv")
    made = ["profile", "ref.csv", "-o", "ref.json", "-q"]
    assert runner.invoke(app, made).exit_code == 0
    made = ["profile", "cur.csv", "--bins-from", "ref.json", "-o", "cur.json", "-q"]
    assert runner.invoke(app, made).exit_code == 0
    monitor = ["monitor", "cur.csv", "-r", "ref.json", "--history", "h.db", "-q"]
    assert runner.invoke(app, monitor).exit_code == 1

    def contents():
        # SQLite's -wal and -shm sidecars, which a read-only look at a WAL database may leave
        # (as `kldrift history` does), are not data.
        found = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink()]
        return {p: p.read_bytes() for p in found if not p.name.endswith(("-wal", "-shm"))}

    before = contents()

    forbid(monkeypatch, "kldrift.drift.compare", "kldrift.profile.merge", "kldrift.historydb.read")
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr == f"kldrift: error: {message}\n"
    assert contents() == before


def test_outputs_beside_the_inputs_are_written(tmp_path, monkeypatch):
    # A glob or directory of inputs refuses only the files it reads, not their neighbours.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "a.csv").write_bytes((SAMPLE / "current.csv").read_bytes())
    ref = str(SAMPLE / "reference.csv")
    args = ["compare", ref, "parts", "-o", "parts/report.txt", "--html", "parts/r.html", "-q"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.stderr
    assert "income" in (tmp_path / "parts" / "report.txt").read_text()
    assert (tmp_path / "parts" / "r.html").read_text().startswith("<!DOCTYPE html>")


def test_a_device_may_take_several_outputs():
    result = runner.invoke(app, [*SAMPLE_ARGS, "-o", os.devnull, "--html", os.devnull])
    assert result.exit_code == 1, result.stderr


def test_a_fifo_is_written_through_and_stays_a_fifo(tmp_path):
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    received = []
    ready = threading.Event()

    def read():
        with open(fifo, "rb") as pipe:  # blocks until the writer opens it
            ready.set()
            received.append(pipe.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    # A writer that opens before the reader is refused rather than left hanging: wait for it.
    for _ in range(200):
        try:
            files.write_text(fifo, "report\n")
            break
        except OutputError as exc:
            assert "a FIFO with no reader" in str(exc)
            ready.wait(0.05)
    reader.join(10)
    assert received == [b"report\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_fifo_without_a_reader_is_an_error_not_a_hang(tmp_path):
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="out.fifo: cannot write: a FIFO with no reader"):
        files.write_text(fifo, "report\n")


def test_devices_are_written_through_not_replaced():
    files.write_text("/dev/null", "report\n")
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)
    with pytest.raises(OutputError, match="/dev/full: cannot write: No space left on device"):
        files.write_text("/dev/full", "report\n")
    assert stat.S_ISCHR(os.lstat("/dev/full").st_mode)


@pytest.mark.parametrize("write", [files.write_text, files.append_text])
def test_a_link_to_a_device_is_written_through(tmp_path, write):
    link = tmp_path / "null"
    link.symlink_to("/dev/null")
    write(link, "report\n")
    assert link.is_symlink() and stat.S_ISCHR(os.stat(link).st_mode)


@pytest.mark.slow
def test_dev_stdout_on_a_pipe_gets_the_report():
    script = "from kldrift import files; files.write_text('/dev/stdout', 'hi')"
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "hi", "")


def test_a_directory_or_a_socket_is_refused(tmp_path):
    with pytest.raises(OutputError, match="a directory, not a regular file"):
        files.write_text(tmp_path, "x")
    import socket

    path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        with pytest.raises(OutputError, match="a socket, not a regular file"):
            files.write_text(path, "x")
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


def test_step_summary_that_cannot_be_written_is_a_warning_and_keeps_the_verdict(
    tmp_path, monkeypatch
):
    victim = tmp_path / "victim.md"
    victim.write_text("precious")
    for bad in (tmp_path, tmp_path / "link.md"):
        (tmp_path / "link.md").unlink(missing_ok=True)
        (tmp_path / "link.md").symlink_to(victim)
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(bad))
        result = runner.invoke(app, [*SAMPLE_ARGS, "-f", "json"])
        assert result.exit_code == 1, result.stderr  # the verdict, not 2
        assert result.stderr.startswith("kldrift: warning: ") and result.stderr.count("\n") == 1
        assert "$GITHUB_STEP_SUMMARY" in result.stderr
    assert victim.read_text() == "precious"


def test_check_target_refuses_what_write_text_would(tmp_path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "lnk").symlink_to(tmp_path / "victim")
    (tmp_path / "plain").write_text("x")
    for bad, message in [
        (tmp_path / "none" / "x.json", "no directory"),
        (tmp_path / "plain" / "x.json", "[Nn]ot a directory"),
        (tmp_path / "dir", "a directory, not a regular file"),
        (tmp_path / "lnk", "a symbolic link, not a regular file"),
    ]:
        with pytest.raises(OutputError, match=message):
            files.check_target(bad)
        with pytest.raises(OutputError, match="cannot write"):
            files.write_text(bad, "x")
    files.check_target(tmp_path / "new.json")
    files.check_target(tmp_path / "plain")
    files.check_target("/dev/null")
    assert not (tmp_path / "victim").exists()


@pytest.mark.parametrize("tail", ["/", "/."])
@pytest.mark.parametrize("option", ["-o", "--html"])
def test_an_output_named_like_a_directory_is_refused_not_written_as_a_file(
    tmp_path, monkeypatch, option, tail
):
    # Path("out.txt/") is Path("out.txt"): the report would have gone to a file "out.txt".
    forbid(monkeypatch, "kldrift.drift.compare")
    (tmp_path / "old.txt").write_text("precious")
    for name in ("new.txt", "old.txt"):
        target = f"{tmp_path / name}{tail}"
        result = runner.invoke(app, [*SAMPLE_ARGS, option, target])
        assert result.exit_code == 2
        assert result.stderr == (
            f"kldrift: error: {target}: cannot write: a name ending in {tail!r} is a directory's\n"
        )
    assert not (tmp_path / "new.txt").exists()
    assert (tmp_path / "old.txt").read_text() == "precious"
    for write in (files.write_text, files.append_text):
        with pytest.raises(OutputError, match="is a directory's"):
            write(f"{tmp_path / 'new.md'}/", "x")
    assert not (tmp_path / "new.md").exists()
