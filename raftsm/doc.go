// Package raftsm will run core's state machines over dragonboat v4: one
// NodeHost per broker, one Raft shard per partition, a controller shard and
// a fixed set of group-coordinator shards, with partition state in pebble.
// (Issue: production path.)
package raftsm
