"""Catching up after a reconnect: what was said while we were away, each message once, in order.

A :class:`CatchUp` lives as long as the :class:`~chat.client.connection.Connection` (across
links) and never touches a socket: the link feeds it server lines and sends what it returns.
It remembers the last message seen in every conversation; after a reconnect it asks the server
(IRCv3 ``draft/chathistory``) which private conversations moved (``TARGETS``) and, for each of
those and each room once we are back in it, everything after the last message seen (``AFTER``),
page by page. One request is in flight at a time, so a client with many busy rooms does not
make the server queue megabytes for it at once.

While a conversation is being fetched, live messages for it are held back and shown after the
fetched ones, so each sender's messages stay in order; anything already shown (same ``msgid``,
or the same client id: a resent message the server had stored) is dropped.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from chat.client import events as ev
from chat.client.session import Step
from chat.protocol import Message, casefold, is_channel

__all__ = ["CatchUp", "format_timestamp"]

#: Messages asked for per CHATHISTORY request, unless the server allows fewer.
PAGE = 500
#: How many ids are remembered to drop duplicates: far more than one catch-up brings.
SEEN_LIMIT = 50_000
#: A round in which the server has answered nothing for this long (a room we could not rejoin,
#: a server that never answers) is declared finished, and whatever was held back is shown.
ROUND_TIMEOUT = 20.0
#: Slack for a reference taken from our own clock rather than from a server timestamp.
CLOCK_SLACK = timedelta(seconds=2)
#: Timestamp references are exclusive: step back a millisecond so that a message stamped in the
#: same millisecond as the reference is fetched too (and dropped if it is a duplicate).
_EXCLUSIVE = timedelta(milliseconds=1)
_TARGETS = "\0targets"


def format_timestamp(when: datetime) -> str:
    """The IRCv3 ``timestamp=`` form: UTC with milliseconds."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _ref(when: datetime) -> str:
    return f"timestamp={format_timestamp(when - _EXCLUSIVE)}"


@dataclass(slots=True)
class _Seen:
    msgid: str | None
    time: datetime


@dataclass(slots=True)
class _Fetch:
    """One conversation being fetched, possibly over several pages."""

    target: str
    ref: str
    fallback: str | None  # a timestamp reference if the server does not know the msgid
    batch: str | None = None
    got: int = 0  # messages in the current page
    asked: int = 0  # the page size of the current request
    last_msgid: str | None = None


@dataclass(slots=True)
class _Round:
    """The catch-up after one reconnect."""

    touched: float  # when the server last answered anything of this round
    channels: set[str]  # rooms being rejoined whose fetch has not started
    targets_pending: bool = True
    fetches: dict[str, _Fetch] = field(default_factory=dict)
    waiting: deque[str] = field(default_factory=deque)  # keys of fetches not yet asked for
    in_flight: str | None = None  # the one request the server is answering (a key or _TARGETS)
    held: dict[str, list[ev.Message]] = field(default_factory=dict)
    found_targets: list[str] = field(default_factory=list)
    count: int = 0
    conversations: dict[str, str] = field(default_factory=dict)  # key -> name, where something was missed
    newest: datetime | None = None
    abandoned: bool = False  # ended by the timeout: what it did not fetch is not known complete


class CatchUp:
    """Per-connection memory of what was seen, and the catch-up state machine."""

    def __init__(self, page: int = PAGE) -> None:
        self.page = page
        self._isupport: Mapping[str, str] = {}
        self._last: dict[str, _Seen] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._since: datetime | None = None  # our first registration: nothing before it is "missed"
        # Up to when every private conversation is known complete: where TARGETS starts. It
        # moves with live traffic and when a round finishes, never in the middle of one.
        self._complete_until: datetime | None = None
        self._round: _Round | None = None
        self._batches: dict[str, str] = {}  # open batch reference -> conversation key (or _TARGETS)

    @property
    def active(self) -> bool:
        return self._round is not None

    # ------------------------------------------------------------------------ link life

    def registered(
        self, channels: list[str], caps: frozenset[str], isupport: Mapping[str, str], now: datetime | None = None
    ) -> Step:
        """We are in (again). After a reconnect, start fetching what we missed. ``isupport`` is
        read later too: the server's limits arrive after the welcome."""
        now = now or datetime.now(UTC)
        self._round = None
        self._batches.clear()
        self._isupport = isupport
        first = self._since is None
        if first:
            self._since = now - CLOCK_SLACK
        if first or not {"batch", "draft/chathistory"} <= caps:
            return Step()
        rnd = self._round = _Round(time.monotonic(), {casefold(c) for c in channels})
        start = self._complete_until or self._since
        assert start is not None
        end = now + timedelta(days=1)  # generous: the server's clock may be ahead of ours
        rnd.in_flight = _TARGETS
        end_ref = f"timestamp={format_timestamp(end)}"
        return Step(send=[Message("CHATHISTORY", ["TARGETS", _ref(start), end_ref, str(self._page())])])

    def link_lost(self) -> None:
        """The link ended mid-round: held messages are dropped unseen, the next round fetches
        them again (nothing was recorded as seen for them)."""
        self._round = None
        self._batches.clear()

    def joined(self, channel: str) -> Step:
        """We are back in ``channel``: fetch what it said while we were away."""
        rnd = self._round
        key = casefold(channel)
        if rnd is None or key not in rnd.channels:
            return Step()
        rnd.channels.discard(key)
        step = Step()
        self._fetch(rnd, channel, key, step)
        return step

    def join_failed(self, channel: str) -> Step:
        """We could not get back into ``channel``: nothing to fetch there."""
        rnd = self._round
        if rnd is None:
            return Step()
        rnd.channels.discard(casefold(channel))
        return self._settle(Step())

    def expire(self) -> Step:
        """Called now and then: a round the server stopped answering is ended (and reported)."""
        rnd = self._round
        if rnd is None or time.monotonic() - rnd.touched < ROUND_TIMEOUT:
            return Step()
        rnd.channels.clear()
        rnd.targets_pending = False
        rnd.fetches.clear()
        rnd.waiting.clear()
        rnd.in_flight = None
        rnd.abandoned = True
        return self._settle(Step())

    # ----------------------------------------------------------------------- server lines

    def batch(self, msg: Message) -> Step:
        """``BATCH +ref type params...`` / ``BATCH -ref``."""
        ref = msg.param(0)
        rnd = self._round
        if ref.startswith("+"):
            kind = msg.param(1)
            if rnd is None:
                return Step()
            rnd.touched = time.monotonic()
            if kind == "draft/chathistory-targets":
                self._batches[ref[1:]] = _TARGETS
            elif kind == "chathistory":
                key = casefold(msg.param(2))
                fetch = rnd.fetches.get(key)
                if fetch is not None:
                    self._batches[ref[1:]] = key
                    fetch.batch, fetch.got = ref[1:], 0
            return Step()
        ended = self._batches.pop(ref[1:], None)
        if ended is None or rnd is None:
            return Step()
        rnd.touched = time.monotonic()
        if ended == _TARGETS:
            return self._targets_done(rnd)
        fetch = rnd.fetches.get(ended)
        if fetch is None:
            return Step()
        fetch.batch = None
        if fetch.got and fetch.got >= fetch.asked and fetch.last_msgid:
            fetch.ref, fetch.fallback = f"msgid={fetch.last_msgid}", None  # a full page: there may be more
            return Step(send=[self._request(fetch)])
        return self._finish(rnd, ended)

    def target(self, msg: Message) -> None:
        """``CHATHISTORY TARGETS <name> <time>`` inside the targets batch."""
        rnd = self._round
        if rnd is not None and rnd.targets_pending:
            rnd.found_targets.append(msg.param(1))

    def fail(self, msg: Message) -> Step:
        """``FAIL CHATHISTORY <code> <subcommand> <context...> :text``: it answers the request
        in flight. Fall back from an unknown msgid to a time, or give that conversation up."""
        rnd = self._round
        if rnd is None or rnd.in_flight is None:
            return Step()
        rnd.touched = time.monotonic()
        if rnd.in_flight == _TARGETS:
            return self._targets_done(rnd)
        key = rnd.in_flight
        fetch = rnd.fetches.get(key)
        if fetch is not None and fetch.fallback and msg.param(1) == "INVALID_PARAMS":
            # The server does not know the msgid (restarted without its history, pruned): go by time.
            fetch.ref, fetch.fallback = fetch.fallback, None
            return Step(send=[self._request(fetch)])
        return self._finish(rnd, key)

    def message(self, event: ev.Message, batch: str | None) -> list[ev.Message]:
        """One chat message from the server: the messages to show now (none, it, or more)."""
        rnd = self._round
        key = casefold(event.conversation)
        fetched_for = self._batches.get(batch) if batch else None
        if fetched_for is not None and fetched_for != _TARGETS:
            fetch = rnd.fetches.get(fetched_for) if rnd is not None else None
            if fetch is not None:
                fetch.got += 1
                fetch.last_msgid = event.msgid or fetch.last_msgid
            if rnd is not None:
                rnd.touched = time.monotonic()
            if not self._new(event):
                return []
            self._record(event)
            if rnd is not None and not event.own:  # our own words were not missed, only re-fetched
                rnd.count += 1
                rnd.conversations[key] = event.conversation
            return [replace(event, missed=True)]
        if rnd is not None and self._holds(rnd, key, event):
            rnd.held.setdefault(key, []).append(event)
            return []
        return self._show([event])

    def shown_elsewhere(self, event: ev.Message) -> None:
        """Our own message shown without coming from the server (no echo-message): remember
        its client id, so that its copy in history is not shown again."""
        self._record(event)

    # ------------------------------------------------------------------------- internals

    def _page(self) -> int:
        limit = self._isupport.get("CHATHISTORY", "")
        return min(self.page, int(limit)) if limit.isdigit() and int(limit) > 0 else self.page

    def _holds(self, rnd: _Round, key: str, event: ev.Message) -> bool:
        if key in rnd.fetches or key in rnd.channels:
            return True
        return not is_channel(event.target) and rnd.targets_pending

    def _new(self, event: ev.Message) -> bool:
        if event.msgid is not None and event.msgid in self._seen:
            return False
        return not (event.cid and "+" + event.cid in self._seen)

    def _remember(self, key: str) -> None:
        self._seen[key] = None
        if len(self._seen) > SEEN_LIMIT:
            self._seen.popitem(last=False)

    def _record(self, event: ev.Message) -> None:
        key = casefold(event.conversation)
        if event.msgid is not None:  # an own message without echo has no msgid: not a reference
            self._last[key] = _Seen(event.msgid, event.time)
            self._remember(event.msgid)
        if event.cid:
            self._remember("+" + event.cid)
        rnd = self._round
        if rnd is not None:
            if rnd.newest is None or event.time > rnd.newest:
                rnd.newest = event.time
        elif event.msgid is not None and (self._complete_until is None or event.time > self._complete_until):
            self._complete_until = event.time

    def _show(self, events: list[ev.Message]) -> list[ev.Message]:
        shown = []
        for event in events:
            if self._new(event):
                self._record(event)
                shown.append(event)
        return shown

    def _fetch(self, rnd: _Round, target: str, key: str, step: Step) -> None:
        if key in rnd.fetches:
            return
        seen = self._last.get(key)
        if seen is not None and seen.msgid:
            fetch = _Fetch(target, f"msgid={seen.msgid}", _ref(seen.time))
        else:
            since = seen.time if seen is not None else self._since
            assert since is not None
            fetch = _Fetch(target, _ref(since), None)
        rnd.fetches[key] = fetch
        if rnd.in_flight is None:
            rnd.in_flight = key
            step.send.append(self._request(fetch))
        else:
            rnd.waiting.append(key)

    def _request(self, fetch: _Fetch) -> Message:
        fetch.asked, fetch.got = self._page(), 0
        return Message("CHATHISTORY", ["AFTER", fetch.target, fetch.ref, str(fetch.asked)])

    def _next(self, rnd: _Round, step: Step) -> None:
        """The request in flight is answered: ask the next one."""
        rnd.in_flight = None
        while rnd.waiting:
            key = rnd.waiting.popleft()
            fetch = rnd.fetches.get(key)
            if fetch is not None:
                rnd.in_flight = key
                step.send.append(self._request(fetch))
                return

    def _targets_done(self, rnd: _Round) -> Step:
        rnd.targets_pending = False
        step = Step()
        if rnd.in_flight == _TARGETS:
            self._next(rnd, step)
        for name in rnd.found_targets:
            if not is_channel(name):
                self._fetch(rnd, name, casefold(name), step)
        rnd.found_targets.clear()
        # Private messages held while we did not know which conversations to fetch.
        for key in [k for k in rnd.held if k not in rnd.fetches and k not in rnd.channels]:
            held = rnd.held.pop(key)
            if not is_channel(held[0].target):
                step.events += self._show(held)
            else:
                rnd.held[key] = held
        return self._settle(step)

    def _finish(self, rnd: _Round, key: str) -> Step:
        fetch = rnd.fetches.pop(key, None)
        if fetch is not None and fetch.batch:
            self._batches.pop(fetch.batch, None)
        step = Step(events=list(self._show(rnd.held.pop(key, []))))
        if rnd.in_flight == key:
            self._next(rnd, step)
        return self._settle(step)

    def _settle(self, step: Step) -> Step:
        """End the round once every room and conversation has been fetched."""
        rnd = self._round
        if rnd is None or rnd.channels or rnd.targets_pending or rnd.fetches:
            return step
        for held in rnd.held.values():
            step.events += self._show(held)
        step.events.append(ev.CaughtUp(rnd.count, tuple(sorted(rnd.conversations.values(), key=casefold))))
        self._round = None
        if rnd.abandoned:
            return step
        if rnd.newest is not None and (self._complete_until is None or rnd.newest > self._complete_until):
            self._complete_until = rnd.newest
        return step
