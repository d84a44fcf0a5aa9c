# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""Job comments: idempotent labelling (``test comment``), reusable by any verb that labels jobs.

A comment is "there" when a comment of the job has the same text (surrounding whitespace and openQA's
carry-over note aside).
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
# (server URL, method) -> whether the bulk comments route exists; learnt once per process
_BULK: t.Dict[t.Tuple[str, str], bool] = {}


def job_comments(client: Client, job_id: int) -> t.List[dict]:
    try:
        return client.get("jobs/%d/comments" % job_id)
    except NotFoundError:
        raise NotFoundError("unknown test: there is no job %d on %s" % (job_id, client.base_url)) from None


def matching(comments: t.Iterable[t.Mapping[str, t.Any]], text: str) -> t.List[int]:
    """Ids of the comments whose text is ``text``, also when openQA carried it over from an earlier job."""
    wanted = text.strip()
    return [int(comment["id"]) for comment in comments
            if _TAKEOVER.sub("", str(comment.get("text", ""))).strip() == wanted]


def _read(client: Client, job_ids: t.Sequence[int], text: str) -> t.Dict[int, t.List[int]]:
    return {job_id: matching(job_comments(client, job_id), text) for job_id in job_ids}


def _bulk(client: Client, method: str, path: str, pairs: t.List[t.Tuple[str, t.Any]]) -> bool:
    """Send one bulk request when the server may have the route; False when it has not (nothing was done)."""
    key = (client.base_url, method)
    if _BULK.get(key) is False:
        return False
    try:
        client.request(method, path, pairs)
    except NotFoundError:
        _BULK[key] = False
        return False
    _BULK[key] = True
    return True


def add_comment(client: Client, job_ids: t.Sequence[int], text: str) -> None:
    """Post ``text`` on every job: one request where the server has the bulk route, else one per job."""
    if len(job_ids) > 1 and _bulk(client, "POST", "comments", [("text", text)] + [("job_id", i) for i in job_ids]):
        return
    for job_id in job_ids:
        client.post("jobs/%d/comments" % job_id, {"text": text})


def delete_comments(client: Client, comments: t.Mapping[int, t.Sequence[int]]) -> None:
    """Delete comments given as job id -> comment ids."""
    ids = [comment_id for job_comment_ids in comments.values() for comment_id in job_comment_ids]
    if len(ids) > 1 and _bulk(client, "DELETE", "comments", [("id", i) for i in ids]):
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
    if client.check_mode:
        return Result(returns=list(todo), changed=True, message="would %s jobs %s" % (verb, id_list(todo)))
    try:
        if remove:
            delete_comments(client, todo)
        else:
            add_comment(client, list(todo), text)
    except (UnreachableError, ServerError, InvalidInputError) as error:
        # the write may have been done in part: judge by what the server holds now, never write twice
        after = _read(client, list(todo), text)
        left = [job_id for job_id, ids in after.items() if bool(ids) == remove]
        if left:
            raise type(error)("%s; jobs %s are still to do (rerun to finish)"
                              % (error.message, id_list(left))) from None
    done = "removed the comment from" if remove else "commented on"
    return Result(returns=list(todo), changed=True, message="%s jobs %s" % (done, id_list(todo)))
