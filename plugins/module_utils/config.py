# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which server, with which credentials: options > --json-data > environment > client.conf."""

from __future__ import annotations

import os
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


class Connection(t.NamedTuple):
    url: str
    api_key: t.Optional[str]
    api_secret: t.Optional[str]
    credential_source: str

    def __repr__(self) -> str:
        return "Connection(url=%r, credential_source=%r)" % (self.url, self.credential_source)

    @property
    def is_local(self) -> bool:
        return urlsplit(self.url).hostname in LOCAL_NAMES

    def warnings(self) -> list:
        if self.api_secret and self.url.startswith("http://") and not self.is_local:
            return ["credentials are sent to %s over plain http: anyone on the path can replay "
                    "signed requests; use https" % self.url]
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
        parts.port
    except ValueError:
        raise InvalidInputError("host %r has an invalid port" % host)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise InvalidInputError("host %r is not an http(s) URL such as https://openqa.example.com" % host)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def config_files(environ: t.Mapping[str, str]) -> list:
    """client.conf files as openqa-cli finds them: the first directory that has any, plus drop-ins."""
    import glob

    dirs = ([environ["OPENQA_CONFIG"]] if environ.get("OPENQA_CONFIG") else []) + list(CONFIG_DIRS)
    for directory in dirs:
        directory = os.path.expanduser(directory)
        main = os.path.join(directory, "client.conf")
        files = ([main] if os.path.isfile(main) else [])
        files += sorted(glob.glob(os.path.join(directory, "client.conf.d", "*.conf")))
        if files:
            return files
    return []


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
            with open(path, encoding="utf-8") as handle:
                parser.read_file(handle, source=path)
        except (OSError, UnicodeDecodeError, configparser.Error) as exc:
            raise InvalidInputError("cannot read client.conf %s: %s; fix or remove it" % (path, exc))
    for section in _sections_for(url):
        if parser.has_section(section):
            key = parser.get(section, "key", fallback=None)
            secret = parser.get(section, "secret", fallback=None)
            if key or secret:
                return key, secret, "client.conf [%s] in %s" % (section, ", ".join(files))
    return None, None, ""


def resolve_connection(
    params: t.Mapping[str, t.Any],
    from_json_data: t.AbstractSet[str] = frozenset(),
    environ: t.Optional[t.Mapping[str, str]] = None,
) -> Connection:
    """Pick the host and the credentials; the result names the credentials' source, never the secret."""
    environ = os.environ if environ is None else environ
    url = normalize_host(params.get("host") or environ.get("OPENQA_HOST") or DEFAULT_HOST)
    key, secret = params.get("api_key"), params.get("api_secret")
    source = "json-data" if {"api_key", "api_secret"} & set(from_json_data) else "options"
    if not (key or secret):
        key, secret = environ.get("OPENQA_API_KEY"), environ.get("OPENQA_API_SECRET")
        source = "environment (OPENQA_API_KEY/OPENQA_API_SECRET)"
    if not (key or secret):
        key, secret, source = _from_client_conf(url, environ)
    if bool(key) != bool(secret):
        missing = "api_secret" if key else "api_key"
        raise InvalidInputError("%s is missing: %s gave only one of api_key/api_secret; give both"
                                % (missing, source))
    return Connection(url, key or None, secret or None, source if key else "none (anonymous)")
