"""chat: a LAN chat system speaking IRC, built so that nothing is lost when the server dies."""

__version__ = "0.1.0"
