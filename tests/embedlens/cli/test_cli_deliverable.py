"""The audit CLI as an auditor uses it (issue 19): honest exit codes, refusals before any
model loads, --redact, the report command, --version and defaults in every --help."""

from __future__ import annotations

import json

import pytest

from embedlens.cli import build_parser, main

from .test_cli_refusals import _audit


def test_version(capsys):
    from embedlens import __version__

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.strip() == f"embedlens {__version__}"


def test_every_help_shows_the_defaults():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name in ("audit", "demo", "report", "embed", "probe", "map"):
        text = sub.choices[name].format_help()
        assert "(default:" in text, name
    audit_help = " ".join(sub.choices["audit"].format_help().split())
    assert "(default: 300)" in audit_help and "(default: 5m)" in audit_help


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--budget", "5m,1m"], "cannot read the budget"),
        (["--attacks", "nn,inverter:/nonexist"], "does not exist"),
        (["--option", "nn.beam_widht=2"], "unknown option"),
        (["--attacks", "nn,nearest-neighbor-x"], "unknown attack"),
    ],
)
def test_bad_specs_are_refused_before_any_model_loads(tmp_path, toy_client, capsys, extra, message):
    out = tmp_path / "report"
    assert main(_audit(out, *extra)) == 1
    assert message in capsys.readouterr().err
    assert not out.exists() and toy_client.CALLS == []


def test_an_audit_whose_attack_failed_exits_non_zero_as_inconclusive(tmp_path, toy_client, capsys):
    broken = tmp_path / "inv"
    broken.mkdir()
    (broken / "config.json").write_text("{}", encoding="utf-8")
    out = tmp_path / "report"
    code = main(_audit(out, "--attacks", f"nn,inverter:{broken}"))
    err = capsys.readouterr().err
    assert code == 3 and "inconclusive" in err
    data = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert data["summary"]["status"] == "inconclusive"
    page = (out / "index.html").read_text(encoding="utf-8")
    assert '<b id="status">inconclusive</b>' in page


def test_report_command_rewrites_a_result_redacted(tmp_path, toy_client, capsys):
    out = tmp_path / "report"
    assert main(_audit(out)) == 0, capsys.readouterr().err
    again = tmp_path / "again"
    assert main(["report", str(out / "result.json"), "--redact", "--out", str(again)]) == 0
    page = (again / "index.html").read_text(encoding="utf-8")
    assert "are masked" in page and "This report is sensitive" not in page
    assert main(["report", str(out), "--out", str(again)]) == 1  # exists: refused
    assert "exists" in capsys.readouterr().err


def _subparser(name):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return parser, sub.choices[name]


#: (command, new name, old name, value, dest): one name per idea, the old one a hidden alias
RENAMED = [
    ("audit", "--limit", "--records", "7", "records"),
    ("demo", "--limit", "--records", "7", "records"),
    ("train-inverter", "--save", "--out", "runs/x", "save"),
]


@pytest.mark.parametrize("command, new, old, value, dest", RENAMED)
def test_old_option_names_still_work_and_are_hidden_from_help(command, new, old, value, dest):
    parser, sub = _subparser(command)
    by_new = parser.parse_args([command, new, value])
    by_old = parser.parse_args([command, old, value])
    expected = int(value) if dest == "records" else value
    assert getattr(by_new, dest) == getattr(by_old, dest) == expected
    assert new in sub.format_help().split()
    assert old not in sub.format_help().split() and old not in sub.format_usage().split()
    assert f"[{old}" not in sub.format_usage()


def test_the_renamed_options_keep_their_defaults():
    parser, _ = _subparser("audit")
    assert parser.parse_args(["audit"]).records == 300
    assert parser.parse_args(["demo"]).records == 300
    assert parser.parse_args(["invert", "--corpus", "pii", "--out", "x.jsonl"]).limit is None
    with pytest.raises(SystemExit):  # train-inverter still needs its run folder
        parser.parse_args(["train-inverter"])


def test_every_command_reads_how_many_records_as_limit():
    """One name per idea: --limit wherever a command takes the first N records."""
    for command in ("embed", "invert", "probe", "map", "explain", "audit", "demo"):
        _, sub = _subparser(command)
        words = sub.format_help().split()
        assert "--limit" in words and "--records" not in words, command


def test_an_audit_run_with_the_old_records_name_audits_that_many(tmp_path, toy_client, capsys):
    out = tmp_path / "report"
    args = _audit(out)
    args[args.index("--limit")] = "--records"
    args[args.index("--records") + 1] = "12"
    assert main(args) == 0, capsys.readouterr().err
    data = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert data["config"]["corpus"]["records"] == 12
