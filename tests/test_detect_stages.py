"""The stage registry: every registered stage yields a kind the overlap priority knows, and its SQL
takes exactly the parameters the registry gives it."""

from __future__ import annotations

import re

from auditor.config.models import DetectionSettings
from auditor.detect.stages import PRIORITY, STAGES, load_sql


def test_every_stage_has_a_priority_and_all_its_parameters() -> None:
    det = DetectionSettings()
    assert [s.kind for s in STAGES] == [k for k in PRIORITY if k != "candidate"]
    for stage in STAGES:
        sql = load_sql(stage.sql, **stage.params(det))
        assert "episode_downloads" in sql and stage.meaning
        assert not re.search(r"(?<![:\w]):[a-z_]+\b", sql), f"{stage.sql}: a parameter was left unsubstituted"
