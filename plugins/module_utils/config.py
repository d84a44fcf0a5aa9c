# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which server, with which credentials: options > --json-data > environment (only for the server it belongs
to) > client.conf. A credential is sent only to the instance it was given for."""

from __future__ import annotations

import os
import stat
import typing as t
from urllib.parse import urlsplit, urlunsplit

from ansible_collections.openqa.client.plugins.module_utils.envelope import InvalidInputError

DEFAULT_HOST = "http://localhost"
HOST_ALIASES = {
    "o3": "https://openqa.opensuse.org",
    "osd": "https://openqa.suse.de",
    "odn": "https://openqa.debian.net",
}
LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
CONFIG_DIRS = ("~/.config/openqa", "/etc/openqa", "/usr/etc/openqa")
MAX_CONFIG_FILE = 1024 * 1024
# The largest answer accepted by default (max_answer_mb): a connection setting, declared here so the
# option's default does not import the HTTP client (help and bad input answer without it).
DEFAULT_MAX_ANSWER_MB = 256


def display_url(url: str) -> str:
    """The URL as outputs show it: ``user:password@`` becomes ``***@`` (userinfo is a secret)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit((parts.scheme, "***@" + parts.netloc.rsplit("@", 1)[1], parts.path, parts.query,
                       parts.fragment))


def url_secrets(url: str) -> t.List[str]:
    """The userinfo of a host URL, for a logger to mask (Ansible's no_log_values)."""
    netloc = urlsplit(url.strip()).netloc if "://" in url else urlsplit("//" + url.strip()).netloc
    if "@" not in netloc:
        return []
    userinfo = netloc.rsplit("@", 1)[0]
    return [part for part in (userinfo, userinfo.partition(":")[2]) if part]


def read_regular_file(path: str, what: str, limit: int) -> bytes:
    """A regular file's bytes, at most ``limit``: a FIFO would hang, /dev/zero never end."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise InvalidInputError("cannot read %s %s: it is not a regular file" % (what, path))
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise InvalidInputError("cannot read %s %s: %s" % (what, path, exc.strerror or exc)) from None
    if len(data) > limit:
        raise InvalidInputError("%s %s is larger than %d MiB: is it the right file?" % (what, path, limit >> 20))
    return data


class Connection(t.NamedTuple):
    url: str
    api_key: t.Optional[str]
    api_secret: t.Optional[str]
    credential_source: str
    # why OPENQA_API_KEY/OPENQA_API_SECRET were not used for this server (they belong to another); "" otherwise
    withheld: str = ""

    def __repr__(self) -> str:
        return "Connection(url=%r, credential_source=%r)" % (self.url, self.credential_source)

    def warnings(self) -> list:
        return plain_http_warnings(self.url, self.api_secret) + ([self.withheld] if self.withheld else [])


def plain_http_warnings(url: str, api_secret: t.Optional[str]) -> t.List[str]:
    if api_secret and url.startswith("http://") and urlsplit(url).hostname not in LOCAL_NAMES:
        return ["credentials are sent to %s over plain http: anyone on the path can replay "
                "signed requests; use https" % display_url(url)]
    return []


def normalize_host(host: str) -> str:
    """openqa-cli's rule: a bare name means https, except localhost/127.0.0.1/::1 (http)."""
    host = host.strip()
    if not host:
        raise InvalidInputError("host is empty: give a URL such as https://openqa.example.com or a name")
    host = HOST_ALIASES.get(host, host)
    if "://" not in host:
        name = urlsplit("//" + host).hostname
        host = ("http://" if name in LOCAL_NAMES else "https://") + host
    parts = urlsplit(host)
    try:
        parts.port  # noqa: B018  pylint: disable=pointless-statement  # urlsplit checks the port only when read
    except ValueError:
        raise InvalidInputError("host %r has an invalid port" % display_url(host)) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise InvalidInputError("host %r is not an http(s) URL such as https://openqa.example.com"
                                % display_url(host))
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def config_files(environ: t.Mapping[str, str]) -> list:
    """client.conf files as openqa-cli finds them: the first directory that has any, plus drop-ins."""
    import glob

    dirs = ([environ["OPENQA_CONFIG"]] if environ.get("OPENQA_CONFIG") else []) + list(CONFIG_DIRS)
    for directory in dirs:
        directory = os.path.expanduser(directory)
        main = os.path.join(directory, "client.conf")
        files = ([main] if os.path.isfile(main) else [])
        # isfile: a FIFO or a device among the drop-ins would hang or flood every call
        files += sorted(path for path in glob.glob(os.path.join(directory, "client.conf.d", "*.conf"))
                        if os.path.isfile(path))
        if files:
            return files
    return []


def _config_error(exc: Exception) -> str:
    """What is wrong and where, never the line itself: it may be a secret."""
    import configparser

    if isinstance(exc, configparser.MissingSectionHeaderError):
        return "line %d comes before any [section] header" % exc.lineno
    if isinstance(exc, configparser.ParsingError):
        return "line %s is not KEY = VALUE" % ", ".join(str(lineno) for lineno, _line in exc.errors)
    return "%s (the file cannot be parsed)" % type(exc).__name__


def _sections_for(url: str) -> list:
    """Section names that may hold this host's credentials, most specific first."""
    parts = urlsplit(url)
    names = [url, "%s://%s" % (parts.scheme, parts.netloc), parts.netloc, parts.hostname]
    if parts.port is None:
        names.insert(2, "%s:%d" % (parts.hostname, 443 if parts.scheme == "https" else 80))
    return list(dict.fromkeys(names))


def _from_client_conf(url: str, environ: t.Mapping[str, str]) -> t.Tuple[t.Optional[str], t.Optional[str], str]:
    # imported only when no option or variable gave credentials: configparser compiles a dozen regexes
    import configparser

    parser = configparser.ConfigParser(interpolation=None, strict=False)
    files = config_files(environ)
    for path in files:
        try:
            parser.read_string(read_regular_file(path, "client.conf", MAX_CONFIG_FILE).decode("utf-8"), source=path)
        except UnicodeDecodeError as exc:
            raise InvalidInputError("cannot read client.conf %s: not UTF-8 text (byte %d); fix or remove it"
                                    % (path, exc.start)) from None
        except configparser.Error as exc:
            raise InvalidInputError("cannot read client.conf %s: %s; fix or remove it"
                                    % (path, _config_error(exc))) from None
    for section in _sections_for(url):
        if parser.has_section(section):
            key = parser.get(section, "key", fallback=None)
            secret = parser.get(section, "secret", fallback=None)
            if key or secret:
                return key, secret, "client.conf [%s] in %s" % (section, ", ".join(files))
    return None, None, ""


def _check_credentials(key: t.Any, secret: t.Any, source: str) -> None:
    """Found before any request: a key that cannot be a header, a secret that is not text (values never shown)."""
    if not key:
        return
    if not isinstance(key, str) or not key.isprintable() or not all(ord(char) < 256 for char in key) \
            or key != key.strip():
        raise InvalidInputError("api_key from %s has characters an HTTP header cannot carry (control characters, "
                                "line breaks, spaces around it or non-Latin-1 letters): copy the key again from the "
                                "openQA web UI" % source)
    try:
        str(secret).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError("api_secret from %s is not valid UTF-8 text: copy the secret again from the openQA "
                                "web UI" % source) from None


def _instance(url: str) -> t.Tuple[str, t.Optional[str], t.Optional[int], str]:
    """What makes two URLs the same openQA instance: scheme, host, port and path (userinfo is not part of it)."""
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), parts.path


def _environment_withheld(url: str, host_option: t.Any, environ: t.Mapping[str, str],
                          sole_server: bool) -> str:
    """Why OPENQA_API_KEY/OPENQA_API_SECRET must not go to ``url``, or "" when they belong to it.

    They belong to the server OPENQA_HOST names; without OPENQA_HOST, to the one server of a single-server
    command (openqa-ctl's --host, a task or lookup with no host option). Any other server in the same run
    (clone --to, each instance of an inventory, a lookup with its own host) is another instance.
    """
    named = (environ.get("OPENQA_HOST") or "").strip()
    if named:
        try:
            if _instance(normalize_host(named)) == _instance(url):
                return ""
        except InvalidInputError:
            pass  # an OPENQA_HOST that names no server owns nothing
        owner = "they belong to the server OPENQA_HOST names (%s)" % display_url(named)
    elif sole_server or not host_option:
        return ""
    else:
        owner = ("without OPENQA_HOST they belong only to the server of a single-server command, and a host "
                 "given in a play is one instance among others; export OPENQA_HOST=%s if they are this server's"
                 % display_url(url))
    return ("OPENQA_API_KEY/OPENQA_API_SECRET were not sent to %s: %s. Give %s its own api_key/api_secret "
            "or a [%s] section in client.conf"
            % (display_url(url), owner, display_url(url), urlsplit(url).netloc.rsplit("@", 1)[-1]))


def resolve_connection(
    params: t.Mapping[str, t.Any],
    from_json_data: t.AbstractSet[str] = frozenset(),
    environ: t.Optional[t.Mapping[str, str]] = None,
    sole_server: bool = False,
) -> Connection:
    """Pick the host and the credentials; the result names the credentials' source, never the secret.

    A credential goes only to the instance it was given for: options, --json-data and client.conf sections
    are this server's; OPENQA_API_KEY/OPENQA_API_SECRET only when this is the environment's server
    (see _environment_withheld). ``sole_server``: the host option names the one server of a single-server
    command (openqa-ctl), so without OPENQA_HOST the environment's credentials are its own.
    """
    environ = os.environ if environ is None else environ
    url = normalize_host(params.get("host") or environ.get("OPENQA_HOST") or DEFAULT_HOST)
    key, secret = params.get("api_key"), params.get("api_secret")
    source = "json-data" if {"api_key", "api_secret"} & set(from_json_data) else "options"
    withheld = ""
    if not (key or secret) and (environ.get("OPENQA_API_KEY") or environ.get("OPENQA_API_SECRET")):
        withheld = _environment_withheld(url, params.get("host"), environ, sole_server)
        if not withheld:
            key, secret = environ.get("OPENQA_API_KEY"), environ.get("OPENQA_API_SECRET")
            source = "environment (OPENQA_API_KEY/OPENQA_API_SECRET)"
    if not (key or secret):
        key, secret, source = _from_client_conf(url, environ)
    if bool(key) != bool(secret):
        missing = "api_secret" if key else "api_key"
        raise InvalidInputError("%s is missing: %s gave only one of api_key/api_secret; give both"
                                % (missing, source))
    _check_credentials(key, secret, source)
    if key:
        return Connection(url, key, secret, source)
    return Connection(url, None, None, "none (anonymous)", withheld)
