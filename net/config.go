package net

import (
	"fmt"
	"log/slog"
)

// Defaults for the zero fields of Config.
const (
	DefaultMaxConnections           = 4096
	DefaultMaxRequestBytes          = 100 << 20 // Kafka's socket.request.max.bytes
	DefaultMaxInFlightPerConnection = 32
)

// Config bounds what the server accepts. Zero fields take the defaults above.
type Config struct {
	// MaxConnections is the number of client connections served at once.
	// A connection accepted over the limit is closed immediately.
	MaxConnections int
	// MaxRequestBytes is the largest request frame accepted, not counting
	// the 4-byte size prefix. A larger frame closes its connection.
	MaxRequestBytes int
	// MaxInFlightPerConnection is the number of requests of one connection
	// that may be decoded and waiting for their response at once. Reading
	// the connection pauses at the limit.
	MaxInFlightPerConnection int
	// Log receives one line per refused connection or closed-for-cause
	// connection. Nil: slog.Default().
	Log *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.MaxConnections < 0 || c.MaxRequestBytes < 0 || c.MaxInFlightPerConnection < 0 {
		return c, fmt.Errorf("net config: negative limit (MaxConnections %d, MaxRequestBytes %d, MaxInFlightPerConnection %d)",
			c.MaxConnections, c.MaxRequestBytes, c.MaxInFlightPerConnection)
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if c.MaxInFlightPerConnection == 0 {
		c.MaxInFlightPerConnection = DefaultMaxInFlightPerConnection
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c, nil
}
