"""Sans-I/O IRC: framing, messages with IRCv3 tags, names and numerics. No sockets, no clock."""

from chat.protocol.framing import MAX_BODY, MAX_TAGS, LineReader, LineTooLong
from chat.protocol.message import Message, ParseError, format_tags, parse, parse_tags
from chat.protocol.names import casefold, is_channel, valid_channel, valid_nick

__all__ = [
    "MAX_BODY",
    "MAX_TAGS",
    "LineReader",
    "LineTooLong",
    "Message",
    "ParseError",
    "casefold",
    "format_tags",
    "is_channel",
    "parse",
    "parse_tags",
    "valid_channel",
    "valid_nick",
]
