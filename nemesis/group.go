package nemesis

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	lin "github.com/tidemark/tidemark/linearizability"
)

// groupConsumer is a member of the workload's group until ctx ends: it
// polls (each
// assignment is a fresh history client, so its polls form one sequence),
// and commits what it read through explicit OffsetCommit requests carrying
// the generation and member id it holds.
func (w *workload) groupConsumer(ctx context.Context) {
	var (
		mu     sync.Mutex
		client = -1
	)
	cl, err := w.cluster.Client(
		kgo.ConsumerGroup(w.cfg.Group),
		kgo.ConsumeTopics(w.cfg.Topic),
		kgo.DisableAutoCommit(),
		kgo.Balancers(kgo.RangeBalancer()),
		kgo.BlockRebalanceOnPoll(),
		kgo.SessionTimeout(groupSessionTimeout),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(fetchMaxWaitMs*time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, cl *kgo.Client, assigned map[string][]int32) {
			member, gen := cl.GroupMetadata()
			res := &lin.AssignResult{Member: member, Generation: gen}
			for _, p := range assigned[w.cfg.Topic] {
				res.Partitions = append(res.Partitions, lin.TopicPartition{Topic: w.cfg.Topic, Partition: p})
			}
			mu.Lock()
			client = w.newClientID()
			c := client
			mu.Unlock()
			// Call and return both now: a late call only makes the
			// ownership and fencing checks more lenient.
			at := w.now()
			id := w.rec.Invoke(c, at, &lin.Assign{Group: w.cfg.Group})
			w.must(w.rec.Complete(id, at, res))
		}),
	)
	if err != nil {
		w.must(err)
		return
	}
	defer cl.Close()
	lastCall := w.now()
	for ctx.Err() == nil {
		call := w.now()
		pctx, cancel := context.WithTimeout(ctx, pollTimeout)
		fetches := cl.PollFetches(pctx)
		cancel()
		mu.Lock()
		c := client
		mu.Unlock()
		commits := map[int32]int64{}
		fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
			if fp.Err != nil || len(fp.Records) == 0 || c < 0 {
				return
			}
			// kgo may have sent the fetch before this poll was called, but
			// not before the previous poll: the fetch is issued once the
			// previous buffered one is taken.
			id := w.rec.Invoke(c, lastCall, &lin.Fetch{Topic: fp.Topic, Partition: fp.Partition, Offset: -1})
			out := &lin.FetchResult{HighWatermark: fp.HighWatermark}
			for _, r := range fp.Records {
				out.Records = append(out.Records, lin.FetchedRecord{Offset: r.Offset, Key: string(r.Key), Value: string(r.Value)})
				commits[fp.Partition] = max(commits[fp.Partition], r.Offset+1)
			}
			w.must(w.rec.Complete(id, w.now(), out))
		})
		lastCall = call
		if len(commits) > 0 && c >= 0 {
			w.commit(ctx, cl, c, commits)
		}
		cl.AllowRebalance()
	}
}

// definiteCommitFailures are OffsetCommit errors the group coordinator
// decides before anything is stored: the commit did not happen. Every
// other error leaves the outcome unknown.
var definiteCommitFailures = []error{kerr.IllegalGeneration, kerr.UnknownMemberID, kerr.RebalanceInProgress, kerr.FencedInstanceID}

func (w *workload) commit(ctx context.Context, cl *kgo.Client, client int, offsets map[int32]int64) {
	member, gen := cl.GroupMetadata()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group = w.cfg.Group
	req.Generation = gen
	req.MemberID = member
	t := kmsg.NewOffsetCommitRequestTopic()
	t.Topic = w.cfg.Topic
	ids := map[int32]int{}
	for p, o := range offsets {
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition = p
		rp.Offset = o
		rp.LeaderEpoch = -1
		t.Partitions = append(t.Partitions, rp)
		ids[p] = w.rec.Invoke(client, w.now(), &lin.Commit{Group: w.cfg.Group, Topic: w.cfg.Topic, Partition: p, Generation: gen, Member: member, Offset: o})
	}
	req.Topics = append(req.Topics, t)
	octx, cancel := context.WithTimeout(ctx, opTimeout)
	raw, err := cl.Request(octx, req)
	cancel()
	if err != nil {
		for _, id := range ids {
			w.abandon(id, err)
		}
		return
	}
	resp := raw.(*kmsg.OffsetCommitResponse)
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			id, ok := ids[rp.Partition]
			if !ok {
				continue
			}
			delete(ids, rp.Partition)
			switch err := kerr.ErrorForCode(rp.ErrorCode); {
			case err == nil:
				w.must(w.rec.Complete(id, w.now(), &lin.CommitResult{}))
			case isAny(err, definiteCommitFailures):
				w.fail(id, err)
			default:
				w.abandon(id, err)
			}
		}
	}
	for _, id := range ids {
		w.abandon(id, errors.New("partition missing from OffsetCommit response"))
	}
}

func isAny(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
