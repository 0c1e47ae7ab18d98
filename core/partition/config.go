package partition

import "github.com/tidemark/tidemark/core"

// Config bounds one partition's state. It must be equal on every replica of
// the partition (it shapes the state: which producers are evicted when).
type Config struct {
	// MaxProducerIDs bounds how many idempotent producers the partition
	// remembers. Accepting a batch from an unknown producer when the table
	// is full first evicts the producer with the oldest LastTimestampMs
	// (ties: the smallest id). Each entry costs about 150 bytes in Meta.
	MaxProducerIDs int
	// ProducerIDExpirationMs: Retain forgets producers whose last append is
	// at least this old (Kafka's producer.id.expiration.ms).
	ProducerIDExpirationMs int64
}

// DefaultConfig is Kafka's producer-id expiration (one day) and a producer
// table of 1000 entries (Kafka has no per-partition limit; one is needed
// here because Meta is persisted with every applied batch of commands).
func DefaultConfig() Config {
	return Config{
		MaxProducerIDs:         1000,
		ProducerIDExpirationMs: 86_400_000,
	}
}

func (c Config) check() {
	core.Assert(c.MaxProducerIDs >= 1, "config valid", "MaxProducerIDs %d < 1", c.MaxProducerIDs)
	core.Assert(c.ProducerIDExpirationMs >= 0, "config valid", "ProducerIDExpirationMs %d < 0", c.ProducerIDExpirationMs)
}
