"""The live edge: what serves viewers and bots the world as it happens, shared by
`smallwood serve` and `smallwood relay` (`server.relay`).

- `http`: the server's HTTP app (pages, `/ws`, `/ws/bot`, the read and admin APIs, `/healthz`).
- `viewers`: the viewer websocket, one handler for server and relay.
- `hub`, `outbox`: the fan-out of deltas to every viewer, one writer per connection.
- `history`: the chart series a page loads before it follows the stream.
- `guard`, `limits`: what the edge refuses (origins, connection caps, frame sizes, floods).

The world core (`server.world`) and the minds (`server.minds`) know nothing of this package.
"""
