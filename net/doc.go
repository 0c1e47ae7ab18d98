// Package net speaks the Kafka wire protocol over TCP: it accepts client
// connections, reads size-prefixed request frames, decodes them with
// franz-go's kmsg, dispatches each request to the handler for its API key and
// writes the responses back. It holds no broker state; handlers translate
// requests into calls on the broker and results back into responses.
//
// What the package guarantees:
//
//   - Responses on a connection are written in request order, even though
//     the handlers for pipelined requests run concurrently. At most
//     Config.MaxInFlightPerConnection requests of one connection are pending
//     at once; the connection is not read further until one completes.
//   - Serial APIs (Produce) take effect in request order per connection:
//     the connection is not read past such a request until its handler has
//     returned, so pipelined produce requests are proposed in order.
//   - A bad client costs only its own connection. A frame larger than
//     Config.MaxRequestBytes, a frame that does not decode, an API key or
//     version the server does not advertise, or a handler error closes that
//     connection with one log line giving the reason. Nothing a client sends
//     panics the server or disturbs other connections.
//   - ApiVersions (key 18) at a version above the highest one advertised is
//     answered, never refused: with a v0 response carrying
//     UNSUPPORTED_VERSION (35) and the advertised table, so that clients
//     starting high (franz-go sends v5) retry at a version we speak (KIP-511).
//   - The ApiVersions table lists exactly the API keys that have a handler,
//     with the version range each handler declares at the top of its file.
//     The table grows by one entry with each handler added.
//   - Connections are bounded by Config.MaxConnections; a connection over the
//     limit is closed at once with a log line.
//
// What it must never do: hand-write a codec (every wire format goes through
// kmsg), keep broker state in a handler, or answer a request it did not
// decode.
//
// Layout: one file per API key (api_<name>.go) holding the handler and its
// supported versions; cluster.go holds the Cluster interface through which
// handlers reach the broker; registry.go holds the table of supported APIs;
// request.go parses request headers and encodes responses; conn.go runs one
// connection; server.go accepts connections.
package net
