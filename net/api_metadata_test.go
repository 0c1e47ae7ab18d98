package net

import (
	"testing"

	"github.com/tidemark/tidemark/core"
)

// The leader epoch goes out as the cluster reports it, and as -1 whenever
// there is no leader to go with it.
func TestMetadataTopicLeaderEpoch(t *testing.T) {
	for _, c := range []struct {
		leader, epoch       int32
		wantEpoch           int32
		wantLeaderAvailable bool
	}{
		{leader: 2, epoch: 5, wantEpoch: 5, wantLeaderAvailable: true},
		{leader: 2, epoch: -1, wantEpoch: -1, wantLeaderAvailable: true},
		{leader: -1, epoch: 5, wantEpoch: -1},
		{leader: -1, epoch: -1, wantEpoch: -1},
	} {
		rt := metadataTopic(TopicMetadata{Name: "t", Partitions: []PartitionMetadata{
			{Index: 0, Leader: c.leader, LeaderEpoch: c.epoch, Replicas: []int32{1, 2}, ISR: []int32{2}}}})
		p := rt.Partitions[0]
		if p.LeaderEpoch != c.wantEpoch {
			t.Errorf("leader %d epoch %d: answered epoch %d, want %d", c.leader, c.epoch, p.LeaderEpoch, c.wantEpoch)
		}
		if got := p.ErrorCode == 0; got != c.wantLeaderAvailable || !got && p.ErrorCode != int16(core.LeaderNotAvailable) {
			t.Errorf("leader %d: error code %d", c.leader, p.ErrorCode)
		}
		if len(p.ISR) != 1 || p.ISR[0] != 2 {
			t.Errorf("leader %d: ISR %v, want [2]", c.leader, p.ISR)
		}
	}
}
