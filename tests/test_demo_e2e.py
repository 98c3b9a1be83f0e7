"""End to end: `auditor demo` generates, imports, detects and renders; the PDF names the top finding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from auditor.cli import cli


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(cli, ["demo", "--out", str(out), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out, json.loads(result.output)


def test_pdf_names_the_top_finding_actor(demo: tuple[Path, dict[str, object]]) -> None:
    out, summary = demo
    top = summary["top_finding"]
    assert isinstance(top, dict)
    text = "".join(page.extract_text() for page in PdfReader(out / "report.pdf").pages)
    assert top["actor"] in text
    assert "AN0732" in text and "Acme Corp" in text


def test_demo_imports_cleanly_and_suppresses_automation(demo: tuple[Path, dict[str, object]]) -> None:
    _, summary = demo
    assert summary["rejected"] == 0
    assert isinstance(summary["events"], int) and summary["events"] > 200_000
    assert isinstance(summary["suppressed"], int) and summary["suppressed"] > 0
    assert Path(str(summary["html"])).is_file()


def test_open_findings_hit_the_labelled_bulk_incidents(demo: tuple[Path, dict[str, object]]) -> None:
    out, summary = demo
    truth = json.loads((out / "sandbox" / "ground_truth.json").read_text())
    incidents = {s["actor"] for s in truth["scenarios"] if s["label"] == "incident"}
    automation = {s["actor"] for s in truth["scenarios"] if s["label"] == "benign" and s["actor"].endswith("-bot")}
    top = summary["top_finding"]
    assert isinstance(top, dict) and top["actor"] in incidents
    findings = json.loads(
        CliRunner().invoke(cli, ["--workspace", str(out / "workspace"), "findings", "--format", "json"]).output
    )
    alerting = {f["actor"] for f in findings if not f["suppressed"] and f["severity"] in ("medium", "high", "critical")}
    assert incidents <= alerting
    # Automation may appear as a low finding while its baseline is learning, never at medium or above.
    assert not automation & alerting


def test_eval_scores_the_demo_against_ground_truth(demo: tuple[Path, dict[str, object]]) -> None:
    from auditor.detect.evaluate import evaluate
    from auditor.workspace.store import Workspace

    out, _ = demo
    ws = Workspace.open(out / "workspace")
    result = evaluate(ws, out / "sandbox" / "ground_truth.json").to_json()
    ws.close()
    assert {"precision", "recall", "scenarios"} <= set(result)
    assert all({"name", "expected", "got", "ok"} <= set(s) for s in result["scenarios"])
    assert result["precision"] == 1.0  # no benign workflow and no unlabelled account alerts at >= medium
    assert result["recall"] == 1.0  # the bursts and the low-and-slow novelty stage together
    benign = [s for s in result["scenarios"] if not s["expected"]]
    assert benign and all(s["ok"] for s in benign)


def test_published_rules_on_the_same_data_fall_short(demo: tuple[Path, dict[str, object]]) -> None:
    from auditor.detect.anchors.run import ANCHORS, score_anchors
    from auditor.detect.engine import DuckDBEngine
    from auditor.workspace.store import Workspace

    out, _ = demo
    truth = json.loads((out / "sandbox" / "ground_truth.json").read_text())
    ws = Workspace.open(out / "workspace")
    scored = score_anchors(DuckDBEngine(ws.con), truth)
    ws.close()
    assert [name for name, *_ in scored] == list(ANCHORS)
    # Each published rule misses incidents AN0732 finds (recall 1.0) or flags more noise (precision 1.0).
    assert all(r.recall < 1.0 or r.precision < 1.0 for _, _, r, _ in scored)
    nonpublic = next(r for name, _, r, _ in scored if name == "secops_nonpublic_burst")
    assert nonpublic.true_positives >= 3  # it is a real rule: it does find the loud GitHub bursts
