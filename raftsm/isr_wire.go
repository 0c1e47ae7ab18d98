package raftsm

import (
	"fmt"

	"github.com/tidemark/tidemark/core/codec"
)

// The "replica progress" request of the join side channel (join_wire.go):
// a broker asks a peer for the applied index of each of the peer's local
// partition replicas, once per isrPollIntervalMs (isr.go).
//
//	request: version | joinKindProgress
//	answer:  version | joinKindProgress | broker id int32 | count uint32 |
//	         count x (shard uint64 | replica uint64 | applied index uint64)
const (
	// progressMaxReplicas bounds the replicas one answer lists; a broker
	// with more local partition replicas reports the lowest shard ids only,
	// and the others drop out of the ISR as this broker's observers see it.
	progressMaxReplicas = 8192
	progressEntryBytes  = 24 // shard, replica, applied index
	// progressMaxAnswerSize bounds one answer in bytes, size prefix excluded.
	progressMaxAnswerSize = 2 + 4 + 4 + progressMaxReplicas*progressEntryBytes
)

// replicaProgress is one local replica's applied index.
type replicaProgress struct {
	ShardID   uint64
	ReplicaID uint64
	Applied   uint64
}

type progressAnswer struct {
	BrokerID int32
	Replicas []replicaProgress // sorted by shard id, at most progressMaxReplicas
}

func encodeProgressRequest() []byte {
	w := codec.NewWriter(2)
	w.Uint8(joinWireVersion)
	w.Uint8(joinKindProgress)
	return w.Bytes()
}

func encodeProgressAnswer(a progressAnswer) []byte {
	rs := a.Replicas
	if len(rs) > progressMaxReplicas {
		rs = rs[:progressMaxReplicas]
	}
	w := codec.NewWriter(10 + len(rs)*progressEntryBytes)
	w.Uint8(joinWireVersion)
	w.Uint8(joinKindProgress)
	w.Int32(a.BrokerID)
	w.Count(len(rs))
	for _, r := range rs {
		w.Uint64(r.ShardID)
		w.Uint64(r.ReplicaID)
		w.Uint64(r.Applied)
	}
	return w.Bytes()
}

func decodeProgressAnswer(b []byte) (progressAnswer, error) {
	r := codec.NewReader(b)
	if err := readAnswerHeader(r, joinKindProgress); err != nil {
		return progressAnswer{}, err
	}
	a := progressAnswer{BrokerID: r.Int32()}
	n := r.Count(progressMaxReplicas, progressEntryBytes)
	if r.Err() != nil {
		return progressAnswer{}, fmt.Errorf("progress answer: %w", r.Err())
	}
	a.Replicas = make([]replicaProgress, n)
	for i := range a.Replicas {
		a.Replicas[i] = replicaProgress{ShardID: r.Uint64(), ReplicaID: r.Uint64(), Applied: r.Uint64()}
	}
	return a, r.Finish()
}
