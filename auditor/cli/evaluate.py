"""`auditor eval`: run the detection over the sandbox tenant and score it against the ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from auditor.cli.output import console, echo_json
from auditor.cli.progress import progress

if TYPE_CHECKING:
    from auditor.detect.evaluate import EvalResult
    from auditor.workspace.store import Workspace


def score(ws: Workspace, truth_file: Path) -> tuple[EvalResult, list[dict[str, Any]]]:
    """The detection's findings in `ws` against the ground truth, and the published rules' rows (`anchors`)
    on the same events: what `auditor eval` prints (`--json`: result.to_json() plus {"anchors": rows})."""
    import json

    from auditor.detect.anchors.run import anchor_row, score_anchors
    from auditor.detect.engine import DuckDBEngine
    from auditor.detect.evaluate import evaluate

    result = evaluate(ws, truth_file)
    anchors = score_anchors(DuckDBEngine(ws.con), json.loads(truth_file.read_text(encoding="utf-8")))
    return result, [anchor_row(*scored) for scored in anchors]


@click.command("eval")
@click.option(
    "--out",
    "out_dir",
    default="eval-out",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Folder for the sandbox and its workspace (rebuilt on every run).",
)
@click.option("--seed", default=7, show_default=True, help="Sandbox seed.")
@click.option("--json", "as_json", is_flag=True, help="Print {precision, recall, scenarios[...]} as JSON.")
def evaluate_cmd(out_dir: Path, seed: int, as_json: bool) -> None:
    """Measure detection on the labelled sandbox: per-scenario results, precision and recall.

    A scenario counts as detected when an open finding at severity >= medium names its actor and
    overlaps its time span; every other open finding at >= medium is a false positive. Published
    rules (Elastic, Google SecOps, Datadog) run on the same events and are scored the same way (`anchors`).

    \b
    Example:
      auditor eval --json | jq '{precision, recall}'
    """
    from auditor.cli.demo_build import build_sandbox_workspace
    from auditor.detect.bulk import run_detection

    with progress("building the sandbox workspace…") as status:
        run = build_sandbox_workspace(out_dir, seed, status)
        status("detect")
        run_detection(run.ws, run.config)
        status("scoring, and the published rules on the same data")
        result, anchor_rows = score(run.ws, run.sandbox_dir / "ground_truth.json")
    if as_json:
        echo_json(result.to_json() | {"anchors": anchor_rows})
        return
    from rich.table import Table

    table = Table(title=f"AN0732 on the sandbox: precision {result.precision:.2f}, recall {result.recall:.2f}")
    for col in ("scenario", "label", "expected", "got", "ok"):
        table.add_column(col)
    for s in result.scenarios:
        table.add_row(s.name, s.label, str(s.expected), str(s.got), "yes" if s.ok else "[red]NO[/red]")
    out = console()
    out.print(table)
    if result.unmatched_alerts:
        out.print(f"{len(result.unmatched_alerts)} open finding(s) at >= medium match no labelled incident.")
    bar = Table(title="Published rules on the same data (the bar to beat)")
    for col in ("rule", "precision", "recall", "alerts", "benign flagged"):
        bar.add_column(col)
    for a in anchor_rows:
        bar.add_row(
            a["source"],
            "n/a" if a["precision"] is None else f"{a['precision']:.2f}",
            f"{a['recall']:.2f}",
            str(a["alerts"]),
            str(len(a["benign_flagged"])),
        )
    out.print(bar)
