"""test comment (idempotent labels) against the real 4.6 server, and its bulk path against openQA master."""

from __future__ import annotations

import json
import re
import os
import typing as t
import uuid
from pathlib import Path

import pytest
import requests
from conftest import ROOT, api_get, api_post
from faultproxy_fixture import Fault

from ansible_collections.openqa.client.plugins.module_utils import _comments, _jobs
from ansible_collections.openqa.client.plugins.module_utils.client import OpenQAClient
from ansible_collections.openqa.client.plugins.module_utils._runner import execute

ACTION = _jobs.ENTRY.action("comment")


def texts(api, job_id: int) -> t.List[str]:
    return [comment["text"] for comment in api_get(api, "jobs/%d/comments" % job_id)]


def label() -> str:
    return "bsc#%d: known issue %s" % (uuid.uuid4().int % 900000 + 100000, uuid.uuid4().hex[:6])


def run_comment(client: OpenQAClient, **raw: t.Any) -> t.Any:
    return ACTION.run(client, _jobs.ENTRY.prepare(ACTION, raw))


@pytest.fixture(autouse=True)
def fresh_probe(monkeypatch) -> None:
    """Each test starts as a new process would: the bulk route not yet probed."""
    monkeypatch.setattr(_comments, "_BULK", {})


def test_adds_once_then_changes_nothing(server, api, ctl, make_job):
    jobs = [make_job(result="failed"), make_job(result="failed")]
    text = label()
    first = ctl("test", "comment", "--id", *map(str, jobs), "--text", text, *server.cli_creds("user"))
    assert first.status == 0 and first.envelope["invocation"]["changed"] is True, first.stdout
    assert first.returns == jobs
    again = ctl("test", "comment", "--id", *map(str, jobs), "--text", text, *server.cli_creds("user"))
    assert again.status == 0 and again.envelope["invocation"]["changed"] is False and again.returns == []
    assert "already has this comment" in again.message
    assert all(texts(api, job_id) == [text] for job_id in jobs)


def test_only_jobs_without_the_label_get_it(server, api, ctl, make_job):
    text = label()
    labelled, other = make_job(result="failed"), make_job(result="failed")
    api_post(api, "jobs/%d/comments" % labelled, text=text)
    api_post(api, "jobs/%d/comments" % other, text="something else")
    run = ctl("test", "comment", "--id", str(labelled), str(other), "--text", text, *server.cli_creds())
    assert run.status == 0 and run.returns == [other]
    assert texts(api, labelled) == [text] and texts(api, other) == ["something else", text]


def test_check_mode_predicts_and_posts_nothing(server, api, ctl, module, make_job):
    text = label()
    bare, labelled = make_job(result="failed"), make_job(result="failed")
    api_post(api, "jobs/%d/comments" % labelled, text=text)
    cli = ctl("test", "comment", "--id", str(bare), str(labelled), "--text", text, "--check", *server.cli_creds())
    assert cli.status == 0 and cli.envelope["invocation"]["changed"] is True and cli.returns == [bare]
    assert "would comment on jobs %d" % bare in cli.message
    mod = module("test", {"action": "comment", "id": [bare, labelled], "text": text, **server.creds()}, check=True)
    assert mod.result["changed"] is True and mod.returns == [bare]
    removal = ctl("test", "comment", "--id", str(bare), str(labelled), "--text", text, "--remove", "--check",
                  *server.cli_creds())
    assert removal.returns == [labelled]
    assert texts(api, bare) == [] and texts(api, labelled) == [text]


def test_remove_deletes_only_the_matching_comment(server, api, ctl, make_job):
    text = label()
    job_id = make_job(result="failed")
    api_post(api, "jobs/%d/comments" % job_id, text="keep me")
    api_post(api, "jobs/%d/comments" % job_id, text=text)
    run = ctl("test", "comment", "--id", str(job_id), "--text", text, "--remove", *server.cli_creds())
    assert run.status == 0 and run.returns == [job_id] and run.envelope["invocation"]["changed"] is True
    assert texts(api, job_id) == ["keep me"]
    again = ctl("test", "comment", "--id", str(job_id), "--text", text, "--remove", *server.cli_creds())
    assert again.envelope["invocation"]["changed"] is False and "has no such comment" in again.message


def test_module_is_idempotent(server, api, module, make_job):
    job_id, text = make_job(result="failed"), label()
    args = {"action": "comment", "id": [job_id], "text": text, **server.creds()}
    first, second = module("test", args), module("test", args)
    assert first.result["changed"] is True and second.result["changed"] is False
    assert texts(api, job_id) == [text]


def add_modules(server, job_id: int, results: t.Sequence[t.Tuple[str, str]]) -> None:
    """Module rows as a worker would upload them (nothing runs on this server)."""
    rows = ", ".join("(%d, '%s', 'tests/%s.pm', 'x', '%s', now(), now())" % (job_id, name, name, result)
                     for name, result in results)
    server.sql("INSERT INTO job_modules (job_id, name, script, category, result, t_created, t_updated) VALUES " + rows)


def test_a_label_openqa_carried_over_counts_as_present(server, api, ctl, make_job):
    # openQA carries bug comments over within a job group, to the next job failing in the same modules
    scenario = {"TEST": "carry_" + uuid.uuid4().hex[:8], "_GROUP": server.fixture["group_name"]}
    text = label()
    first, second = make_job(**scenario), make_job(**scenario)
    for job_id in (first, second):
        add_modules(server, job_id, [("boot", "failed")])
    api_post(api, "jobs/%d/set_done" % first, result="failed")
    assert ctl("test", "comment", "--id", str(first), "--text", text, *server.cli_creds()).status == 0
    api_post(api, "jobs/%d/set_done" % second, result="failed")
    assert re.search(r"Automatic (takeover|carryover) from t#%d" % first, texts(api, second)[0])
    run = ctl("test", "comment", "--id", str(second), "--text", text, *server.cli_creds())
    assert run.envelope["invocation"]["changed"] is False and len(texts(api, second)) == 1


def test_unknown_job_changes_nothing(server, api, ctl, make_job):
    job_id = make_job(result="failed")
    run = ctl("test", "comment", "--id", str(job_id), "999999", "--text", label(), *server.cli_creds())
    assert run.status == 2 and "unknown test: there is no job 999999" in run.message
    assert texts(api, job_id) == []


@pytest.mark.server_version("4.6")  # the one-POST-per-job path: newer openQA has the bulk route
def test_without_bulk_route_one_probe_per_process_then_one_post_per_job(server, api, make_job):
    client = OpenQAClient(server.url, **server.creds())
    first = [make_job(result="failed") for _job in range(3)]
    run_comment(client, id=first, text=label())
    # 3 reads, the bulk POST answered 404 (openQA 4.6), 3 single POSTs, 3 reads for a concurrent run's duplicate
    assert client.request_count == 3 + 1 + 3 + 3
    second = [make_job(result="failed") for _job in range(2)]
    before = client.request_count
    run_comment(client, id=second, text=label())
    assert client.request_count - before == 2 + 2 + 2   # no second probe
    assert all(len(texts(api, job_id)) == 1 for job_id in first + second)


@pytest.mark.server_version("4.6")  # the one-POST-per-job path: newer openQA has the bulk route
def test_a_post_lost_in_transit_is_judged_by_rereading_not_resent(server, api, proxy, make_job):
    jobs = [make_job(result="failed"), make_job(result="failed")]
    # openQA stores the second comment, then the answer is lost
    proxy.add(Fault("forward_then", status=502, method="POST", path=r"/jobs/%d/comments$" % jobs[1]))
    client = OpenQAClient(proxy.url, **server.creds())
    text = label()
    result = run_comment(client, id=jobs, text=text)
    assert result.changed and result.returns == jobs
    assert all(texts(api, job_id) == [text] for job_id in jobs)
    assert len([r for r in proxy.mutations() if r.path.endswith("/jobs/%d/comments" % jobs[1])]) == 1


@pytest.mark.server_version("4.6")  # the one-POST-per-job path: newer openQA has the bulk route
def test_a_post_that_failed_reports_the_jobs_still_to_do(server, api, proxy, make_job):
    jobs = [make_job(result="failed"), make_job(result="failed")]
    # not forwarded: openQA never saw the second comment
    proxy.add(Fault("status", status=503, method="POST", path=r"/jobs/%d/comments$" % jobs[1]))
    result = execute(_jobs.ENTRY, {"action": "comment", "id": jobs, "text": label(), "host": proxy.url,
                                   **server.creds()})
    assert result.status == 6 and "jobs %d are still to do (rerun to finish)" % jobs[1] in result.message
    assert len(texts(api, jobs[0])) == 1 and texts(api, jobs[1]) == []


def test_build_info_bugs_shows_the_label(server, api, ctl, make_job):
    build = "lbl-" + uuid.uuid4().hex[:8]
    job_id = make_job(result="failed", BUILD=build)
    text = label()
    assert ctl("test", "comment", "--id", str(job_id), "--text", text, *server.cli_creds()).status == 0
    info = ctl("build", "info", "--id", build, "--bugs")
    assert info.returns[0]["tests"][0]["bug"] == text.split(":", maxsplit=1)[0]


# ------------------------------------------------------------------ openQA master: the bulk routes

MASTER_STATE = Path(os.environ.get("OPENQA_MASTER_STATE", ROOT / "tests" / "output" / "openqa-server-master.json"))


@pytest.fixture(scope="module")
def master() -> dict:
    if not MASTER_STATE.is_file():
        pytest.skip("no openQA master state file %s (tests/openqa-server --version master)" % MASTER_STATE)
    state = json.loads(MASTER_STATE.read_text())
    try:
        requests.get(state["url"] + "/api/v1/jobs", params={"limit": 1}, timeout=5).raise_for_status()
    except requests.RequestException as error:
        pytest.skip("openQA master at %s is not answering: %s" % (state["url"], error))
    return state


def test_bulk_routes_one_request_for_all_jobs_on_master(master):
    admin = master["keys"]["admin"]
    session = requests.Session()
    session.auth = (admin["user"], "%s:%s" % (admin["key"], admin["secret"]))
    session.headers["Accept"] = "application/json"
    settings = dict(DISTRI="opensuse", VERSION="Tumbleweed", FLAVOR="DVD", ARCH="x86_64", BUILD="own", TEST="own",
                    MACHINE="64bit")
    jobs = [session.post(master["url"] + "/api/v1/jobs", data=settings).json()["id"] for _job in range(3)]
    client = OpenQAClient(master["url"], admin["key"], admin["secret"])
    text = label()
    added = run_comment(client, id=jobs, text=text)
    assert added.changed and added.returns == jobs
    assert client.request_count == 3 + 1 + 3   # 3 reads, one POST comments, 3 reads for a duplicate
    comments = {job_id: session.get(master["url"] + "/api/v1/jobs/%d/comments" % job_id).json() for job_id in jobs}
    assert all([c["text"] for c in found] == [text] for found in comments.values())
    before = client.request_count
    removed = run_comment(client, id=jobs, text=text, remove=True)
    assert removed.changed and client.request_count - before == 3 + 1   # 3 reads, one DELETE comments
    assert all(session.get(master["url"] + "/api/v1/jobs/%d/comments" % job_id).json() == [] for job_id in jobs)


# ------------------------------------------------------------------ openQA's rewriting of bug URLs (issue 24)

def bug_number() -> int:
    return uuid.uuid4().int % 900000 + 100000


@pytest.mark.parametrize("url", ["https://progress.opensuse.org/issues/%d",
                                 "https://bugzilla.suse.com/show_bug.cgi?id=%d",
                                 "https://github.com/os-autoinst/openQA/pull/%d"])
def test_a_bug_url_label_is_idempotent_and_removable(server, api, ctl, url, make_job):
    # openQA stores the URL as its bug reference (poo#N, bsc#N, gh#repo#N): the label must be found as stored
    job_id = make_job(result="failed")
    text = (url % bug_number()) + " known issue"
    first = ctl("test", "comment", "--id", str(job_id), "--text", text, *server.cli_creds())
    assert first.status == 0 and first.envelope["invocation"]["changed"] is True, first.stdout
    assert texts(api, job_id) == [_comments.as_openqa_stores(text)] != [text]
    again = ctl("test", "comment", "--id", str(job_id), "--text", text, *server.cli_creds())
    assert again.envelope["invocation"]["changed"] is False and len(texts(api, job_id)) == 1, again.stdout
    removed = ctl("test", "comment", "--id", str(job_id), "--text", text, "--remove", *server.cli_creds())
    assert removed.envelope["invocation"]["changed"] is True and removed.returns == [job_id]
    assert texts(api, job_id) == []


def test_our_rewriting_of_bug_urls_is_the_servers(server, api, make_job):
    """Each URL as openQA stores it: the same text as our rewriting where the server knows the tracker, and
    equal after our rewriting where it does not (4.6 knows bugs.debian.org, master invent.kde.org)."""
    n = bug_number()
    both = ["https://progress.opensuse.org/issues/%d" % n, "https://bugzilla.suse.com/show_bug.cgi?id=%d" % n,
            "https://bugzilla.novell.com/show_bug.cgi?id=%d" % n,
            "https://bugzilla.opensuse.org/show_bug.cgi?id=%d" % n,
            "https://github.com/os-autoinst/openQA/issues/%d" % n, "https://github.com/o/r/pull/%d and more" % n,
            "https://gitlab.gnome.org/GNOME/gnome-shell/-/issues/%d" % n, "https://pagure.io/repo/issue/%d" % n,
            "a https://bugs.kde.org/show_bug.cgi?id=%d, https://bugzilla.redhat.com/show_bug.cgi?id=%d" % (n, n),
            "(https://progress.opensuse.org/issues/%d)" % n, "\"https://progress.opensuse.org/issues/%d\"" % n,
            "https://progress.opensuse.org/issues/%da" % n, "HTTPS://PROGRESS.OPENSUSE.ORG/issues/%d" % n,
            "https://progress.opensuse.org/issues/%d#note-3" % n]
    either = ["https://bugs.debian.org/cgi-bin/bugreport.cgi?bug=%d" % n,
              "https://invent.kde.org/a/b/-/issues/%d" % n,
              "https://jira.suse.com/browse/PED-%d" % n, "https://jira.suse.de/browse/PED-%d" % n,
              "https://github.com/o/r/pulls/%d" % n, "https://gitlab.com/fedora/sigs/x/-/work_items/%d" % n]
    job_id = make_job(result="failed")
    for text in both + either:
        api_post(api, "jobs/%d/comments" % job_id, text=text)
    stored = dict(zip(both + either, texts(api, job_id), strict=True))
    assert {text: _comments.as_openqa_stores(text) for text in both} == {text: stored[text] for text in both}
    assert any(stored[text] != text for text in either)  # the server rewrote some of them
    for text in either:
        assert _comments.as_openqa_stores(stored[text]) == _comments.as_openqa_stores(text), (text, stored[text])


@pytest.mark.parametrize("jobs", [1, 2])  # one DELETE per comment, and the bulk DELETE where the server has it
def test_removing_a_force_result_label_is_refused_not_an_auth_error(server, api, ctl, make_job, jobs):
    ids = [make_job(result="failed") for _job in range(jobs)]
    text = "label:force_result:softfailed:bsc#%d" % bug_number()
    added = ctl("test", "comment", "--id", *map(str, ids), "--text", text, *server.cli_creds())
    assert added.status == 0, added.stdout
    assert {api_get(api, "jobs/%d" % job_id)["job"]["result"] for job_id in ids} == {"softfailed"}
    for check in ([], ["--check"]):
        removal = ctl("test", "comment", "--id", *map(str, ids), "--text", text, "--remove", *check,
                      *server.cli_creds())
        assert removal.status == 9 and removal.rc == 9, removal.stdout
        assert "openQA does not delete a comment with a force_result label" in removal.message
        assert removal.envelope["invocation"]["changed"] is False
    assert all(texts(api, job_id) == [text] for job_id in ids)


# ------------------------------------------------------------------ two runs at once (issue 24)

class _RacedClient(OpenQAClient):
    """A run whose comment POST is preceded by a whole other run of the same comment: the other run has read
    the jobs (no comment yet), posted and read again before this run's POST reaches openQA."""

    def __init__(self, url: str, other: t.Callable[[], t.Any], **creds: t.Any) -> None:
        super().__init__(url, **creds)
        self.other = other
        self.other_result: t.Any = None

    def request(self, method: str, path: str, params: t.Any = None) -> t.Any:
        if method == "POST" and path.endswith("comments") and self.other is not None:
            other, self.other = self.other, None
            self.other_result = other()
        return super().request(method, path, params)


@pytest.mark.parametrize("jobs", [1, 3])  # one POST per job, and on master the bulk POST
def test_two_runs_at_once_leave_one_comment_and_one_change(server, api, make_job, jobs):
    ids, text = [make_job(result="failed") for _job in range(jobs)], label()
    other = OpenQAClient(server.url, **server.creds())
    raced = _RacedClient(server.url, lambda: run_comment(other, id=ids, text=text), **server.creds())
    result = run_comment(raced, id=ids, text=text)
    first = raced.other_result
    assert first.changed and first.returns == ids
    assert (result.changed, result.returns) == (False, []), result.message
    assert "already has this comment; jobs %s got it meanwhile from another run" % ", ".join(map(str, ids)) \
        in result.message
    assert all(texts(api, job_id) == [text] for job_id in ids)


def test_a_duplicate_a_user_cannot_delete_is_a_warning(server, api, make_job):
    """Deleting a comment needs an admin: a plain user's run keeps the truth (it added one) and says so."""
    job_id, text = make_job(result="failed"), label()
    other = OpenQAClient(server.url, **server.creds("user"))
    raced = _RacedClient(server.url, lambda: run_comment(other, id=[job_id], text=text), **server.creds("user"))
    result = run_comment(raced, id=[job_id], text=text)
    assert result.changed and result.returns == [job_id] and result.status == 0
    assert "jobs %d got this comment twice (another run added it at the same time); deleting ours failed" % job_id \
        in result.warnings[0]
    assert texts(api, job_id) == [text, text]
