package controller

import "fmt"

// Config bounds the metadata the controller accepts. It must be equal on
// every replica of the controller shard. A bound that a command would
// exceed is answered with POLICY_VIOLATION (or INVALID_PARTITIONS for the
// per-topic partition count, as Kafka does).
type Config struct {
	// MaxBrokers bounds the number of registered brokers.
	MaxBrokers int32
	// MaxTopics bounds the number of live topics.
	MaxTopics int32
	// MaxPartitions bounds the partitions of all live topics together:
	// each is a Raft shard with a replica on ReplicationFactor brokers.
	MaxPartitions int32
	// MaxPartitionsPerTopic bounds one topic's partition count.
	MaxPartitionsPerTopic int32
	// MaxGroupShards bounds Bootstrap's GroupShardCount.
	MaxGroupShards int32
	// MaxProducerIDBlockCount bounds one AllocateProducerIDs block.
	MaxProducerIDBlockCount int32
}

// DefaultConfig returns the bounds used unless the operator says otherwise.
func DefaultConfig() Config {
	return Config{
		MaxBrokers:              1024,
		MaxTopics:               10_000,
		MaxPartitions:           50_000,
		MaxPartitionsPerTopic:   10_000,
		MaxGroupShards:          1024,
		MaxProducerIDBlockCount: 1 << 20,
	}
}

// Validate reports a bound that is not positive or that contradicts
// another.
func (c Config) Validate() error {
	for _, f := range []struct {
		name string
		v    int32
	}{
		{"MaxBrokers", c.MaxBrokers},
		{"MaxTopics", c.MaxTopics},
		{"MaxPartitions", c.MaxPartitions},
		{"MaxPartitionsPerTopic", c.MaxPartitionsPerTopic},
		{"MaxGroupShards", c.MaxGroupShards},
		{"MaxProducerIDBlockCount", c.MaxProducerIDBlockCount},
	} {
		if f.v <= 0 {
			return fmt.Errorf("controller config: %s must be positive, got %d", f.name, f.v)
		}
	}
	if c.MaxBrokers > maxDecodeBrokers {
		return fmt.Errorf("controller config: MaxBrokers %d over the encodable %d", c.MaxBrokers, maxDecodeBrokers)
	}
	if c.MaxGroupShards > maxDecodeGroupShards {
		return fmt.Errorf("controller config: MaxGroupShards %d over the encodable %d", c.MaxGroupShards, maxDecodeGroupShards)
	}
	if c.MaxPartitionsPerTopic > maxDecodePartitions || c.MaxPartitions > maxDecodePartitions {
		return fmt.Errorf("controller config: partition bounds over the encodable %d", maxDecodePartitions)
	}
	if c.MaxTopics > maxDecodeTopics {
		return fmt.Errorf("controller config: MaxTopics %d over the encodable %d", c.MaxTopics, maxDecodeTopics)
	}
	return nil
}

// Decoding bounds. They cap what a decoder allocates for bytes from outside
// (a command from the Raft log, a snapshot from disk); semantic bounds are
// Config's. Strings are capped at Kafka's own wire limit for a string
// (int16 length), so any name a client can send decodes and is then
// answered with the proper Kafka error rather than a decoding failure.
const (
	maxDecodeStringBytes  = 1<<15 - 1
	maxDecodeConfigs      = 1 << 12
	maxDecodeBrokers      = 1 << 16
	maxDecodeGroupShards  = 1 << 16
	maxDecodeTopics       = 1 << 20
	maxDecodePartitions   = 1 << 20
	maxDecodeReplicas     = maxDecodeBrokers
	maxDecodeReplacements = 1 << 24
)
