"""The README's code blocks marked `runnable` run and print what their comments say; its
captures, and the fields the docs' JSON examples name, match what kldrift writes."""

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


def test_the_pairs_capture_is_the_current_output(monkeypatch):
    from typer.testing import CliRunner

    from kldrift.cli import app

    monkeypatch.chdir(ROOT)
    block = README.split("after the columns' table, at `COLUMNS=80`:\n\n```\n")[1].split("```\n")[0]
    args = ["compare", "sample_data/reference.csv", "sample_data/current.csv", "--pairs", "all"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "80"})
    assert result.exit_code == 1
    printed = [line.rstrip() for line in result.stdout.splitlines()]
    expected = block.splitlines()
    assert printed[-len(expected) :] == expected  # the pairs' table ends the output


def _documented_keys(doc: str) -> set[str]:
    block = (ROOT / "docs" / doc).read_text(encoding="utf-8").split("```jsonc\n")[1]
    return set(re.findall(r'"(\w+)"\s*:', block.split("```")[0]))


def _keys(value, data_keyed=()) -> set[str]:
    # Every key of every object; objects keyed by column name (data_keyed) give their values'.
    if isinstance(value, list):
        return set().union(*(_keys(v, data_keyed) for v in value))
    if not isinstance(value, dict):
        return set()
    found = set()
    for key, item in value.items():
        if key in data_keyed and isinstance(item, dict):
            found |= set().union(*(_keys(v) for v in item.values()))
        else:
            found |= {key} | _keys(item, data_keyed)
    return found


def test_json_format_documents_every_field_the_sample_report_has(monkeypatch):
    import json

    from typer.testing import CliRunner

    from kldrift.cli import app

    monkeypatch.chdir(ROOT)
    args = ["compare", "sample_data/reference.csv", "sample_data/current.csv", "-f", "json"]
    result = CliRunner().invoke(app, [*args, "--pairs", "all"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["relationships"]["pairs"] and report["schema"]["categories"]
    found = _keys(report, data_keyed=("categories", "columns"))
    assert found - _documented_keys("json-format.md") == set()


def test_profile_format_documents_every_field_a_profile_has(tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from kldrift.cli import app

    monkeypatch.chdir(ROOT)
    out = tmp_path / "ref.kldrift.json"
    args = ["profile", "sample_data/reference.csv", "-o", str(out), "--pairs", "income,plan"]
    assert CliRunner().invoke(app, args).exit_code == 0
    profile = json.loads(out.read_text(encoding="utf-8"))
    assert profile["pairs"] and any(c["range"] for c in profile["columns"])
    assert _keys(profile) - _documented_keys("profile-format.md") == set()


def test_the_compare_options_table_lists_every_option_of_compare_help():
    import typer

    from kldrift.cli import app

    command = typer.main.get_command(app).commands["compare"]
    flags = {o for p in command.params for o in [*p.opts, *p.secondary_opts] if o[:2] == "--"}
    section = README.split("## `kldrift compare REFERENCE CURRENT`")[1]
    table = section.split("| option | default | meaning |")[1].split("\n\n")[0]
    rows = [line.split(" | ")[0] for line in table.splitlines() if line.startswith("| `")]
    documented = set(re.findall(r"--[a-z][\w-]*", " ".join(rows)))
    assert documented == flags - {"--help"}
