"""What a typed line means: the contract shared by the terminal and the GUI."""

from __future__ import annotations

import pytest

from chat.client import commands as cmd
from chat.client.commands import parse_input


def test_plain_text_goes_to_the_current_target() -> None:
    assert parse_input("hello there", "#lobby") == cmd.Say("#lobby", "hello there")


def test_plain_text_keeps_inner_and_leading_spaces() -> None:
    assert parse_input("  indented  text\n", "#lobby") == cmd.Say("#lobby", "  indented  text")


@pytest.mark.parametrize("line", ["", "   ", "\n", "\t \r\n"])
def test_blank_input_does_nothing(line: str) -> None:
    assert parse_input(line, "#lobby") is None


def test_plain_text_without_a_target_explains_what_to_do() -> None:
    result = parse_input("hello", None)
    assert isinstance(result, cmd.Problem)
    assert "/join" in result.text


def test_double_slash_sends_a_literal_slash() -> None:
    assert parse_input("//shrug", "#lobby") == cmd.Say("#lobby", "/shrug")


def test_unknown_command_hints_at_help() -> None:
    assert parse_input("/foo bar", "#lobby") == cmd.Problem("unknown command /foo — type /help")


def test_lone_slash_is_a_problem() -> None:
    assert isinstance(parse_input("/", "#lobby"), cmd.Problem)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/msg bob hi there", cmd.Say("bob", "hi there")),
        ("/pm bob hi", cmd.Say("bob", "hi")),
        ("/MSG #dev hi", cmd.Say("#dev", "hi")),
        ("/me waves", cmd.Emote("#lobby", "waves")),
        ("/notice bob psst", cmd.Notice("bob", "psst")),
        ("/join #dev", cmd.Join(("#dev",))),
        ("/join dev ops", cmd.Join(("#dev", "#ops"))),
        ("/join #a,#b", cmd.Join(("#a", "#b"))),
        ("/part", cmd.Part("#lobby", "")),
        ("/part see you", cmd.Part("#lobby", "see you")),
        ("/part #dev bye now", cmd.Part("#dev", "bye now")),
        ("/nick alice2", cmd.Nick("alice2")),
        ("/username alice2", cmd.Nick("alice2")),
        ("/names", cmd.Names("#lobby")),
        ("/users #dev", cmd.Names("#dev")),
        ("/topic", cmd.Topic("#lobby", None)),
        ("/topic release on friday", cmd.Topic("#lobby", "release on friday")),
        ("/topic #dev", cmd.Topic("#dev", None)),
        ("/topic #dev new topic", cmd.Topic("#dev", "new topic")),
        ("/away lunch", cmd.Away("lunch")),
        ("/away", cmd.Away(None)),
        ("/whois bob", cmd.Whois("bob")),
        ("/list", cmd.ListChannels("")),
        ("/quit", cmd.Quit("")),
        ("/exit gone home", cmd.Quit("gone home")),
        ("/query bob", cmd.Query("bob")),
        ("/raw PRIVMSG #x :hi", cmd.Raw("PRIVMSG #x :hi")),
        ("/oper boss pass word", cmd.Oper("boss", "pass word")),
        ("/kill spammer stop flooding", cmd.Kill("spammer", "stop flooding")),
        ("/kill spammer", cmd.Kill("spammer", "")),
        ("/kick bob", cmd.Kick("#lobby", ("bob",), "")),
        ("/kick bob,carol be nice", cmd.Kick("#lobby", ("bob", "carol"), "be nice")),
        ("/kick #dev bob off topic", cmd.Kick("#dev", ("bob",), "off topic")),
    ],
)
def test_commands(line: str, expected: cmd.Command) -> None:
    assert parse_input(line, "#lobby") == expected


def test_names_in_a_private_conversation_lists_all_channels() -> None:
    assert parse_input("/names", "bob") == cmd.Names(None)


@pytest.mark.parametrize(
    ("line", "usage"),
    [
        ("/msg", "usage: /msg <nick|#channel> <text>"),
        ("/msg bob", "usage: /msg <nick|#channel> <text>"),
        ("/join", "usage: /join"),
        ("/nick", "usage: /nick <new-nick>"),
        ("/nick two words", "usage: /nick"),
        ("/whois", "usage: /whois <nick>"),
        ("/me", "usage: /me <text>"),
        ("/raw", "usage: /raw"),
        ("/oper boss", "usage: /oper <account> <password>"),
        ("/kill", "usage: /kill <nick> [reason]"),
        ("/kick", "usage: /kick [#channel] <nick>[,nick] [reason]"),
        ("/kick #dev", "usage: /kick"),
    ],
)
def test_missing_arguments_give_usage(line: str, usage: str) -> None:
    result = parse_input(line, "#lobby")
    assert isinstance(result, cmd.Problem)
    assert result.text.startswith(usage)


def test_me_without_a_target_explains() -> None:
    result = parse_input("/me waves", None)
    assert isinstance(result, cmd.Problem)
    assert "/join" in result.text


def test_part_outside_a_channel_needs_a_channel() -> None:
    result = parse_input("/part", "bob")
    assert isinstance(result, cmd.Problem)
    assert "usage: /part" in result.text


def test_invalid_nick_is_explained() -> None:
    result = parse_input("/nick 9lives", "#lobby")
    assert isinstance(result, cmd.Problem)
    assert '"9lives" is not a valid nick' in result.text


def test_invalid_channel_is_explained() -> None:
    result = parse_input("/join #a\x07b", "#lobby")
    assert isinstance(result, cmd.Problem)
    assert "not a valid channel name" in result.text


def test_raw_rejects_what_cannot_be_sent() -> None:
    result = parse_input("/raw :prefixonly", "#lobby")
    assert isinstance(result, cmd.Problem)


def test_help_lists_every_command_and_alias() -> None:
    result = parse_input("/help", "#lobby")
    assert isinstance(result, cmd.Help)
    for spec in cmd.COMMANDS:
        assert spec.usage in result.text
        for alias in spec.aliases:
            assert "/" + alias in result.text


def test_help_for_one_command() -> None:
    result = parse_input("/help pm", None)
    assert isinstance(result, cmd.Help)
    assert result.text.startswith("/msg <nick|#channel> <text>")
    unknown = parse_input("/help nosuch", None)
    assert isinstance(unknown, cmd.Help)
    assert "unknown command /nosuch" in unknown.text


def test_every_alias_resolves_to_its_command() -> None:
    for spec in cmd.COMMANDS:
        for alias in spec.aliases:
            assert type(parse_input(f"/{alias} x y", "#lobby")) is type(parse_input(f"/{spec.name} x y", "#lobby"))


def test_kick_outside_a_channel_needs_a_channel() -> None:
    assert isinstance(parse_input("/kick bob", "alice"), cmd.Problem)
