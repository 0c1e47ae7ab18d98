package net_test

// End-to-end tests of the consumer-group APIs against a real single-broker
// raftsm.Node: franz-go's group consumer through rebalances, kadm's group
// administration, and raw kmsg requests for what clients do not exercise.

import (
	"context"
	"encoding/binary"
	"errors"
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

	"github.com/tidemark/tidemark/raftsm"
)

// startGroupBroker is startBroker with a short initial rebalance delay. It
// returns once the coordinators of groups have leaders (raw tests do not
// retry).
func startGroupBroker(t *testing.T, groups ...string) string {
	t.Helper()
	kafkaAddr, _ := startBroker(t, func(cfg *raftsm.NodeConfig) { cfg.Group.InitialRebalanceDelayMs = 300 })
	for _, g := range groups {
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			fc := dialRaw(t, kafkaAddr).do(&kmsg.FindCoordinatorRequest{CoordinatorKey: g}, 0).(*kmsg.FindCoordinatorResponse)
			if fc.ErrorCode == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no coordinator for group %q after 20s: error %d", g, fc.ErrorCode)
			}
		}
	}
	return kafkaAddr
}

func createTopic(t *testing.T, ctx context.Context, adm *kadm.Client, topic string, partitions int32) {
	t.Helper()
	created, err := adm.CreateTopics(ctx, partitions, 1, nil, topic)
	if err != nil {
		t.Fatal(err)
	}
	if r := created[topic]; r.Err != nil {
		t.Fatalf("create %s: %v (%s)", topic, r.Err, r.ErrMessage)
	}
}

type tp struct {
	partition int32
	offset    int64
}

// groupConsumer is one member of the test group: it polls, records what
// it read, commits synchronously before allowing a rebalance, and commits
// again on revocation (as a kgo application that must not read twice does).
type groupConsumer struct {
	name string
	cl   *kgo.Client
	stop chan struct{}
	done chan struct{}
}

type consumption struct {
	mu       sync.Mutex
	seen     map[tp][]string // who read each record
	values   map[tp]string
	assigned map[string]map[int32]bool // consumer -> partitions it owns now
	errs     []error
}

func (c *consumption) setAssigned(name string, ps map[string][]int32, add bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.assigned[name] == nil {
		c.assigned[name] = map[int32]bool{}
	}
	for _, list := range ps {
		for _, p := range list {
			if add {
				c.assigned[name][p] = true
			} else {
				delete(c.assigned[name], p)
			}
		}
	}
}

func startConsumer(t *testing.T, addr, topic, name string, cons *consumption) *groupConsumer {
	t.Helper()
	gcons := &groupConsumer{name: name, stop: make(chan struct{}), done: make(chan struct{})}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ClientID(name),
		kgo.ConsumerGroup("g1"), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll(),
		kgo.SessionTimeout(6*time.Second), kgo.HeartbeatInterval(200*time.Millisecond),
		kgo.FetchMaxWait(200*time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { cons.setAssigned(name, ps, true) }),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, ps map[string][]int32) {
			if err := cl.CommitUncommittedOffsets(ctx); err != nil {
				cons.mu.Lock()
				cons.errs = append(cons.errs, fmt.Errorf("%s: commit on revoke: %w", name, err))
				cons.mu.Unlock()
			}
			cons.setAssigned(name, ps, false)
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) {
			cons.mu.Lock()
			cons.errs = append(cons.errs, fmt.Errorf("%s: partitions lost: %v", name, ps))
			cons.mu.Unlock()
			cons.setAssigned(name, ps, false)
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	gcons.cl = cl
	go func() {
		defer close(gcons.done)
		for {
			select {
			case <-gcons.stop:
				return
			default:
			}
			pctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			fs := cl.PollFetches(pctx)
			cancel()
			fs.EachError(func(_ string, _ int32, err error) {
				if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
					cons.mu.Lock()
					cons.errs = append(cons.errs, fmt.Errorf("%s: fetch: %w", name, err))
					cons.mu.Unlock()
				}
			})
			cons.mu.Lock()
			fs.EachRecord(func(r *kgo.Record) {
				k := tp{r.Partition, r.Offset}
				cons.seen[k] = append(cons.seen[k], name)
				cons.values[k] = string(r.Value)
			})
			cons.mu.Unlock()
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := cl.CommitUncommittedOffsets(cctx); err != nil {
				cons.mu.Lock()
				cons.errs = append(cons.errs, fmt.Errorf("%s: commit: %w", name, err))
				cons.mu.Unlock()
			}
			cancel()
			cl.AllowRebalance()
		}
	}()
	return gcons
}

// close stops polling (everything polled is committed) and leaves the group.
func (g *groupConsumer) close() {
	close(g.stop)
	<-g.done
	g.cl.AllowRebalance()
	g.cl.Close()
}

// waitFor polls cond every 50 ms until it holds or the deadline passes.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestConsumerGroupRebalances: two members of a cooperative-sticky group
// read a six-partition topic while records are produced; a third joins,
// one leaves. Every acknowledged record is read exactly once by the group.
func TestConsumerGroupRebalances(t *testing.T) {
	addr := startGroupBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const topic, partitions = "events", 6

	admCl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)
	createTopic(t, ctx, adm, topic, partitions)

	prod, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	var (
		ackMu sync.Mutex
		acked = map[tp]string{}
	)
	stopProducing := make(chan struct{})
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for i := 0; ; i++ {
			select {
			case <-stopProducing:
				return
			default:
			}
			v := fmt.Sprintf("v%d", i)
			res := prod.ProduceSync(ctx, &kgo.Record{Value: []byte(v)})
			if r, err := res.First(); err == nil {
				ackMu.Lock()
				acked[tp{r.Partition, r.Offset}] = v
				ackMu.Unlock()
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	ackedCount := func() int {
		ackMu.Lock()
		defer ackMu.Unlock()
		return len(acked)
	}

	cons := &consumption{seen: map[tp][]string{}, values: map[tp]string{}, assigned: map[string]map[int32]bool{}}
	// owners reports whether the live consumers own every partition once.
	balanced := func(live ...string) bool {
		cons.mu.Lock()
		defer cons.mu.Unlock()
		owned := map[int32]int{}
		for _, n := range live {
			if len(cons.assigned[n]) == 0 {
				return false
			}
			for p := range cons.assigned[n] {
				owned[p]++
			}
		}
		for p := int32(0); p < partitions; p++ {
			if owned[p] != 1 {
				return false
			}
		}
		return true
	}
	seenCount := func() int {
		cons.mu.Lock()
		defer cons.mu.Unlock()
		return len(cons.seen)
	}

	a := startConsumer(t, addr, topic, "a", cons)
	b := startConsumer(t, addr, topic, "b", cons)
	waitFor(t, ctx, "a and b to share the partitions", func() bool { return balanced("a", "b") })
	waitFor(t, ctx, "records to be consumed", func() bool { return seenCount() > 20 })

	c := startConsumer(t, addr, topic, "c", cons)
	waitFor(t, ctx, "a, b and c to share the partitions", func() bool { return balanced("a", "b", "c") })
	before := seenCount()
	waitFor(t, ctx, "consumption to go on", func() bool { return seenCount() > before+20 })

	b.close()
	cons.setAssigned("b", map[string][]int32{topic: {0, 1, 2, 3, 4, 5}}, false)
	waitFor(t, ctx, "a and c to share the partitions", func() bool { return balanced("a", "c") })
	before = seenCount()
	waitFor(t, ctx, "consumption to go on", func() bool { return seenCount() > before+20 })

	close(stopProducing)
	<-produced
	total := ackedCount()
	waitFor(t, ctx, "every acknowledged record to be consumed", func() bool {
		ackMu.Lock()
		defer ackMu.Unlock()
		cons.mu.Lock()
		defer cons.mu.Unlock()
		for k := range acked {
			if len(cons.seen[k]) == 0 {
				return false
			}
		}
		return true
	})
	a.close()
	c.close()

	cons.mu.Lock()
	defer cons.mu.Unlock()
	for _, err := range cons.errs {
		t.Errorf("consumer: %v", err)
	}
	dups := 0
	for k, who := range cons.seen {
		if len(who) > 1 {
			dups++
			if dups <= 5 {
				t.Errorf("partition %d offset %d read %d times, by %v", k.partition, k.offset, len(who), who)
			}
		}
	}
	ackMu.Lock()
	defer ackMu.Unlock()
	for k, v := range acked {
		if got := cons.values[k]; got != v {
			t.Errorf("partition %d offset %d: read %q, acknowledged %q", k.partition, k.offset, got, v)
		}
	}
	readers := map[string]int{}
	for _, who := range cons.seen {
		for _, n := range who {
			readers[n]++
		}
	}
	t.Logf("%d acknowledged records, %d read, %d read twice; per consumer %v", total, len(cons.seen), dups, readers)
	if readers["c"] == 0 || readers["a"] == 0 || readers["b"] == 0 {
		t.Errorf("every consumer should have read records: %v", readers)
	}
}

// TestGroupAdmin: kadm's DescribeGroups, ListGroups, CommitOffsets,
// FetchOffsets and DeleteGroups.
func TestGroupAdmin(t *testing.T) {
	addr := startGroupBroker(t, "admin-g", "live-g", "never-g")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	createTopic(t, ctx, adm, "orders", 2)

	// A standalone commit (no members) to an existing and a missing topic.
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "orders", Partition: 0, At: 5, LeaderEpoch: -1, Metadata: "m0"})
	offs.Add(kadm.Offset{Topic: "orders", Partition: 1, At: 7, LeaderEpoch: -1})
	offs.Add(kadm.Offset{Topic: "orders", Partition: 9, At: 1, LeaderEpoch: -1})
	offs.Add(kadm.Offset{Topic: "missing", Partition: 0, At: 1, LeaderEpoch: -1})
	committed, err := adm.CommitOffsets(ctx, "admin-g", offs)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		topic string
		p     int32
		err   error
	}{{"orders", 0, nil}, {"orders", 1, nil}, {"orders", 9, kerr.UnknownTopicOrPartition}, {"missing", 0, kerr.UnknownTopicOrPartition}} {
		r, ok := committed.Lookup(want.topic, want.p)
		if !ok || !errors.Is(r.Err, want.err) || (want.err == nil && r.Err != nil) {
			t.Errorf("commit %s/%d: %+v (found %v), want error %v", want.topic, want.p, r, ok, want.err)
		}
	}
	fetched, err := adm.FetchOffsets(ctx, "admin-g")
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := fetched.Lookup("orders", 0); !ok || r.Err != nil || r.At != 5 || r.Metadata != "m0" {
		t.Errorf("fetch orders/0: %+v (found %v), want 5 with metadata m0", r, ok)
	}
	if r, ok := fetched.Lookup("orders", 1); !ok || r.Err != nil || r.At != 7 {
		t.Errorf("fetch orders/1: %+v (found %v), want 7", r, ok)
	}
	if _, ok := fetched.Lookup("missing", 0); ok {
		t.Errorf("fetch: offsets of a missing topic were stored")
	}

	// A live group: one kgo member.
	member, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ClientID("member"), kgo.ConsumerGroup("live-g"), kgo.ConsumeTopics("orders"),
		kgo.HeartbeatInterval(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer member.Close()
	go func() {
		for ctx.Err() == nil {
			pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			member.PollFetches(pctx)
			cancel()
		}
	}()
	var described kadm.DescribedGroups
	waitFor(t, ctx, "live-g to be Stable", func() bool {
		described, err = adm.DescribeGroups(ctx, "live-g")
		return err == nil && described["live-g"].State == "Stable"
	})
	d := described["live-g"]
	if d.Err != nil || d.ProtocolType != "consumer" || d.Protocol == "" || len(d.Members) != 1 || d.Members[0].ClientID != "member" ||
		d.Members[0].ClientHost != "/127.0.0.1" {
		t.Errorf("describe live-g: %+v", d)
	} else if a, ok := d.Members[0].Assigned.AsConsumer(); !ok || len(a.Topics) != 1 || len(a.Topics[0].Partitions) != 2 {
		t.Errorf("describe live-g: member assignment %+v, want both partitions of orders", d.Members[0].Assigned)
	}
	dead, err := adm.DescribeGroups(ctx, "never-g")
	if err != nil || dead["never-g"].State != "Dead" {
		t.Errorf("describe never-g: %+v, %v; want Dead", dead["never-g"], err)
	}

	listed, err := adm.ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := listed.Groups()
	sort.Strings(names)
	if len(names) != 2 || names[0] != "admin-g" || names[1] != "live-g" {
		t.Errorf("list groups: %v, want [admin-g live-g]", names)
	}

	deleted, err := adm.DeleteGroups(ctx, "live-g", "admin-g", "never-g")
	if err != nil {
		t.Fatal(err)
	}
	for g, want := range map[string]error{"live-g": kerr.NonEmptyGroup, "admin-g": nil, "never-g": kerr.GroupIDNotFound} {
		if r := deleted[g]; !errors.Is(r.Err, want) || (want == nil && r.Err != nil) {
			t.Errorf("delete %s: %v, want %v", g, r.Err, want)
		}
	}
	fetched, err = adm.FetchOffsets(ctx, "admin-g")
	if err != nil {
		t.Fatal(err)
	}
	if len(fetched) != 0 {
		t.Errorf("offsets of a deleted group: %+v", fetched)
	}
}

// rawConn is one connection speaking raw kmsg requests at pinned versions.
type rawConn struct {
	t    *testing.T
	c    gonet.Conn
	corr int32
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := gonet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c}
}

// do sends req at version v with client id "raw" and decodes the answer.
func (r *rawConn) do(req kmsg.Request, v int16) kmsg.Response {
	r.t.Helper()
	r.corr++
	req.SetVersion(v)
	frame := make([]byte, 4, 64)
	frame = binary.BigEndian.AppendUint16(frame, uint16(req.Key()))
	frame = binary.BigEndian.AppendUint16(frame, uint16(v))
	frame = binary.BigEndian.AppendUint32(frame, uint32(r.corr))
	frame = binary.BigEndian.AppendUint16(frame, 3)
	frame = append(frame, "raw"...)
	frame = req.AppendTo(frame)
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
	r.c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := r.c.Write(frame); err != nil {
		r.t.Fatal(err)
	}
	var size [4]byte
	if _, err := io.ReadFull(r.c, size[:]); err != nil {
		r.t.Fatal(err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(r.c, body); err != nil {
		r.t.Fatal(err)
	}
	if corr := int32(binary.BigEndian.Uint32(body)); corr != r.corr {
		r.t.Fatalf("correlation id %d, want %d", corr, r.corr)
	}
	resp := req.ResponseKind()
	resp.SetVersion(v)
	if err := resp.ReadFrom(body[4:]); err != nil {
		r.t.Fatal(err)
	}
	return resp
}

// TestGroupRawProtocol: the eager protocol at JoinGroup/SyncGroup/
// Heartbeat/LeaveGroup v0 with two members, MEMBER_ID_REQUIRED at v4,
// static membership refused at v5, OffsetCommit/OffsetFetch at their
// lowest versions.
func TestGroupRawProtocol(t *testing.T) {
	addr := startGroupBroker(t, "eager", "other")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	createTopic(t, ctx, kadm.NewClient(cl), "raw", 2)

	fc := dialRaw(t, addr).do(&kmsg.FindCoordinatorRequest{CoordinatorKey: "eager"}, 0).(*kmsg.FindCoordinatorResponse)
	if fc.ErrorCode != 0 || fc.NodeID != 1 || fmt.Sprintf("%s:%d", fc.Host, fc.Port) != addr {
		t.Errorf("FindCoordinator v0: %+v, want node 1 at %s", fc, addr)
	}
	txn := dialRaw(t, addr).do(&kmsg.FindCoordinatorRequest{CoordinatorKey: "tx", CoordinatorType: 1}, 1).(*kmsg.FindCoordinatorResponse)
	if txn.ErrorCode != kerr.CoordinatorNotAvailable.Code {
		t.Errorf("FindCoordinator for a transaction: error %d, want COORDINATOR_NOT_AVAILABLE", txn.ErrorCode)
	}

	join := func(conn *rawConn, v int16, group, member string, instance *string) *kmsg.JoinGroupResponse {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group, req.MemberID, req.InstanceID = group, member, instance
		req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 10_000, 10_000
		req.ProtocolType = "consumer"
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name, p.Metadata = "range", []byte("meta-"+member)
		req.Protocols = append(req.Protocols, p)
		return conn.do(req, v).(*kmsg.JoinGroupResponse)
	}
	// Static membership: refused as by a broker that predates it.
	if r := join(dialRaw(t, addr), 5, "other", "", kmsg.StringPtr("instance-1")); r.ErrorCode != kerr.UnsupportedVersion.Code {
		t.Errorf("JoinGroup v5 with an instance id: error %d, want UNSUPPORTED_VERSION", r.ErrorCode)
	}
	// v4: a new member first gets its id with MEMBER_ID_REQUIRED (in
	// another group: a pending id holds a join phase open until it expires).
	if r := join(dialRaw(t, addr), 4, "other", "", nil); r.ErrorCode != kerr.MemberIDRequired.Code || r.MemberID == "" {
		t.Errorf("JoinGroup v4 new member: error %d id %q, want MEMBER_ID_REQUIRED with an id", r.ErrorCode, r.MemberID)
	}

	// Eager v0: two new members join concurrently; both are answered at
	// generation 1 once the initial delay has passed.
	c1, c2 := dialRaw(t, addr), dialRaw(t, addr)
	var j1, j2 *kmsg.JoinGroupResponse
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); j1 = join(c1, 0, "eager", "", nil) }()
	go func() { defer wg.Done(); j2 = join(c2, 0, "eager", "", nil) }()
	wg.Wait()
	if j1.ErrorCode != 0 || j2.ErrorCode != 0 || j1.Generation != 1 || j2.Generation != 1 || j1.LeaderID != j2.LeaderID ||
		*j1.Protocol != "range" {
		t.Fatalf("JoinGroup v0: %+v / %+v", j1, j2)
	}
	leader, follower, lc, fconn := j1, j2, c1, c2
	if j2.MemberID == j2.LeaderID {
		leader, follower, lc, fconn = j2, j1, c2, c1
	}
	if len(leader.Members) != 2 || len(follower.Members) != 0 {
		t.Fatalf("JoinGroup v0 member lists: leader %d, follower %d; want 2 and 0", len(leader.Members), len(follower.Members))
	}
	// The follower's SyncGroup waits for the leader's.
	var fs *kmsg.SyncGroupResponse
	wg.Add(1)
	go func() {
		defer wg.Done()
		fs = fconn.do(&kmsg.SyncGroupRequest{Group: "eager", Generation: 1, MemberID: follower.MemberID}, 0).(*kmsg.SyncGroupResponse)
	}()
	time.Sleep(200 * time.Millisecond) // let the follower park first (either order is correct)
	ls := lc.do(&kmsg.SyncGroupRequest{Group: "eager", Generation: 1, MemberID: leader.MemberID,
		GroupAssignment: []kmsg.SyncGroupRequestGroupAssignment{
			{MemberID: leader.MemberID, MemberAssignment: []byte("for-leader")},
			{MemberID: follower.MemberID, MemberAssignment: []byte("for-follower")},
		}}, 0).(*kmsg.SyncGroupResponse)
	wg.Wait()
	if ls.ErrorCode != 0 || string(ls.MemberAssignment) != "for-leader" || fs.ErrorCode != 0 || string(fs.MemberAssignment) != "for-follower" {
		t.Errorf("SyncGroup v0: leader %+v, follower %+v", ls, fs)
	}
	hb := lc.do(&kmsg.HeartbeatRequest{Group: "eager", Generation: 1, MemberID: leader.MemberID}, 0).(*kmsg.HeartbeatResponse)
	if hb.ErrorCode != 0 {
		t.Errorf("Heartbeat v0: error %d", hb.ErrorCode)
	}
	stale := lc.do(&kmsg.HeartbeatRequest{Group: "eager", Generation: 7, MemberID: leader.MemberID}, 0).(*kmsg.HeartbeatResponse)
	if stale.ErrorCode != kerr.IllegalGeneration.Code {
		t.Errorf("Heartbeat v0 at generation 7: error %d, want ILLEGAL_GENERATION", stale.ErrorCode)
	}

	// Commit at v2 as a member, fetch at v1.
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Group, commit.Generation, commit.MemberID = "eager", 1, leader.MemberID
	ct := kmsg.NewOffsetCommitRequestTopic()
	ct.Topic = "raw"
	cp := kmsg.NewOffsetCommitRequestTopicPartition()
	cp.Partition, cp.Offset = 1, 42
	ct.Partitions = append(ct.Partitions, cp)
	commit.Topics = append(commit.Topics, ct)
	cr := lc.do(commit, 2).(*kmsg.OffsetCommitResponse)
	if len(cr.Topics) != 1 || cr.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Errorf("OffsetCommit v2: %+v", cr.Topics)
	}
	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.Group = "eager"
	fetch.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "raw", Partitions: []int32{0, 1}}}
	fr := lc.do(fetch, 1).(*kmsg.OffsetFetchResponse)
	if len(fr.Topics) != 1 || len(fr.Topics[0].Partitions) != 2 || fr.Topics[0].Partitions[0].Offset != -1 || fr.Topics[0].Partitions[1].Offset != 42 {
		t.Errorf("OffsetFetch v1: %+v, want -1 and 42", fr.Topics)
	}

	// The follower leaves (v0); the leader's next heartbeat says rebalance.
	lv := fconn.do(&kmsg.LeaveGroupRequest{Group: "eager", MemberID: follower.MemberID}, 0).(*kmsg.LeaveGroupResponse)
	if lv.ErrorCode != 0 {
		t.Errorf("LeaveGroup v0: error %d", lv.ErrorCode)
	}
	hb = lc.do(&kmsg.HeartbeatRequest{Group: "eager", Generation: 1, MemberID: leader.MemberID}, 0).(*kmsg.HeartbeatResponse)
	if hb.ErrorCode != kerr.RebalanceInProgress.Code {
		t.Errorf("Heartbeat after a leave: error %d, want REBALANCE_IN_PROGRESS", hb.ErrorCode)
	}
	// The leader rejoins alone (v3 LeaveGroup batch afterwards).
	rj := join(lc, 1, "eager", leader.MemberID, nil)
	if rj.ErrorCode != 0 || rj.Generation != 2 || rj.LeaderID != leader.MemberID {
		t.Errorf("rejoin: %+v, want generation 2 led by %s", rj, leader.MemberID)
	}
	lv3 := lc.do(&kmsg.LeaveGroupRequest{Group: "eager", Members: []kmsg.LeaveGroupRequestMember{
		{MemberID: leader.MemberID}, {MemberID: "nobody"}}}, 3).(*kmsg.LeaveGroupResponse)
	if lv3.ErrorCode != 0 || len(lv3.Members) != 2 || lv3.Members[0].ErrorCode != 0 || lv3.Members[1].ErrorCode != kerr.UnknownMemberID.Code {
		t.Errorf("LeaveGroup v3: %+v", lv3)
	}
}
