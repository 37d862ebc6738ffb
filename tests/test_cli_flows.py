"""`wellqueue enqueue-flow @flow.json` and the flow tree in `wellqueue job ID`, against the private Redis."""

from __future__ import annotations

import json

from test_cli import VALID, cli_env, run  # noqa: F401  (cli_env: the fixture, used by name)

from wellqueue_tui.auth.identity import Role

FLOW = {
    "queue": "data-validation",
    "data": VALID,
    "opts": {"jobId": "well-check"},
    "children": [
        {
            "queue": "data-validation",
            "data": {**VALID, "wellId": "WELL-TX-0002"},
            "opts": {"jobId": "well-2", "failParentOnFailure": True},
            "children": [
                {"queue": "data-validation", "data": {**VALID, "wellId": "WELL-TX-0003"}, "opts": {"jobId": "well-3"}}
            ],
        }
    ],
}


def test_enqueue_flow_from_a_file_prints_the_tree_and_job_shows_it(cli_env, capsys, tmp_path):  # noqa: F811
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(FLOW))
    code, out, err = run(capsys, "enqueue-flow", f"@{path}")
    assert code == 0, err
    assert out.splitlines() == [
        "well-check  (data-validation)",
        "  well-2  (data-validation)",
        "    well-3  (data-validation)",
    ]
    code, out, _ = run(capsys, "job", "well-check")
    assert code == 0 and "waiting-children" in out
    assert "  well-2  waiting-children  (data-validation)" in out and "    well-3  waiting  (data-validation)" in out
    code, out, _ = run(capsys, "job", "well-3")
    assert "flow parent: well-2" in out
    code, out, _ = run(capsys, "jobs", "data-validation", "--state", "waiting-children", "--json")
    assert code == 0 and {job["id"] for job in json.loads(out)["jobs"]} == {"well-check", "well-2"}
    code, out, _ = run(capsys, "enqueue-flow", json.dumps(FLOW), "--json")
    assert code == 0 and json.loads(out) == {
        "id": "well-check",
        "queue": "data-validation",
        "created": False,
        "children": [],
    }


def test_a_bad_flow_names_the_job_at_fault_and_a_manager_may_not_enqueue(cli_env, capsys):  # noqa: F811
    bad = {**FLOW, "children": [{"queue": "data-validation", "data": {"wellId": 5}}]}
    code, _, err = run(capsys, "enqueue-flow", json.dumps(bad))
    assert code != 0 and "flow.children[0]: invalid payload for data-validation" in err
    code, _, err = run(capsys, "enqueue-flow", "{not json")
    assert code != 0 and "flow is not valid JSON" in err
    cli_env(Role.MANAGER)
    code, _, err = run(capsys, "enqueue-flow", json.dumps(FLOW))
    assert code != 0 and "enqueue" in err
    code, _, _ = run(capsys, "job", "well-check")
    assert code != 0
