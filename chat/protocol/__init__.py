"""Sans-I/O IRC: framing, messages with IRCv3 tags, names and numerics. No sockets, no clock."""

from chat.protocol.framing import MAX_BODY, MAX_CLIENT_TAGS, MAX_TAGS, LineReader, LineTooLong
from chat.protocol.message import (
    Message,
    ParseError,
    clean_text,
    clip_utf8,
    format_tags,
    parse,
    parse_tags,
    valid_tag_key,
)
from chat.protocol.names import casefold, is_channel, valid_channel, valid_nick

__all__ = [
    "MAX_BODY",
    "MAX_CLIENT_TAGS",
    "MAX_TAGS",
    "LineReader",
    "LineTooLong",
    "Message",
    "ParseError",
    "casefold",
    "clean_text",
    "clip_utf8",
    "format_tags",
    "is_channel",
    "parse",
    "parse_tags",
    "valid_channel",
    "valid_nick",
    "valid_tag_key",
]
