# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""Job comments: idempotent labelling (``test comment``), reusable by any verb that labels jobs.

A comment is "there" when a comment of the job has the same text as openQA stores it (bug tracker URLs
rewritten to bug references, surrounding whitespace and openQA's carry-over note aside).
openQA since 2024 has bulk endpoints (``POST comments`` with repeated ``job_id``, ``DELETE comments``
with repeated ``id``); 4.6 has only ``jobs/N/comments``. Which one a server has is learnt from its
answer the first time (a 404 for the route means nothing was done) and remembered per process.
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    InvalidInputError,
    NotFoundError,
    OpenQAError,
    RefusedError,
    Result,
    ServerError,
    UnreachableError,
)
from ansible_collections.openqa.client.plugins.module_utils._job_reads import id_list

if t.TYPE_CHECKING:
    from ansible_collections.openqa.client.plugins.module_utils.client import Client

# openQA copies a failed job's bug comments to the next failure of its scenario (carry_over_bugrefs) and
# appends this note; the copy is the same label.
# 4.6 says "takeover", newer openQA "carryover"
_TAKEOVER = re.compile(r"\s*\(Automatic (?:takeover|carryover) from t#\d+\)\s*$")
# openQA stores a bug tracker URL in a comment as its bug reference (lib/OpenQA/Utils.pm href_to_bugref, run on
# every comment it creates or updates): https://progress.opensuse.org/issues/5 is stored as poo#5. The table is
# the union of 4.6's and master's; a URL one server leaves as it is still compares equal, because both sides of
# a comparison are rewritten.
_BUG_URLS = {
    "https://bugs.debian.org/cgi-bin/bugreport.cgi?bug=": "deb",  # 4.6 only
    "https://bugzilla.novell.com/show_bug.cgi?id=": "bsc",
    "https://bugzilla.suse.com/show_bug.cgi?id=": "bsc",
    "https://bugzilla.opensuse.org/show_bug.cgi?id=": "boo",
    "https://bugzilla.gnome.org/show_bug.cgi?id=": "bgo",
    "https://bugzilla.mozilla.org/show_bug.cgi?id=": "bmo",
    "https://bugzilla.redhat.com/show_bug.cgi?id=": "brc",
    "https://bugzilla.kernel.org/show_bug.cgi?id=": "bko",
    "https://progress.opensuse.org/issues/": "poo",
    "https://github.com/": "gh",
    "https://bugs.kde.org/show_bug.cgi?id=": "kde",
    "https://invent.kde.org/": "kdi",  # master only
    "https://bugs.freedesktop.org/show_bug.cgi?id=": "fdo",
    "https://jira.suse.de/browse/": "jsc",  # 4.6
    "https://jira.suse.com/browse/": "jsc",  # master
    "https://pagure.io/": "pio",
    "https://gitlab.gnome.org/": "ggo",
    "https://gitlab.com/fedora/sigs/": "gfs",  # master only
    "https://forge.fedoraproject.org/": "ffo",  # master only
}
# openQA's pattern as it is: only "?" of a URL is escaped (a "." matches any character), case-sensitive (the
# compiled pattern's flags win over the substitution's /i), not after a quote or bracket; the repository part
# before /issues/ (GitHub, GitLab, pagure) becomes "#repo".
# master also takes pulls and work_items, 4.6 only issue(s) and pull.
_BUG_URL = re.compile(
    r"""(?<!["(\[])(?P<root>%s)((?P<repo>.*?)/(-/)?(issues?|pulls?|work_items)/)?(?P<id>([A-Z]+-)?\d+)(?!\w)"""
    % "|".join(root.replace("?", "\\?") for root in _BUG_URLS))
# openQA refuses to delete a comment that forces the job's result: one by one it refuses a force_result label
# (403), in bulk any text with this in it (DELETE comments skips them). The bulk rule covers the other.
_FORCE_RESULT = "label:force_result:"
# (server URL, method) -> whether the bulk comments route exists; learnt once per process
_BULK: t.Dict[t.Tuple[str, str], bool] = {}


def job_comments(client: Client, job_id: int) -> t.List[dict]:
    try:
        return client.get("jobs/%d/comments" % job_id)
    except NotFoundError:
        raise NotFoundError("unknown test: there is no job %d on %s" % (job_id, client.base_url)) from None


def _bug_reference(match: t.Match[str]) -> str:
    # openQA looks the root up as written (one matched through a "." maps to nothing), and Perl takes a
    # repository "0" as none
    repo = match.group("repo")
    return "%s%s#%s" % (_BUG_URLS.get(match.group("root"), ""), "#" + repo if repo and repo != "0" else "",
                        match.group("id"))


def as_openqa_stores(text: str) -> str:
    """The comment text as openQA stores it: bug tracker URLs replaced by their bug references."""
    return _BUG_URL.sub(_bug_reference, text)


def matching(comments: t.Iterable[t.Mapping[str, t.Any]], text: str) -> t.List[int]:
    """Ids of the comments whose text is ``text`` as openQA stores it, also when openQA carried it over from an
    earlier job."""
    wanted = as_openqa_stores(text).strip()
    return [int(comment["id"]) for comment in comments
            if as_openqa_stores(_TAKEOVER.sub("", str(comment.get("text", "")))).strip() == wanted]


def _read(client: Client, job_ids: t.Sequence[int], text: str) -> t.Dict[int, t.List[int]]:
    return {job_id: matching(job_comments(client, job_id), text) for job_id in job_ids}


_NO_ROUTE = object()  # what _bulk gives when the server has no bulk route (nothing was done)


def _bulk(client: Client, method: str, path: str, pairs: t.List[t.Tuple[str, t.Any]]) -> t.Any:
    """Send one bulk request when the server may have the route: its answer, or _NO_ROUTE."""
    key = (client.base_url, method)
    if _BULK.get(key) is False:
        return _NO_ROUTE
    try:
        answer = client.request(method, path, pairs)
    except NotFoundError:
        _BULK[key] = False
        return _NO_ROUTE
    _BULK[key] = True
    return answer


def _comment_id(answer: t.Any) -> t.Optional[int]:
    value = answer.get("id") if isinstance(answer, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def add_comment(client: Client, job_ids: t.Sequence[int], text: str) -> t.Dict[int, int]:
    """Post ``text`` on every job: one request where the server has the bulk route, else one per job.
    Returns job id -> the new comment's id, for the jobs the answers name."""
    if len(job_ids) > 1:
        answer = _bulk(client, "POST", "comments", [("text", text)] + [("job_id", i) for i in job_ids])
        if answer is not _NO_ROUTE:
            created = answer.get("created") if isinstance(answer, dict) else None
            # openQA answers each job_id as it was sent: a string
            return {int(item["job_id"]): item["id"] for item in created or []
                    if isinstance(item, dict) and str(item.get("job_id")) in {str(i) for i in job_ids}
                    and _comment_id(item) is not None}
    posted = {}
    for job_id in job_ids:
        comment_id = _comment_id(client.post("jobs/%d/comments" % job_id, {"text": text}))
        if comment_id is not None:
            posted[job_id] = comment_id
    return posted


def drop_own_duplicates(client: Client, posted: t.Mapping[int, int], text: str) -> t.Tuple[t.List[int], t.List[str]]:
    """After posting: where another run posted the same comment at the same time, the older one stays and
    ours is deleted (each run reads the job again and keeps only the oldest, so two runs agree on it).
    Returns the jobs where ours was the duplicate, and a warning for duplicates it could not delete."""
    duplicates = {job_id: [own] for job_id, own in posted.items()
                  if any(other < own for other in matching(job_comments(client, job_id), text))}
    if not duplicates:
        return [], []
    twice = "jobs %s got this comment twice (another run added it at the same time)" % id_list(duplicates)
    if _FORCE_RESULT in text:
        return [], [twice + "; openQA does not delete a force_result comment"]
    try:
        delete_comments(client, duplicates)
    except OpenQAError as error:
        return [], ["%s; deleting ours failed (it needs an admin key): %s" % (twice, error.message)]
    return list(duplicates), []


def delete_comments(client: Client, comments: t.Mapping[int, t.Sequence[int]]) -> None:
    """Delete comments given as job id -> comment ids."""
    ids = [comment_id for job_comment_ids in comments.values() for comment_id in job_comment_ids]
    if len(ids) > 1 and _bulk(client, "DELETE", "comments", [("id", i) for i in ids]) is not _NO_ROUTE:
        return
    for job_id, comment_ids in comments.items():
        for comment_id in comment_ids:
            client.delete("jobs/%d/comments/%d" % (job_id, comment_id))


def comment(client: Client, params: dict) -> Result:
    """Add ``text`` to each job that lacks it, or (remove) delete it where it is; returns the jobs changed."""
    text = params["text"]
    job_ids = list(dict.fromkeys(params["id"]))
    remove = params["remove"]
    present = _read(client, job_ids, text)
    if remove:
        todo = {job_id: ids for job_id, ids in present.items() if ids}
    else:
        todo = {job_id: [] for job_id, ids in present.items() if not ids}
    verb = "remove the comment from" if remove else "comment on"
    if not todo:
        state = "has no such comment" if remove else "already has this comment"
        return Result(returns=[], message="nothing to do: every job (%s) %s" % (id_list(job_ids), state))
    if remove and _FORCE_RESULT in text:
        raise RefusedError("refused: openQA does not delete a comment with a force_result label (the result it "
                           "forced would stay without its reason); the comment stays on jobs %s, nothing was "
                           "removed; label the job with a new force_result comment instead" % id_list(todo))
    if client.check_mode:
        return Result(returns=list(todo), changed=True, message="would %s jobs %s" % (verb, id_list(todo)))
    posted: t.Dict[int, int] = {}
    try:
        if remove:
            delete_comments(client, todo)
        else:
            posted = add_comment(client, list(todo), text)
    except (UnreachableError, ServerError, InvalidInputError) as error:
        # the write may have been done in part: judge by what the server holds now, never write twice
        after = _read(client, list(todo), text)
        left = [job_id for job_id, ids in after.items() if bool(ids) == remove]
        if left:
            raise type(error)("%s; jobs %s are still to do (rerun to finish)"
                              % (error.message, id_list(left))) from None
    meanwhile, warnings = drop_own_duplicates(client, posted, text)
    changed = [job_id for job_id in todo if job_id not in meanwhile]
    late = "; jobs %s got it meanwhile from another run" % id_list(meanwhile) if meanwhile else ""
    if not changed:
        return Result(returns=[], warnings=warnings, message="nothing to do: every job (%s) already has this "
                      "comment%s" % (id_list(job_ids), late))
    done = "removed the comment from" if remove else "commented on"
    return Result(returns=changed, changed=True, warnings=warnings,
                  message="%s jobs %s%s" % (done, id_list(changed), late))
