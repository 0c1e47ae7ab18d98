package nemesis

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	lin "github.com/tidemark/tidemark/linearizability"
)

// offsetReader reads the group's committed offsets and every partition's
// high watermark, in rounds.
func (w *workload) offsetReader(ctx context.Context) {
	client := w.newClientID()
	cl, err := w.cluster.Client()
	if err != nil {
		w.must(err)
		return
	}
	defer cl.Close()
	for ctx.Err() == nil {
		w.fetchCommitted(ctx, cl, client)
		w.listOffsets(ctx, cl, client)
		sleep(ctx, offsetsPause)
	}
}

func (w *workload) fetchCommitted(ctx context.Context, cl *kgo.Client, client int) {
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = w.cfg.Group
	t := kmsg.NewOffsetFetchRequestTopic()
	t.Topic = w.cfg.Topic
	ids := map[int32]int{}
	for p := range w.cfg.Partitions {
		t.Partitions = append(t.Partitions, p)
		ids[p] = w.rec.Invoke(client, w.now(), &lin.FetchCommitted{Group: w.cfg.Group, Topic: w.cfg.Topic, Partition: p})
	}
	req.Topics = append(req.Topics, t)
	octx, cancel := context.WithTimeout(ctx, opTimeout)
	raw, err := cl.Request(octx, req)
	cancel()
	var resp *kmsg.OffsetFetchResponse
	if err == nil {
		resp = raw.(*kmsg.OffsetFetchResponse)
		err = kerr.ErrorForCode(resp.ErrorCode)
	}
	if err != nil {
		for _, id := range ids {
			w.fail(id, err) // a read: it changed nothing
		}
		return
	}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			id, ok := ids[rp.Partition]
			if !ok {
				continue
			}
			delete(ids, rp.Partition)
			if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
				w.fail(id, err)
				continue
			}
			w.must(w.rec.Complete(id, w.now(), &lin.FetchCommittedResult{Offset: rp.Offset}))
		}
	}
	for _, id := range ids {
		w.fail(id, errors.New("partition missing from OffsetFetch response"))
	}
}

func (w *workload) listOffsets(ctx context.Context, cl *kgo.Client, client int) {
	p := int32(w.now() % int64(w.cfg.Partitions))
	leader, err := w.leaders.get(ctx, cl, w.cfg.Topic, p)
	if err != nil {
		return
	}
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	t := kmsg.NewListOffsetsRequestTopic()
	t.Topic = w.cfg.Topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition = p
	rp.Timestamp = -1 // latest
	rp.CurrentLeaderEpoch = -1
	t.Partitions = append(t.Partitions, rp)
	req.Topics = append(req.Topics, t)
	id := w.rec.Invoke(client, w.now(), &lin.ListOffsets{Topic: w.cfg.Topic, Partition: p})
	octx, cancel := context.WithTimeout(ctx, opTimeout)
	raw, err := cl.Broker(int(leader)).Request(octx, req)
	cancel()
	if err != nil {
		w.leaders.forget(p)
		w.fail(id, err)
		return
	}
	resp := raw.(*kmsg.ListOffsetsResponse)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		w.fail(id, errors.New("malformed ListOffsets response"))
		return
	}
	part := resp.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(part.ErrorCode); err != nil {
		w.leaders.forget(p)
		w.fail(id, err)
		return
	}
	w.must(w.rec.Complete(id, w.now(), &lin.ListOffsetsResult{Offset: part.Offset}))
}
