"""Client side of the chat: one threaded connection shared by the terminal and the GUI, the
slash-command parser, the terminal client, and the status probe.

Import what you need from the submodules (``chat.client.connection.Connection``,
``chat.client.events``, ``chat.client.commands.parse_input``); this package file stays empty
so that importing the small pure modules does not pull in threads and sockets.
"""
