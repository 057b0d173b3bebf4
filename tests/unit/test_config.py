"""What an admin sees when the server reads its settings: values taken, and errors that point at the key."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from chat.config import ConfigError, Discovery, History, Limits, Settings, Tls, load_settings

LAN_YAML = Path(__file__).resolve().parents[2] / "config" / "lan.yaml"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative paths (the data dir, the file names in messages) resolve inside the test's folder."""
    monkeypatch.chdir(tmp_path)


def write(text: str, name: str = "chat.yaml") -> Path:
    path = Path(name)
    path.write_text(text, encoding="utf-8")
    return path


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(text), environ={})
    return str(caught.value)


# --- values that are taken ---


def test_no_file_gives_documented_defaults_with_absolute_data_dir(tmp_path: Path) -> None:
    settings = load_settings(None, environ={})
    assert settings == dataclasses.replace(Settings(), data_dir=tmp_path / "data")
    assert settings.data_dir.is_absolute()


def test_sample_config_loads_and_matches_defaults() -> None:
    assert load_settings(LAN_YAML, environ={}) == load_settings(None, environ={})


def test_sample_config_shows_every_setting() -> None:
    """An admin edits lan.yaml without reading code, so every setting must appear in it."""
    data = yaml.safe_load(LAN_YAML.read_text(encoding="utf-8"))
    sections = {"limits", "history", "tls", "auth", "discovery"}
    settings_fields = {f.name for f in dataclasses.fields(Settings)} - sections - {"server_name"}
    assert set(data["server"]) == settings_fields | {"name"}
    assert set(data["limits"]) == {f.name for f in dataclasses.fields(Limits)}
    assert set(data["history"]) == {f.name for f in dataclasses.fields(History)}
    # Secrets and file paths have no useful default, so they are shown commented out.
    text = LAN_YAML.read_text(encoding="utf-8")
    shown = set(re.findall(r"^  #? ?([a-z_]+):", text, re.MULTILINE))
    assert {f.name for f in dataclasses.fields(Tls)} <= shown
    assert {"password", "password_file", "reserve_nicks", "sasl_plaintext"} <= shown
    assert {f.name for f in dataclasses.fields(Discovery)} <= shown


def test_every_value_in_the_file_is_used() -> None:
    path = write(
        """
server:
  name: irc.office
  network: Office
  host: "::"
  port: 7000
  motd: |
    Hello.
    Be nice.
  default_channels: ["#general", "&local", "#گفتگو"]
  data_dir: /var/lib/chat
  log_level: debug
limits:
  max_clients: 10
  max_line: 1024
  ping_interval: 5
  ping_timeout: 7.5
  registration_timeout: 3
  sendq: 4096
  nick_length: 9
  channel_length: 20
  topic_length: 100
  away_length: 50
"""
    )
    assert load_settings(path, environ={}) == Settings(
        server_name="irc.office",
        network="Office",
        host="::",
        port=7000,
        motd="Hello.\nBe nice.\n",
        default_channels=("#general", "&local", "#گفتگو"),
        data_dir=Path("/var/lib/chat"),
        log_level="DEBUG",
        limits=Limits(
            max_clients=10,
            max_line=1024,
            ping_interval=5.0,
            ping_timeout=7.5,
            registration_timeout=3.0,
            sendq=4096,
            nick_length=9,
            channel_length=20,
            topic_length=100,
            away_length=50,
        ),
    )


def test_whole_seconds_become_floats() -> None:
    limits = load_settings(write("limits:\n  ping_interval: 5\n"), environ={}).limits
    assert limits.ping_interval == 5.0
    assert isinstance(limits.ping_interval, float)


def test_keys_left_out_keep_their_defaults() -> None:
    settings = load_settings(write("server:\n  port: 7000\n"), environ={})
    assert settings.port == 7000
    assert dataclasses.replace(settings, port=6667) == load_settings(None, environ={})


@pytest.mark.parametrize(
    "text",
    ["", "# all commented out\n", "server:\nlimits:\n", "server:\n  # port: 1\n"],
    ids=["empty", "comments", "empty-sections", "section-all-commented"],
)
def test_empty_file_or_sections_mean_defaults(text: str) -> None:
    assert load_settings(write(text), environ={}) == load_settings(None, environ={})


def test_no_default_channels() -> None:
    assert load_settings(write("server:\n  default_channels: []\n"), environ={}).default_channels == ()


def test_port_zero_is_allowed_to_pick_a_free_port() -> None:
    assert load_settings(write("server:\n  port: 0\n"), environ={}).port == 0
    assert load_settings(None, {"port": 0}, environ={}).port == 0
    assert load_settings(None, environ={"CHAT_PORT": "0"}).port == 0


# --- precedence: defaults < file < environment < command line ---


def test_environment_overrides_file_and_command_line_overrides_both(tmp_path: Path) -> None:
    path = write("server:\n  host: 10.0.0.1\n  port: 7000\n  data_dir: from-file\n  log_level: ERROR\n")
    env = {
        "CHAT_HOST": "10.0.0.2",
        "CHAT_PORT": "7001",
        "CHAT_DATA_DIR": "from-env",
        "CHAT_LOG_LEVEL": "warning",
    }
    cli: dict[str, object] = {
        "host": "10.0.0.3",
        "port": 7002,
        "data_dir": Path("from-cli"),
        "log_level": "debug",
    }

    from_file = load_settings(path, environ={})
    assert (from_file.host, from_file.port, from_file.data_dir, from_file.log_level) == (
        "10.0.0.1",
        7000,
        tmp_path / "from-file",
        "ERROR",
    )
    from_env = load_settings(path, environ=env)
    assert (from_env.host, from_env.port, from_env.data_dir, from_env.log_level) == (
        "10.0.0.2",
        7001,
        tmp_path / "from-env",
        "WARNING",
    )
    from_cli = load_settings(path, cli, environ=env)
    assert (from_cli.host, from_cli.port, from_cli.data_dir, from_cli.log_level) == (
        "10.0.0.3",
        7002,
        tmp_path / "from-cli",
        "DEBUG",
    )


def test_options_not_given_and_empty_variables_do_not_override() -> None:
    path = write("server:\n  port: 7000\n")
    settings = load_settings(path, {"port": None, "host": None}, environ={"CHAT_PORT": "", "CHAT_HOST": ""})
    assert (settings.port, settings.host) == (7000, "0.0.0.0")


def test_process_environment_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAT_PORT", "7123")
    assert load_settings(None).port == 7123


def test_unknown_override_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="motd"):
        load_settings(None, {"motd": "hi"}, environ={})


# --- data directory ---


def test_relative_data_dir_is_resolved_against_the_current_directory(tmp_path: Path) -> None:
    path = write("server:\n  data_dir: store/chat\n", name="sub.yaml")
    assert load_settings(path, environ={}).data_dir == tmp_path / "store" / "chat"


def test_data_dir_is_normalised_and_home_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert load_settings(None, {"data_dir": "a/../b"}, environ={}).data_dir == tmp_path / "b"
    assert load_settings(None, {"data_dir": "~/chat"}, environ={}).data_dir == tmp_path / "home" / "chat"


def test_absolute_data_dir_is_kept() -> None:
    assert load_settings(None, environ={"CHAT_DATA_DIR": "/srv/chat"}).data_dir == Path("/srv/chat")


# --- errors: each names the file, the dotted key and the problem ---


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('server:\n  port: "abc"\n', 'chat.yaml: server.port: expected an integer 0–65535, got "abc"'),
        ("server:\n  port: 70000\n", "chat.yaml: server.port: expected an integer 0–65535, got 70000"),
        ("server:\n  port: -1\n", "chat.yaml: server.port: expected an integer 0–65535, got -1"),
        ("server:\n  port: true\n", "chat.yaml: server.port: expected an integer 0–65535, got true"),
        ("server:\n  port: 6667.5\n", "chat.yaml: server.port: expected an integer 0–65535, got 6667.5"),
        ("server:\n  port:\n", "chat.yaml: server.port: expected an integer 0–65535, got an empty value"),
        (
            "server:\n  log_level: loud\n",
            'chat.yaml: server.log_level: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got "loud"',
        ),
        (
            "server:\n  name: my server\n",
            'chat.yaml: server.name: expected a non-empty value without spaces, got "my server"',
        ),
        (
            'server:\n  host: ""\n',
            'chat.yaml: server.host: expected a non-empty value without spaces, got ""',
        ),
        (
            "server:\n  network: no\n",
            "chat.yaml: server.network: expected a non-empty value without spaces, got false "
            "(quote it: YAML reads unquoted yes/no/on/off as true/false)",
        ),
        ("server:\n  motd: [a, b]\n", "chat.yaml: server.motd: expected a string, got a list"),
        ("server:\n  data_dir: 42\n", "chat.yaml: server.data_dir: expected a directory path, got 42"),
        (
            'server:\n  default_channels: "#lobby"\n',
            'chat.yaml: server.default_channels: expected a list of channel names like ["#lobby"], got "#lobby"',
        ),
        (
            'server:\n  default_channels: ["#ok", "lobby"]\n',
            "chat.yaml: server.default_channels[1]: expected a channel name: # or & then up to 49 characters "
            'without spaces, commas or colons, got "lobby"',
        ),
        (
            'server:\n  default_channels: ["#a b"]\n',
            "chat.yaml: server.default_channels[0]: expected a channel name: # or & then up to 49 characters "
            'without spaces, commas or colons, got "#a b"',
        ),
        (
            "server:\n  default_channels:\n    - #lobby\n",
            "chat.yaml: server.default_channels[0]: expected a channel name, got an empty value "
            '(quote it, as in "#lobby": an unquoted # starts a YAML comment)',
        ),
        (
            'server:\n  default_channels: ["#Lobby", "#lobby"]\n',
            'chat.yaml: server.default_channels[1]: "#lobby" is already listed at server.default_channels[0]',
        ),
        (
            'server:\n  default_channels: ["#abcdef"]\nlimits:\n  channel_length: 5\n',
            "chat.yaml: server.default_channels[0]: expected a channel name: # or & then up to 4 characters "
            'without spaces, commas or colons, got "#abcdef"',
        ),
        ("limits:\n  max_clients: 0\n", "chat.yaml: limits.max_clients: expected an integer ≥ 1, got 0"),
        ("limits:\n  max_clients: yes\n", "chat.yaml: limits.max_clients: expected an integer ≥ 1, got true"),
        ("limits:\n  max_line: 100\n", "chat.yaml: limits.max_line: expected an integer 512–65536, got 100"),
        (
            "limits:\n  nick_length: 256\n",
            "chat.yaml: limits.nick_length: expected an integer 1–255, got 256",
        ),
        (
            "limits:\n  ping_interval: fast\n",
            'chat.yaml: limits.ping_interval: expected a number of seconds > 0, got "fast"',
        ),
        (
            "limits:\n  ping_timeout: .inf\n",
            "chat.yaml: limits.ping_timeout: expected a number of seconds > 0, got inf",
        ),
        (
            "limits:\n  registration_timeout: 0\n",
            "chat.yaml: limits.registration_timeout: expected a number of seconds > 0, got 0",
        ),
        (
            "limits:\n  ping_interval: 200\n",
            "chat.yaml: limits.ping_timeout: must be greater than limits.ping_interval (200), got 120",
        ),
        (
            "limits:\n  ping_interval: 10\n  ping_timeout: 10\n",
            "chat.yaml: limits.ping_timeout: must be greater than limits.ping_interval (10), got 10",
        ),
        (
            "limits:\n  max_line: 2048\n  sendq: 1024\n",
            "chat.yaml: limits.sendq: must be at least limits.max_line (2048), got 1024",
        ),
        ("server: 3\n", "chat.yaml: server: expected a mapping of settings, got 3"),
        ("limits: [1]\n", "chat.yaml: limits: expected a mapping of settings, got a list"),
        (
            "- 1\n- 2\n",
            "chat.yaml: expected a mapping with server:, limits:, history:, tls:, auth:, discovery: sections, "
            "got a list",
        ),
        (
            "just text\n",
            "chat.yaml: expected a mapping with server:, limits:, history:, tls:, auth:, discovery: sections, "
            'got "just text"',
        ),
    ],
)
def test_bad_value_is_reported_with_file_key_and_problem(text: str, message: str) -> None:
    assert error_of(text) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("server:\n  prot: 7000\n", 'chat.yaml: server.prot: unknown key (did you mean "port"?)'),
        (
            "server:\n  log-level: INFO\n",
            'chat.yaml: server.log-level: unknown key (did you mean "log_level"?)',
        ),
        ("sever:\n  port: 1\n", 'chat.yaml: sever: unknown key (did you mean "server"?)'),
        (
            "limits:\n  max_client: 1\n",
            'chat.yaml: limits.max_client: unknown key (did you mean "max_clients"?)',
        ),
        (
            "server:\n  max_clients: 1\n",
            'chat.yaml: server.max_clients: unknown key (did you mean "limits.max_clients"?)',
        ),
        (
            "server:\n  colour: blue\n",
            "chat.yaml: server.colour: unknown key (expected one of: name, network, host, port, motd, "
            "default_channels, data_dir, log_level)",
        ),
        ("port: 7000\n", 'chat.yaml: port: unknown key (did you mean "server.port"?)'),
    ],
)
def test_unknown_key_is_an_error_with_a_suggestion(text: str, message: str) -> None:
    assert error_of(text) == message


def test_all_problems_are_reported_at_once_in_file_order() -> None:
    message = error_of('server:\n  port: "x"\n  log_level: loud\nlimits:\n  max_clients: 0\n')
    assert message.splitlines() == [
        'chat.yaml: server.port: expected an integer 0–65535, got "x"',
        'chat.yaml: server.log_level: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got "loud"',
        "chat.yaml: limits.max_clients: expected an integer ≥ 1, got 0",
    ]


def test_yaml_syntax_error_gives_the_line() -> None:
    message = error_of("server:\n  port: 7000\n  host: [unclosed\n")
    assert message.startswith("chat.yaml: line 4, column 1: invalid YAML: ")


def test_unquoted_ipv6_wildcard_is_a_syntax_error_with_the_line() -> None:
    assert error_of("server:\n  host: ::\n").startswith("chat.yaml: line 2, column 10: invalid YAML: ")


def test_tab_indentation_is_a_syntax_error_with_the_line() -> None:
    assert error_of("server:\n\tport: 7000\n").startswith("chat.yaml: line 2, column 1: invalid YAML: ")


def test_key_set_twice_is_an_error_naming_both_lines() -> None:
    message = error_of("server:\n  port: 7000\n  host: a\n  port: 7001\n")
    assert message == "chat.yaml: line 4: server.port: duplicate key (first set on line 2)"


def test_missing_file() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(Path("config/nope.yaml"), environ={})
    assert str(caught.value) == "config/nope.yaml: no such file"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    with pytest.raises(ConfigError) as caught:
        load_settings(Path("conf"), environ={})
    assert str(caught.value) == "conf: is a directory, not a config file"


def test_file_that_is_not_text() -> None:
    path = Path("binary.yaml")
    path.write_bytes(b"server:\n  name: \xff\xfe\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert str(caught.value) == "binary.yaml: not UTF-8 text (bad byte at offset 16)"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"CHAT_PORT": "x"}, 'CHAT_PORT: expected an integer 0–65535, got "x"'),
        ({"CHAT_PORT": "99999"}, 'CHAT_PORT: expected an integer 0–65535, got "99999"'),
        ({"CHAT_PORT": "-5"}, 'CHAT_PORT: expected an integer 0–65535, got "-5"'),
        ({"CHAT_HOST": "a b"}, 'CHAT_HOST: expected a non-empty value without spaces, got "a b"'),
        (
            {"CHAT_LOG_LEVEL": "verbose"},
            'CHAT_LOG_LEVEL: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got "verbose"',
        ),
        ({"CHAT_DATA_DIR": "  "}, 'CHAT_DATA_DIR: expected a directory path, got "  "'),
    ],
)
def test_bad_environment_variable_is_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, environ=environ)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"port": 70000}, "--port: expected an integer 0–65535, got 70000"),
        (
            {"log_level": "loud"},
            '--log-level: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got "loud"',
        ),
        ({"data_dir": ""}, '--data-dir: expected a directory path, got ""'),
        ({"host": "a b"}, '--host: expected a non-empty value without spaces, got "a b"'),
    ],
)
def test_bad_command_line_value_is_named_by_its_option(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, overrides, environ={})
    assert str(caught.value) == message


def test_file_environment_and_option_problems_are_reported_together() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write("server:\n  port: x\n"), {"port": -1}, environ={"CHAT_PORT": "y"})
    assert str(caught.value).splitlines() == [
        'chat.yaml: server.port: expected an integer 0–65535, got "x"',
        'CHAT_PORT: expected an integer 0–65535, got "y"',
        "--port: expected an integer 0–65535, got -1",
    ]


def test_history_section_and_its_overrides(tmp_path: Path) -> None:
    path = write("history:\n  store: sqlite\n  max_messages: 500\n  max_age_days: 30\n  sync: full\n")
    settings = load_settings(path, environ={})
    assert settings.history == History(store="sqlite", max_messages=500, max_age_days=30.0, sync="full")
    assert load_settings(path, environ={"CHAT_HISTORY": "memory"}).history.store == "memory"
    assert load_settings(path, {"history": "memory"}, environ={}).history.max_messages == 500


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("history:\n  store: redis\n", 'history.store: expected one of sqlite, memory, got "redis"'),
        ("history:\n  max_age_days: -1\n", "history.max_age_days: expected a number of days ≥ 0"),
        ("history:\n  sync: yes\n", "history.sync: expected one of normal, full, got true (quote it"),
        ("history:\n  stor: memory\n", 'history.stor: unknown key (did you mean "store"?)'),
    ],
)
def test_bad_history_settings_name_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write(text), environ={})
    assert message in str(err.value)


def test_tls_section_paths_are_inside_the_data_dir(tmp_path: Path) -> None:
    path = write(f"server:\n  data_dir: {tmp_path}\ntls:\n  cert: tls/cert.pem\n  key: /etc/k.pem\n  port: 7000\n")
    tls = load_settings(path, environ={}).tls
    assert tls == Tls(cert=tmp_path / "tls/cert.pem", key=Path("/etc/k.pem"), port=7000, require=False)
    assert tls.enabled
    assert not load_settings(None, environ={}).tls.enabled


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tls:\n  cert: c.pem\n", "tls.key: TLS needs both tls.cert and tls.key (make a pair with: chat cert)"),
        ("tls:\n  require: true\n", "tls.require: TLS-only needs tls.cert and tls.key"),
        ("tls:\n  require: maybe\n", 'tls.require: expected true or false, got "maybe"'),
        ("tls:\n  port: 70000\n", "tls.port: expected an integer 0–65535, got 70000"),
        ("auth:\n  reserve_nick: true\n", 'auth.reserve_nick: unknown key (did you mean "reserve_nicks"?)'),
        ("auth:\n  password: two words\n", "auth.password: expected a password without spaces"),
        ("auth:\n  password: a\n  password_file: /x\n", "set either auth.password or auth.password_file"),
        ("auth:\n  password_file: /nonexistent/pw\n", "auth.password_file: /nonexistent/pw: no such file"),
        ("limits:\n  flood_rate: 0\n", "limits.flood_rate: expected a number > 0, got 0"),
        ("limits:\n  recvq: 100\n", "limits.recvq: expected an integer ≥ 1024, got 100"),
    ],
)
def test_bad_tls_auth_and_flood_settings_name_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write(text), environ={})
    assert message in str(err.value)


def test_password_from_file_env_and_never_in_repr(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret-file\n", encoding="utf-8")
    from_file = load_settings(write(f"auth:\n  password_file: {secret}\n"), environ={})
    assert from_file.auth.password == "s3cret-file"
    assert "s3cret" not in repr(from_file)
    assert load_settings(None, environ={"CHAT_PASSWORD": "envpw"}).auth.password == "envpw"
    assert load_settings(None, environ={"CHAT_PASSWORD_FILE": str(secret)}).auth.password == "s3cret-file"
    with pytest.raises(ConfigError) as err:
        load_settings(write("auth:\n  password: 'has space'\n"), environ={})
    assert "has space" not in str(err.value)


# --- discovery: (the LAN announcement) ---


def test_discovery_is_on_by_default_and_named_in_the_file() -> None:
    assert load_settings(None, environ={}).discovery == Discovery(enabled=True, name="")
    path = write("discovery:\n  enabled: false\n  name: Office chat  \n")
    assert load_settings(path, environ={}).discovery == Discovery(enabled=False, name="Office chat")


def test_discovery_problems_name_the_key() -> None:
    path = write("discovery:\n  enabeld: no\n  name: " + "x" * 64 + "\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    lines = str(caught.value).splitlines()
    assert lines[0].endswith('discovery.enabeld: unknown key (did you mean "enabled"?)')
    assert "discovery.name: expected a name of 1–63 bytes" in lines[1]


def test_chat_discovery_off_in_the_environment_wins_over_the_file() -> None:
    path = write("discovery:\n  enabled: true\n  name: Office\n")
    assert load_settings(path, environ={"CHAT_DISCOVERY": "off"}).discovery == Discovery(False, "Office")
    assert load_settings(None, environ={"CHAT_DISCOVERY": "On"}).discovery.enabled
    with pytest.raises(ConfigError, match="CHAT_DISCOVERY: expected on or off"):
        load_settings(None, environ={"CHAT_DISCOVERY": "maybe"})
