"""Live feeds: `GET /ws` (WebSocket) and `GET /sse` (Server-Sent Events).

    ws.py           the /ws handler: checks, then hands the socket over
    handshake.py    the opening handshake and the take-over from aiohttp
    websocket.py    one open WebSocket (wsproto) after the take-over
    heartbeat.py    pings for every open WebSocket from one task
    sse.py          the /sse handler
    session.py      one fan's subscriptions and ordered delivery, whatever carries it
    access.py       what a live connection may follow, and its limits
    connections.py  open live connections, so shutdown can tell each to reconnect
    close_codes.py  CloseCode: every WebSocket close code we send, named once
"""
