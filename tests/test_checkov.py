"""checkov stage: what counts as a pass, on fixture code written the way teams write it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from obsharness.errors import ComponentUnavailableError
from obsharness.infra import checkov

# A team's module: a bucket with one check skipped with its reason, one skipped bare.
TEAM_BUCKET = """\
resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_18:this bucket receives the access logs of the others
  #checkov:skip=CKV_AWS_144
  bucket = "team-logs"
}
"""


def _checkov() -> Path:
    try:
        return checkov.find_checkov()
    except ComponentUnavailableError as exc:
        pytest.skip(f"checkov unavailable: {exc.reason}. {exc.how_to_get}")


def test_a_real_scan_names_failures_with_file_and_lines_and_tells_bare_skips_apart(
        tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(TEAM_BUCKET)
    scan = checkov.scan(tmp_path, "terraform", checkov=_checkov())
    assert scan.resources == 1
    assert scan.failed  # an unprotected bucket fails several checks
    assert all(f.file == str(tmp_path / "main.tf") and f.lines == (1, 5) for f in scan.failed)
    assert {s.check_id: s.reason for s in scan.skipped} == {
        "CKV_AWS_18": "this bucket receives the access logs of the others",
        "CKV_AWS_144": "No comment provided"}
    assert [s.check_id for s in scan.unjustified_skips] == ["CKV_AWS_144"]
    problems = scan.problems()
    assert any(p.startswith(f"failed: {tmp_path / 'main.tf'}:1-5: CKV") for p in problems)
    assert any("skipped without a reason" in p and "CKV_AWS_144" in p for p in problems)
    assert not any("CKV_AWS_18" in p for p in problems)


def test_a_folder_with_nothing_to_check_or_no_folder_proves_nothing(tmp_path: Path) -> None:
    empty = checkov.parse(json.dumps({"passed": 0, "failed": 0, "skipped": 0,
                                      "parsing_errors": 0, "resource_count": 0}),
                          "dockerfile", tmp_path)
    assert empty.problems() == [
        f"checkov found nothing to check for dockerfile in {tmp_path}: a wrong folder "
        "proves nothing"]
    with pytest.raises(checkov.CheckovError, match="is not a folder"):
        checkov.scan(tmp_path / "infra" / "terraformm", "terraform", checkov=Path("/bin/true"))


def test_unparsed_files_and_output_that_is_not_json_are_errors(tmp_path: Path) -> None:
    recorded = {"check_type": "terraform", "summary": {"passed": 3, "failed": 0, "skipped": 0,
                                                       "parsing_errors": 1, "resource_count": 2},
                "results": {"passed_checks": [], "failed_checks": [], "skipped_checks": [],
                            "parsing_errors": [str(tmp_path / "broken.tf")]}}
    scan = checkov.parse(json.dumps(recorded), "terraform", tmp_path)
    assert scan.problems() == [f"checkov could not parse {tmp_path / 'broken.tf'}"]
    with pytest.raises(checkov.CheckovError, match="did not print JSON: Traceback"):
        checkov.parse("Traceback (most recent call last): ...", "ansible", tmp_path)


def test_several_report_types_keep_the_asked_framework(tmp_path: Path) -> None:
    reports = [{"check_type": "secrets", "summary": {"passed": 0, "resource_count": 0},
                "results": {"failed_checks": [{"check_id": "CKV_SECRET_2"}]}},
               {"check_type": "dockerfile", "summary": {"passed": 5, "resource_count": 1},
                "results": {"failed_checks": [{
                    "check_id": "CKV_DOCKER_3", "check_name": "Ensure that a user for the "
                    "container has been created", "file_path": "/app/Dockerfile",
                    "file_line_range": [1, 9], "resource": "/app/Dockerfile."}]}}]
    scan = checkov.parse(json.dumps(reports), "dockerfile", tmp_path)
    assert [str(f) for f in scan.failed] == [
        f"{tmp_path / 'app/Dockerfile'}:1-9: CKV_DOCKER_3 Ensure that a user for the container "
        "has been created (/app/Dockerfile.)"]


def test_a_wrong_explicit_checkov_is_an_error_not_a_fallback(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(checkov.CHECKOV_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(checkov.CheckovError, match="OBSHARNESS_CHECKOV=.*not an executable"):
        checkov.find_checkov()
