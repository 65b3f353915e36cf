"""The live edge: what serves viewers their world as it happens, shared by `smallwood serve`
(`server.http`) and `smallwood relay` (`server.relay`).

`viewers` holds the viewer websocket (`/ws`): the handshake, the one writer per connection, and
the loop that refuses what a viewer should not send. The hub, the outboxes and the chart
history (`server.hub`, `server.outbox`, `server.history`) belong here too and move in later.
"""
