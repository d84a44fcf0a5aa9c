# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Status codes, typed errors and the result every verb returns.

The proposal fixes 0 (ok), 1 (unknown remote host), 2 (unknown test) and 3 (ambiguous
options); the other codes extend it so that a script can branch on the kind of failure.
The CLI exits with the status, the modules fail when it is not 0.
"""

from __future__ import annotations

import enum
import typing as t


class Status(enum.IntEnum):
    OK = 0
    UNREACHABLE = 1
    NOT_FOUND = 2
    AMBIGUOUS = 3
    INVALID_INPUT = 4
    AUTH = 5
    SERVER_ERROR = 6
    NOT_OK = 7
    TIMEOUT = 8
    REFUSED = 9
    UNDECIDED = 10


STATUS_MEANINGS = {
    Status.OK: "ok: the action ran (or, in check mode, would run)",
    Status.UNREACHABLE: "unknown remote host: it could not be reached (DNS, refused, TLS, timeout)",
    Status.NOT_FOUND: "unknown object: the test, worker, group or build does not exist",
    Status.AMBIGUOUS: "ambiguous options: they conflict or match several objects",
    Status.INVALID_INPUT: "invalid input: an option is missing, malformed or not allowed here",
    Status.AUTH: "authentication or permission denied by the server",
    Status.SERVER_ERROR: "the server failed or did not answer like openQA",
    Status.NOT_OK: "finished, but some job result is not ok (failed, incomplete, ...)",
    Status.TIMEOUT: "waited until the timeout and some job is not finished",
    Status.REFUSED: "the server refused the change (e.g. missing assets, use force)",
    Status.UNDECIDED: "check mode: the outcome cannot be known yet (jobs pending, or a real run would first "
                      "schedule or restart jobs)",
}


class OpenQAError(Exception):
    """An expected failure: it becomes an envelope, never a traceback."""

    status = Status.SERVER_ERROR

    def __init__(self, message: str, returns: t.Any = None, changed: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.returns = returns
        # True when the server was changed before this failure (see failed_after)
        self.changed = changed


class UnreachableError(OpenQAError):
    status = Status.UNREACHABLE


class NotFoundError(OpenQAError):
    status = Status.NOT_FOUND


class AmbiguousError(OpenQAError):
    status = Status.AMBIGUOUS


class InvalidInputError(OpenQAError):
    status = Status.INVALID_INPUT


class AuthError(OpenQAError):
    status = Status.AUTH


class ServerError(OpenQAError):
    status = Status.SERVER_ERROR


class RefusedError(OpenQAError):
    status = Status.REFUSED


class Result:
    """What a verb returns; the module and the CLI each present it their way.

    A plain class, not a dataclass: importing dataclasses (and inspect with it) would cost every
    openqa-ctl call more than the rest of our modules together.
    """

    def __init__(self, returns: t.Any = None, message: str = "ok", status: Status = Status.OK,
                 changed: bool = False, warnings: t.Optional[list] = None, credential_source: str = "") -> None:
        self.returns = returns
        self.message = message
        self.status = status
        self.changed = changed
        self.warnings = [] if warnings is None else warnings
        self.credential_source = credential_source
        self.server = ""  # the server's URL as outputs show it (config.display_url), set by the runner

    def __repr__(self) -> str:
        return "Result(status=%r, message=%r, changed=%r, returns=%r)" % (
            self.status, self.message, self.changed, self.returns)

    @classmethod
    def from_error(cls, error: OpenQAError) -> "Result":
        return cls(returns=error.returns, message=error.message, status=error.status, changed=error.changed)

    def envelope(self, with_changed: bool = False) -> dict:
        """The proposal's JSON shape: ``{"invocation": {...}, "returns": ...}``."""
        invocation: dict = {"status": int(self.status), "message": self.message}
        if with_changed:
            invocation["changed"] = self.changed
        envelope: dict = {"invocation": invocation}
        if self.returns is not None:
            envelope["returns"] = self.returns
        return envelope


def failed_after(done: Result, step: str, error: OpenQAError) -> Result:
    """A failure after ``done`` changed the server: the failure's status, ``done``'s change and returns.

    Every mutating action reports a failed later step (a comment, the next cancel, a --wait poll)
    this way, because a pipeline trusts ``changed`` and ``returns``: "nothing changed" after jobs
    were restarted or cancelled would make it act on a false picture.
    """
    return Result(returns=done.returns, status=error.status, changed=done.changed,
                  message="%s; then %s failed: %s" % (done.message, step, error.message),
                  warnings=list(done.warnings))
