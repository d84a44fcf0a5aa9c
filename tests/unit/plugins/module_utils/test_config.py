"""Host rules and the credentials precedence: options > --json-data > environment > client.conf."""

from __future__ import annotations

import pytest

from ansible_collections.openqa.client.plugins.module_utils import config
from ansible_collections.openqa.client.plugins.module_utils.config import normalize_host, resolve_connection
from ansible_collections.openqa.client.plugins.module_utils.envelope import InvalidInputError


@pytest.mark.parametrize("given, url", [
    ("localhost", "http://localhost"),
    ("127.0.0.1:9526", "http://127.0.0.1:9526"),
    ("[::1]:9526", "http://[::1]:9526"),
    ("openqa.example.com", "https://openqa.example.com"),
    ("openqa.example.com:8080", "https://openqa.example.com:8080"),
    ("http://openqa.example.com/", "http://openqa.example.com"),
    ("o3", "https://openqa.opensuse.org"),
    ("osd", "https://openqa.suse.de"),
    (" https://host/prefix/ ", "https://host/prefix"),
])
def test_host_rules(given, url):
    assert normalize_host(given) == url


@pytest.mark.parametrize("bad", ["", "   ", "ftp://host", "http://", "http://host:99999", "https://host?x=1",
                                 "http://host:port"])
def test_bad_hosts_are_invalid_input(bad):
    with pytest.raises(InvalidInputError):
        normalize_host(bad)


@pytest.fixture
def conf_dir(tmp_path):
    (tmp_path / "client.conf").write_text(
        "[127.0.0.1]\nkey = HOSTKEY\nsecret = HOSTSECRET\n"
        "[127.0.0.1:9526]\nkey = PORTKEY\nsecret = PORTSECRET\n"
        "[https://openqa.example.com]\nkey = URLKEY\nsecret = URLSECRET\n")
    return tmp_path


def _env(conf_dir, **extra):
    return dict({"OPENQA_CONFIG": str(conf_dir), "HOME": str(conf_dir)}, **extra)


def test_client_conf_prefers_the_most_specific_section(conf_dir):
    connection = resolve_connection({"host": "http://127.0.0.1:9526"}, environ=_env(conf_dir))
    assert (connection.api_key, connection.api_secret) == ("PORTKEY", "PORTSECRET")
    assert connection.credential_source.startswith("client.conf [127.0.0.1:9526]")
    other_port = resolve_connection({"host": "http://127.0.0.1:9999"}, environ=_env(conf_dir))
    assert other_port.api_key == "HOSTKEY"
    by_url = resolve_connection({"host": "openqa.example.com"}, environ=_env(conf_dir))
    assert by_url.api_key == "URLKEY"


def test_drop_ins_override_the_main_file(conf_dir):
    (conf_dir / "client.conf.d").mkdir()
    (conf_dir / "client.conf.d" / "10-local.conf").write_text("[127.0.0.1]\nkey = DROPKEY\nsecret = DROPSECRET\n")
    connection = resolve_connection({"host": "http://127.0.0.1"}, environ=_env(conf_dir))
    assert connection.api_key == "DROPKEY"


def test_precedence(conf_dir):
    env = _env(conf_dir, OPENQA_API_KEY="ENVKEY", OPENQA_API_SECRET="ENVSECRET")
    host = {"host": "http://127.0.0.1:9526"}
    assert resolve_connection(host, environ=env, sole_server=True).api_key == "ENVKEY"
    options = dict(host, api_key="OPTKEY", api_secret="OPTSECRET")
    connection = resolve_connection(options, environ=env)
    assert (connection.api_key, connection.credential_source) == ("OPTKEY", "options")
    from_file = resolve_connection(options, from_json_data={"api_key", "api_secret"}, environ=env)
    assert from_file.credential_source == "json-data"


def test_environment_credentials_go_only_to_the_server_openqa_host_names(conf_dir):
    env = _env(conf_dir, OPENQA_HOST="127.0.0.1:9526", OPENQA_API_KEY="ENVKEY", OPENQA_API_SECRET="ENVSECRET")
    for same in ({}, {"host": "http://127.0.0.1:9526/"}, {"host": "http://user:pw@127.0.0.1:9526"}):
        assert resolve_connection(same, environ=env).api_key == "ENVKEY", same
    # another instance: its own client.conf section, else nothing, whoever asks (a play or openqa-ctl)
    for sole_server in (False, True):
        assert resolve_connection({"host": "openqa.example.com"}, environ=env, sole_server=sole_server).api_key \
            == "URLKEY"
        other = resolve_connection({"host": "https://other.example.com"}, environ=env, sole_server=sole_server)
        assert (other.api_key, other.credential_source) == (None, "none (anonymous)")
        assert other.withheld.startswith("OPENQA_API_KEY/OPENQA_API_SECRET were not sent to https://other.example.com: "
                                         "they belong to the server OPENQA_HOST names (127.0.0.1:9526)")
        assert other.withheld in other.warnings() and "ENVSECRET" not in repr(other) + other.withheld
    # the same host name on another port or scheme is another instance
    assert resolve_connection({"host": "https://127.0.0.1:9526"}, environ=env).api_key == "PORTKEY"


def test_without_openqa_host_environment_credentials_are_the_single_server_commands(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "CONFIG_DIRS", (str(tmp_path / "etc"),))
    env = {"OPENQA_CONFIG": str(tmp_path), "OPENQA_API_KEY": "ENVKEY", "OPENQA_API_SECRET": "ENVSECRET"}
    assert resolve_connection({}, environ=env).api_key == "ENVKEY"  # no host anywhere: http://localhost
    assert resolve_connection({"host": "https://a.example.com"}, environ=env, sole_server=True).api_key == "ENVKEY"
    in_a_play = resolve_connection({"host": "https://a.example.com"}, environ=env)
    assert in_a_play.api_key is None and "export OPENQA_HOST=https://a.example.com" in in_a_play.withheld
    # half credentials that are not this server's are not this server's error either
    half = {"OPENQA_CONFIG": str(tmp_path), "OPENQA_API_KEY": "ENVKEY"}
    assert resolve_connection({"host": "https://a.example.com"}, environ=half).api_key is None


def test_half_credentials_are_invalid_input(conf_dir):
    with pytest.raises(InvalidInputError, match="api_secret is missing"):
        resolve_connection({"api_key": "K"}, environ=_env(conf_dir))


def test_no_credentials_is_anonymous(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "CONFIG_DIRS", (str(tmp_path / "etc"),))
    environ = {"OPENQA_CONFIG": str(tmp_path), "HOME": str(tmp_path)}
    connection = resolve_connection({"host": "http://127.0.0.1:1"}, environ=environ)
    assert connection.api_key is None and connection.credential_source == "none (anonymous)"


def test_broken_client_conf_is_named(tmp_path):
    (tmp_path / "client.conf").write_text("key = outside any section\n")
    with pytest.raises(InvalidInputError, match="client.conf"):
        resolve_connection({"host": "http://x"}, environ={"OPENQA_CONFIG": str(tmp_path)})


def test_secret_is_not_in_repr_and_plain_http_warns():
    connection = resolve_connection({"host": "http://openqa.example.com", "api_key": "K", "api_secret": "S3CR3T"},
                                    environ={})
    assert "S3CR3T" not in repr(connection)
    assert "plain http" in connection.warnings()[0]
    local = resolve_connection({"host": "http://localhost", "api_key": "K", "api_secret": "S"}, environ={})
    assert local.warnings() == []
