"""test label (auto-review's rules) against the real server, on jobs a worker made (triage_data)."""

from __future__ import annotations

import json
import typing as t

import pytest
from conftest import api_get, api_post
from triage_data import run_test_verb, scenarios, triage_worker  # noqa: F401  pylint: disable=unused-import

from ansible_collections.openqa.client.plugins.module_utils import _comments
from ansible_collections.openqa.client.plugins.module_utils.envelope import Status

RULES = [
    {"pattern": r"\[error\] Failed to download .*404", "label": "poo#1001 asset download 404"},
    {"pattern": "QEMU exited unexpectedly", "label": "poo#1002 qemu died"},
    {"pattern": "(?s)Cloning git URL.*needledir not found", "label": "label:remote_repo_invalid"},
]


def texts(api, job_id: int) -> t.List[str]:
    return [c["text"] for c in api_get(api, "jobs/%d/comments" % job_id)]


@pytest.fixture
def failures(scenarios) -> t.Dict[str, int]:  # noqa: F811
    """A failed job per situation: matched by its log, by its reason, by a pattern over lines, by nothing."""
    jobs = {}
    for name, result, reason, log in (
            ("by_log", "failed", "died", "[error] Failed to download http://x/a.qcow2: 404 Not Found"),
            ("by_reason", "incomplete", "backend died: QEMU exited unexpectedly", "[info] all fine"),
            ("multiline", "failed", None, "Cloning git URL 'https://x/y.git' to use as test distribution\n"
                                          "[debug] needledir not found"),
            ("unknown", "failed", "something new", "[info] nothing known"),
            ("passed", "passed", None, "[error] Failed to download http://x/b.qcow2: 404")):
        jobs[name] = scenarios.job(scenarios.scenario(), result, "b1", reason=reason, log_lines=log)
    return jobs


def test_first_matching_rule_labels_once_and_the_rest_is_unknown(server, ctl, api, failures, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("\n".join("- pattern: %s\n  label: %s" % (json.dumps(r["pattern"]), json.dumps(r["label"]))
                               for r in RULES + [{"pattern": "Failed", "label": "never: rule 1 came first"}]))
    ids = [str(i) for i in failures.values()]
    first = ctl("test", "label", "--id", *ids, "--rules", str(rules), *server.cli_creds())
    assert first.rc == 0 and first.envelope["invocation"]["changed"] is True, first.message
    outcome = {entry["id"]: (entry["outcome"], entry["rule"], entry["commented"]) for entry in first.returns}
    assert outcome == {failures["by_log"]: ("labelled", 1, True), failures["by_reason"]: ("labelled", 2, True),
                       failures["multiline"]: ("labelled", 3, True), failures["unknown"]: ("unknown", None, False),
                       failures["passed"]: ("not failed", None, False)}
    assert texts(api, failures["by_log"]) == ["poo#1001 asset download 404"]
    assert texts(api, failures["by_reason"]) == ["poo#1002 qemu died"]
    assert texts(api, failures["unknown"]) == [] and texts(api, failures["passed"]) == []
    again = ctl("test", "label", "--id", *ids, "--rules", str(rules), *server.cli_creds())
    assert again.rc == 0 and again.envelope["invocation"]["changed"] is False
    assert [e["outcome"] for e in again.returns] == [e["outcome"] for e in first.returns]
    assert texts(api, failures["by_log"]) == ["poo#1001 asset download 404"]


def test_module_inline_rules_and_check_mode_predict_without_posting(server, module, api, failures):
    args = {"action": "label", "id": [failures["by_log"], failures["unknown"]], "rules": RULES, **server.creds()}
    check = module("test", args, check=True)
    assert check.rc == 0 and check.result["changed"] is True, check.result
    assert [(e["outcome"], e["commented"]) for e in check.returns] == [("labelled", True), ("unknown", False)]
    assert texts(api, failures["by_log"]) == []
    real = module("test", args)
    assert real.result["changed"] is True and texts(api, failures["by_log"]) == ["poo#1001 asset download 404"]
    assert module("test", args).result["changed"] is False


def test_retry_restarts_once_and_not_the_restarted_job_again(server, api, scenarios):  # noqa: F811
    job_id = scenarios.job(scenarios.scenario(), "failed", "b1", log_lines="[error] Failed to download x 404")
    rules = [dict(RULES[0], retry=True)]
    first, requests_made = run_test_verb(server, "label", id=[job_id], rules=rules)
    assert first.status == Status.OK and first.changed, first.message
    restarted = first.returns[0]["restarted"]
    assert restarted and api_get(api, "jobs/%d" % job_id)["job"]["clone_id"] == restarted
    # list the job, its log, its comments; post the comment, read them again; restart (read, post):
    # docs/compatibility.md
    assert requests_made == 7, requests_made
    again, _requests = run_test_verb(server, "label", id=[job_id], rules=rules)
    assert not again.changed and again.returns[0]["restarted"] == restarted
    # the restart fails the same way: labelled, but not restarted a second time (max_attempts 2)
    api_post(api, "jobs/%d/set_done" % restarted, result="failed", reason="[error] Failed to download y 404")
    second, _requests = run_test_verb(server, "label", id=[restarted], rules=rules)
    assert second.status == Status.OK and second.returns[0]["outcome"] == "labelled", second.message
    assert second.returns[0]["restarted"] is None and "already run 2 times" in second.warnings[-1]
    assert api_get(api, "jobs/%d" % restarted)["job"].get("clone_id") is None


def test_force_result_is_refused_unless_allowed(server, api, scenarios):  # noqa: F811
    job_id = scenarios.job(scenarios.scenario(), "failed", "b1", log_lines="[error] Failed to download z 404")
    rules = [dict(RULES[0], force_result="softfailed")]
    refused, requests_made = run_test_verb(server, "label", id=[job_id], rules=rules)
    assert refused.status == Status.REFUSED and "allow_force_result" in refused.message
    assert requests_made == 0 and texts(api, job_id) == []
    allowed, _requests = run_test_verb(server, "label", id=[job_id], rules=rules, allow_force_result=True)
    assert allowed.status == Status.OK and allowed.changed
    assert texts(api, job_id) == ["label:force_result:softfailed:poo#1001 asset download 404"]
    # openQA applies the label (4.6 and master): the answer reads the job's result back
    assert allowed.returns[0]["status"] == "softfailed" and not allowed.warnings, allowed.warnings


def test_log_size_limit_matches_a_larger_log_by_its_reason_only(server, api, scenarios):  # noqa: F811
    job_id = scenarios.job(scenarios.scenario(), "failed", "b1", reason="QEMU exited unexpectedly",
                           log_lines="x" * 5000 + "\n[error] Failed to download big 404")
    result, _requests = run_test_verb(server, "label", id=[job_id], rules=RULES, log_size_limit="4k")
    assert result.returns[0]["rule"] == 2 and "larger than log_size_limit" in result.warnings[0]
    assert texts(api, job_id) == ["poo#1002 qemu died"]
    whole, _requests = run_test_verb(server, "label", id=[job_id], rules=RULES)
    assert whole.returns[0]["rule"] == 1 and not whole.warnings  # the log, read now, matches the first rule


def test_a_job_without_log_is_matched_by_its_reason(server, scenarios):  # noqa: F811
    job_id = scenarios.job(scenarios.scenario(), "incomplete", "b1", reason="backend died: QEMU exited unexpectedly",
                           log=False)
    result, _requests = run_test_verb(server, "label", id=[job_id], rules=RULES)
    assert result.returns[0]["rule"] == 2 and "has no autoinst-log.txt" in result.warnings[0]


@pytest.mark.parametrize("rules, words", [
    ([{"pattern": "(", "label": "x"}], "not a regular expression"),
    ([{"pattern": "a", "label": "x", "retry": "yes"}], "retry must be true or false"),
    ([{"pattern": "a", "label": "x", "bug": 1}], "unknown keys bug"),
    ([{"pattern": "a", "label": "x", "force_result": "great"}], "is not an openQA result"),
    ([{"label": "x"}], "has no pattern"),
    ([], "needs --rules"),  # an empty list is no rules at all
    ("/nonexistent/rules.yaml", "cannot read the rules file"),
])
def test_bad_rules_are_status_4_before_any_request(server, ctl, rules, words, tmp_path):
    data = tmp_path / "data.json"
    data.write_text(json.dumps({"rules": rules}))
    argv = ["--rules", rules] if isinstance(rules, str) else ["--json-data", str(data)]
    run = ctl("test", "label", "--id", "1", *argv, *server.cli_creds())
    assert run.rc == 4 and words in run.message, run.message


def test_requests_per_labelled_job(server, server_version, scenarios):  # noqa: F811
    """One listing, per job its log and its comments; then one POST per label where openQA has bulk comments
    (master), on 4.6 the bulk probe (404, once per process) and one POST per job."""
    _comments._BULK.clear()  # the bulk route is learnt once per process: start unprobed, as a fresh run does
    jobs = [scenarios.job(scenarios.scenario(), "failed", "b1", log_lines="[error] Failed to download %d 404" % n)
            for n in range(3)]
    first, requests_made = run_test_verb(server, "label", id=jobs, rules=RULES)
    posts = 1 if server_version == "master" else 1 + len(jobs)
    # and per job its comments again after posting (a concurrent run's duplicate)
    assert first.changed and requests_made == 1 + 3 * len(jobs) + posts, requests_made
    again, requests_made = run_test_verb(server, "label", id=jobs, rules=RULES)
    assert not again.changed and requests_made == 1 + 2 * len(jobs)  # nothing posted
