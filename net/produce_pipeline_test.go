package net

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	gonet "net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core/batch"
	"github.com/tidemark/tidemark/core/partition"
)

// submitCluster is a Cluster that is a ProduceSubmitter: it records the
// base sequence of every batch in submission order and answers no wait
// until release is closed. Its other methods are the nil Cluster's (the
// test calls none of them).
type submitCluster struct {
	Cluster
	submitted chan int32 // each submission's base sequence
	release   chan struct{}
	mu        sync.Mutex
	next      int64 // the offset the next submission gets
}

func (c *submitCluster) Produce(context.Context, string, int32, []byte) (partition.ProduceResult, error) {
	return partition.ProduceResult{}, errors.New("Produce called on a ProduceSubmitter")
}

func (c *submitCluster) SubmitProduce(_ context.Context, _ string, _ int32, b []byte) (func(context.Context) (partition.ProduceResult, error), error) {
	h, ok := batch.ParseHeader(b)
	if !ok {
		return nil, errors.New("unparsable batch")
	}
	c.mu.Lock()
	base := c.next
	c.next += int64(h.LastOffsetDelta) + 1
	c.mu.Unlock()
	c.submitted <- h.BaseSequence
	return func(ctx context.Context) (partition.ProduceResult, error) {
		select {
		case <-c.release:
			return partition.ProduceResult{BaseOffset: base, LogAppendTimeMs: -1}, nil
		case <-ctx.Done():
			return partition.ProduceResult{}, ctx.Err()
		}
	}, nil
}

// TestProducePipelinedThroughSubmitter: with a ProduceSubmitter, a
// connection submits its produce requests in request order and reads the
// next request while earlier ones still wait for their commits; responses
// still go out in request order.
func TestProducePipelinedThroughSubmitter(t *testing.T) {
	const requests = 4
	fake := &submitCluster{submitted: make(chan int32, requests), release: make(chan struct{})}
	s, err := newServer(Config{Log: slog.New(slog.DiscardHandler)}, supportedAPIs)
	if err != nil {
		t.Fatal(err)
	}
	s.cluster = fake
	ln, err := gonet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	c := dial(t, ln.Addr().String())

	var frames []byte
	for i := int32(0); i < requests; i++ {
		req := kmsg.NewPtrProduceRequest()
		req.Acks, req.TimeoutMillis = -1, 10000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = "t"
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = batch.Build(batch.BuildSpec{
			Producer: &batch.Producer{ID: 7, Epoch: 0, BaseSequence: i},
			Records:  []batch.Record{{Value: []byte(fmt.Sprintf("seq%d", i))}},
		})
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		frames = append(frames, frameRequest(req, 7, i+1)...)
	}
	c.write(frames)
	// Every request is submitted while none has been answered: the
	// connection did not wait for a commit before reading the next.
	for i := int32(0); i < requests; i++ {
		select {
		case got := <-fake.submitted:
			if got != i {
				t.Fatalf("submission %d has base sequence %d: requests submitted out of order", i, got)
			}
		case <-time.After(20 * time.Second): // a safety net, not a timing assertion
			t.Fatalf("request %d was never submitted: the connection waits for each produce's commit", i)
		}
	}
	close(fake.release)
	for i := int32(0); i < requests; i++ {
		corr, resp := c.readResponse(0, 7)
		p := resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0]
		if corr != i+1 || p.ErrorCode != 0 || p.BaseOffset != int64(i) {
			t.Fatalf("response %d: correlation id %d, %+v; want correlation id %d, base offset %d", i, corr, p, i+1, i)
		}
	}
}
