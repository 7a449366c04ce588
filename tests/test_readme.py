"""The README's code blocks marked `runnable` run and print what their comments say."""

import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```python runnable\n(.*?)^```", README, flags=re.MULTILINE | re.DOTALL)


def test_the_readme_has_runnable_blocks():
    assert BLOCKS


@pytest.mark.parametrize("code", BLOCKS)
def test_a_runnable_block_prints_what_its_comments_say(code):
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    printed = done.stdout.splitlines()
    # A print call's comment holding a quoted text names its whole output line.
    expected = re.findall(r'^print\(.*\)\s+# "(.*)"$', code, flags=re.MULTILINE)
    assert expected
    for text in expected:
        assert text in printed, f"{text!r} not printed; got {printed}"


def test_no_doc_installs_kldrift_from_an_index_it_is_not_on():
    # kldrift is installed from a checkout or its repository; "pip install kldrift" fails.
    for path in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        lines = path.read_text(encoding="utf-8").splitlines()
        installs = [line for line in lines if re.search(r"pip install kldrift\b(?![\[@])", line)]
        assert all("fails" in line for line in installs), path.name  # only to say it fails


def test_the_80_column_capture_is_the_current_output(monkeypatch):
    from typer.testing import CliRunner

    from kldrift.cli import app

    monkeypatch.chdir(ROOT)  # the capture names the files as typed from the root
    block = README.split("the output at `COLUMNS=80`):\n\n```\n")[1].split("```\n")[0]
    args = ["compare", "sample_data/reference.csv", "sample_data/current.csv"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "80"})
    assert result.exit_code == 1
    assert [line.rstrip() for line in result.stdout.splitlines()] == block.splitlines()
