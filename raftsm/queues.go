package raftsm

import (
	"sync"
	_ "unsafe" // go:linkname

	_ "github.com/lni/dragonboat/v4" // the variables below live there
)

// dragonboat preallocates, for every replica it starts, a receive queue of
// ReceiveQueueLength messages and a proposal queue of
// IncomingProposalQueueLength entries, each twice (double buffering). Its
// defaults (1,024 and 2,048) cost about 600 KB per replica: 600 MB of a
// broker's heap at 1,000 partitions, before GC headroom
// (docs/benchmarks/README.md). dragonboat reads them from its "soft
// settings", which can only be changed through a
// dragonboat-soft-settings.json in the process's working directory at
// package initialisation; the values end up in these package variables,
// read each time a replica starts. Setting them here, before StartNode
// starts any replica, is the only way to change them from code. A
// linkname to a variable dragonboat no longer has would still build and
// do nothing, so TestReplicaQueuesReachDragonboat measures the effect.
//
//go:linkname dragonboatReceiveQueueLen github.com/lni/dragonboat/v4.receiveQueueLen
var dragonboatReceiveQueueLen uint64

//go:linkname dragonboatProposalQueueLen github.com/lni/dragonboat/v4.incomingProposalsMaxLen
var dragonboatProposalQueueLen uint64

const (
	// replicaReceiveQueueMessages bounds the Raft messages queued for one
	// replica between two steps of its shard (dragonboat: 1,024). A
	// message that finds the queue full is dropped, and Raft sends again.
	replicaReceiveQueueMessages = 256
	// replicaProposalQueueEntries bounds the proposals waiting for one
	// replica's next step (dragonboat: 2,048). A proposal that finds the
	// queue full fails at once with ErrSystemBusy; a producer gets
	// REQUEST_TIMED_OUT for it and retries. A produce connection pipelines
	// at most a few requests per partition.
	replicaProposalQueueEntries = 512
)

var replicaQueuesOnce sync.Once

// sizeReplicaQueues sets dragonboat's per-replica queue lengths, once per
// process, before the first replica starts.
func sizeReplicaQueues() {
	replicaQueuesOnce.Do(func() {
		dragonboatReceiveQueueLen = replicaReceiveQueueMessages
		dragonboatProposalQueueLen = replicaProposalQueueEntries
	})
}
