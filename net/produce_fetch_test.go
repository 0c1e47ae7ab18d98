package net_test

// End-to-end tests of Produce, Fetch and ListOffsets against a real
// single-broker raftsm.Node, with franz-go's default producer and a
// group-less consumer. The broker setup is startBroker in cluster_test.go.

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	gonet "net"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core/batch"
)

func TestProduceFetchListOffsets(t *testing.T) {
	addr, _ := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const topic, partitions, total, keys = "events", 3, 200, 7

	admCl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)
	created, err := adm.CreateTopics(ctx, partitions, 1, nil, topic)
	if err != nil {
		t.Fatal(err)
	}
	if r := created[topic]; r.Err != nil {
		t.Fatalf("create %s: %v (%s)", topic, r.Err, r.ErrMessage)
	}

	// The default producer: idempotent when the broker allows it, snappy,
	// several requests in flight; records are produced asynchronously.
	prod, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	var (
		mu      sync.Mutex
		results []*kgo.Record
		errs    []error
		wg      sync.WaitGroup
	)
	for i := 0; i < total; i++ {
		wg.Add(1)
		r := &kgo.Record{Key: []byte(fmt.Sprintf("k%d", i%keys)), Value: []byte(fmt.Sprintf("v%03d", i))}
		prod.Produce(ctx, r, func(r *kgo.Record, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			results = append(results, r)
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d produces failed, first: %v", len(errs), total, errs[0])
	}
	byPartition := map[int32][]int64{}
	for _, r := range results {
		byPartition[r.Partition] = append(byPartition[r.Partition], r.Offset)
	}
	ends := map[int32]int64{}
	for p, offs := range byPartition {
		sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
		for i, o := range offs {
			if o != int64(i) {
				t.Fatalf("partition %d: offsets %v are not dense from 0", p, offs)
			}
		}
		ends[p] = int64(len(offs))
	}

	// ListOffsets: earliest 0, latest the record count, per partition.
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	latest, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < partitions; p++ {
		s, ok1 := starts.Lookup(topic, p)
		e, ok2 := latest.Lookup(topic, p)
		if !ok1 || !ok2 || s.Err != nil || e.Err != nil || s.Offset != 0 || e.Offset != ends[p] {
			t.Errorf("partition %d: start %+v, end %+v; want 0 and %d", p, s, e, ends[p])
		}
	}

	// Consume everything from the start with a group-less consumer.
	cons, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	var got []*kgo.Record
	for len(got) < total {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records before the deadline", len(got), total)
		}
		fs.EachError(func(tp string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", tp, p, err) })
		got = append(got, fs.Records()...)
	}
	if len(got) != total {
		t.Fatalf("consumed %d records, want %d", len(got), total)
	}
	seen := map[string]bool{}
	lastByKey := map[string]string{}
	for _, r := range got {
		k, v := string(r.Key), string(r.Value)
		// The default producer got a producer id (InitProducerId) and so
		// produced idempotently: its batches carry the id, not -1.
		if r.ProducerID < 0 {
			t.Fatalf("record %s has producer id %d: the producer was not idempotent", v, r.ProducerID)
		}
		if seen[v] {
			t.Fatalf("record %s consumed twice", v)
		}
		seen[v] = true
		if prev, ok := lastByKey[k]; ok && prev >= v {
			t.Fatalf("key %s: %s consumed after %s", k, v, prev)
		}
		lastByKey[k] = v
	}
	for i := 0; i < total; i++ {
		if v := fmt.Sprintf("v%03d", i); !seen[v] {
			t.Fatalf("record %s never consumed", v)
		}
	}

	// A fetch at the end of partition 0 waits MaxWaitMillis when nothing
	// comes, answering error 0 with the offsets filled in.
	fetchAt := func(maxWait int32) (*kmsg.FetchResponse, error) {
		req := kmsg.NewPtrFetchRequest()
		req.MaxWaitMillis, req.MinBytes, req.MaxBytes = maxWait, 1, 1<<20
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = 0, ends[0], 1<<20
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return req.RequestWith(ctx, admCl.Broker(1))
	}
	start := time.Now()
	resp, err := fetchAt(300)
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 250*time.Millisecond {
		t.Errorf("empty fetch answered after %v, want it to wait ~300ms", el)
	}
	if p := resp.Topics[0].Partitions[0]; resp.ErrorCode != 0 || resp.SessionID != 0 || p.ErrorCode != 0 ||
		p.HighWatermark != ends[0] || p.LastStableOffset != ends[0] || p.LogStartOffset != 0 ||
		p.PreferredReadReplica != -1 || len(p.RecordBatches) != 0 {
		t.Errorf("empty fetch: %+v / %+v", resp, p)
	}

	// A long poll returns once a record is produced to the partition.
	type answer struct {
		resp *kmsg.FetchResponse
		err  error
		at   time.Time
	}
	done := make(chan answer, 1)
	go func() {
		r, err := fetchAt(10_000)
		done <- answer{r, err, time.Now()}
	}()
	time.Sleep(300 * time.Millisecond)
	select {
	case a := <-done:
		t.Fatalf("long poll answered before any record was produced: %+v, %v", a.resp, a.err)
	default:
	}
	produced := time.Now()
	if r := admCl.ProduceSync(ctx, &kgo.Record{Partition: 0, Topic: topic, Value: []byte("late")}); r.FirstErr() != nil {
		t.Fatal(r.FirstErr())
	}
	a := <-done
	if a.err != nil {
		t.Fatal(a.err)
	}
	if wait := a.at.Sub(produced); wait > 5*time.Second {
		t.Errorf("long poll answered %v after the produce", wait)
	}
	if p := a.resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || len(p.RecordBatches) == 0 || p.HighWatermark <= ends[0] {
		t.Errorf("long poll: error %d, %d bytes, high watermark %d (was %d)", p.ErrorCode, len(p.RecordBatches), p.HighWatermark, ends[0])
	}
}

func TestProduceFetchErrors(t *testing.T) {
	addr, _ := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopics(ctx, 1, 1, nil, "t"); err != nil {
		t.Fatal(err)
	}
	waitLeader(ctx, t, adm, "t")

	// Raw requests on one connection: kgo would rewrite Acks and versions.
	c, err := gonet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	corr := int32(0)
	roundTrip := func(req kmsg.Request, resp kmsg.Response) {
		t.Helper()
		corr++
		send(t, c, corr, req)
		resp.SetVersion(req.GetVersion())
		recv(t, c, corr, resp)
	}

	produce := func(acks int16, p int32, records []byte) *kmsg.ProduceRequest {
		req := kmsg.NewPtrProduceRequest()
		req.Version, req.Acks, req.TimeoutMillis = 7, acks, 5000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = "t"
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition, rp.Records = p, records
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return req
	}
	valid := func(v string) []byte {
		return batch.Build(batch.BuildSpec{Records: []batch.Record{{Value: []byte(v)}}})
	}
	for _, tc := range []struct {
		name       string
		req        *kmsg.ProduceRequest
		code       int16
		baseOffset int64
	}{
		{"acks=2", produce(2, 0, valid("a")), kerr.InvalidRequiredAcks.Code, -1},
		{"corrupt batch", produce(-1, 0, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2}), kerr.CorruptMessage.Code, -1},
		{"valid batch", produce(-1, 0, valid("b")), 0, 0},
		{"acks=1", produce(1, 0, valid("c")), 0, 1},
		{"unknown partition", produce(-1, 5, valid("d")), kerr.UnknownTopicOrPartition.Code, -1},
	} {
		resp := kmsg.NewPtrProduceResponse()
		roundTrip(tc.req, resp)
		if p := resp.Topics[0].Partitions[0]; p.ErrorCode != tc.code || p.BaseOffset != tc.baseOffset || p.LogAppendTime != -1 {
			t.Errorf("%s: %+v, want error %d, base offset %d", tc.name, p, tc.code, tc.baseOffset)
		}
	}
	// Pipelined idempotent batches on one connection apply in request
	// order (Produce is serial): sequences 0..9 of producer 7 at offsets
	// 2..11, no OUT_OF_ORDER_SEQUENCE_NUMBER.
	const pipelined = 10
	for i := int32(0); i < pipelined; i++ {
		corr++
		send(t, c, corr, produce(-1, 0, batch.Build(batch.BuildSpec{
			Producer: &batch.Producer{ID: 7, Epoch: 0, BaseSequence: i},
			Records:  []batch.Record{{Value: []byte(fmt.Sprintf("seq%d", i))}},
		})))
	}
	for i := int32(0); i < pipelined; i++ {
		resp := kmsg.NewPtrProduceResponse()
		resp.SetVersion(7)
		recv(t, c, corr-pipelined+1+i, resp)
		if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || p.BaseOffset != int64(2+i) {
			t.Errorf("pipelined sequence %d: %+v, want base offset %d", i, p, 2+i)
		}
	}

	// acks=0: no response; the next request's response comes next.
	corr++
	send(t, c, corr, produce(0, 0, valid("e")))

	// ListOffsets v0: one old-style offset (the high watermark).
	lreq := kmsg.NewPtrListOffsetsRequest()
	lreq.Version = 0
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = "t"
	lp := kmsg.NewListOffsetsRequestTopicPartition()
	lp.Timestamp, lp.MaxNumOffsets = -1, 5
	lt.Partitions = append(lt.Partitions, lp)
	lreq.Topics = append(lreq.Topics, lt)
	lresp := kmsg.NewPtrListOffsetsResponse()
	roundTrip(lreq, lresp)
	if p := lresp.Topics[0].Partitions[0]; p.ErrorCode != 0 || len(p.OldStyleOffsets) != 1 || p.OldStyleOffsets[0] != 13 {
		t.Errorf("ListOffsets v0 latest after acks=0: %+v, want old-style offsets [13]", p)
	}

	// Fetch v11: out of range, unknown topic (answered at once), then an
	// incremental session (refused).
	freq := kmsg.NewPtrFetchRequest()
	freq.Version, freq.MaxWaitMillis, freq.MinBytes, freq.MaxBytes = 11, 5000, 1, 1<<20
	freq.SessionEpoch = -1
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "t"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.FetchOffset, fp.PartitionMaxBytes = 70, 1<<20
	ft.Partitions = append(ft.Partitions, fp)
	unknown := kmsg.NewFetchRequestTopic()
	unknown.Topic = "nope"
	unknown.Partitions = append(unknown.Partitions, fp)
	freq.Topics = append(freq.Topics, ft, unknown)
	start := time.Now()
	fresp := kmsg.NewPtrFetchResponse()
	roundTrip(freq, fresp)
	if time.Since(start) > 2*time.Second {
		t.Errorf("a fetch with errors waited %v", time.Since(start))
	}
	if p := fresp.Topics[0].Partitions[0]; p.ErrorCode != kerr.OffsetOutOfRange.Code || p.HighWatermark != 13 || p.LogStartOffset != 0 {
		t.Errorf("fetch at 70 of a 13-record log: %+v, want OFFSET_OUT_OF_RANGE with offsets", p)
	}
	if c := fresp.Topics[1].Partitions[0].ErrorCode; c != kerr.UnknownTopicOrPartition.Code {
		t.Errorf("fetch of an unknown topic: error %d, want UNKNOWN_TOPIC_OR_PARTITION", c)
	}
	freq.SessionID, freq.SessionEpoch = 42, 3
	fresp = kmsg.NewPtrFetchResponse()
	roundTrip(freq, fresp)
	if fresp.ErrorCode != kerr.FetchSessionIDNotFound.Code || fresp.SessionID != 0 {
		t.Errorf("incremental fetch session: error %d, session %d; want FETCH_SESSION_ID_NOT_FOUND, 0", fresp.ErrorCode, fresp.SessionID)
	}
	// Fetch v4 from offset 1: the batch holding offset 1 and the rest.
	freq.Version, freq.SessionID, freq.SessionEpoch = 4, 0, -1
	freq.Topics = freq.Topics[:1]
	freq.Topics[0].Partitions[0].FetchOffset = 1
	fresp = kmsg.NewPtrFetchResponse()
	roundTrip(freq, fresp)
	if p := fresp.Topics[0].Partitions[0]; p.ErrorCode != 0 || p.HighWatermark != 13 || p.LastStableOffset != 13 || len(p.RecordBatches) == 0 {
		t.Errorf("fetch v4 at 1: %+v", p)
	}
}

// waitLeader waits until this broker leads every partition of topic: its
// ListOffsets answers without error. (Metadata reports the preferred leader
// before the local replica has started.)
func waitLeader(ctx context.Context, t *testing.T, adm *kadm.Client, topic string) {
	t.Helper()
	for {
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err == nil && ends.Error() == nil && len(ends[topic]) > 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("topic %s has no leader: %v / %v", topic, err, ends.Error())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// send writes req as one request frame (header v1) at req's version.
func send(t *testing.T, c gonet.Conn, corr int32, req kmsg.Request) {
	t.Helper()
	frame := make([]byte, 4, 64)
	frame = binary.BigEndian.AppendUint16(frame, uint16(req.Key()))
	frame = binary.BigEndian.AppendUint16(frame, uint16(req.GetVersion()))
	frame = binary.BigEndian.AppendUint32(frame, uint32(corr))
	frame = append(frame, 0xff, 0xff) // null client id
	frame = req.AppendTo(frame)
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
	if _, err := c.Write(frame); err != nil {
		t.Fatal(err)
	}
}

// recv reads one response frame, checks its correlation id and decodes it
// into resp at the version of the request just sent.
func recv(t *testing.T, c gonet.Conn, corr int32, resp kmsg.Response) {
	t.Helper()
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c, body); err != nil {
		t.Fatal(err)
	}
	if got := int32(binary.BigEndian.Uint32(body)); got != corr {
		t.Fatalf("correlation id %d, want %d", got, corr)
	}
	if err := resp.ReadFrom(body[4:]); err != nil {
		t.Fatal(err)
	}
}
