package linearizability

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"pgregory.net/rapid"
)

// A generator of valid histories: a sequential model of a partitioned log
// and a consumer group, driven by concurrent clients. Each operation is
// invoked at some tick, takes effect on the model at a later tick (its
// linearization point), and returns later still; so every history it
// produces is linearizable by construction, with overlapping intervals.
// Clients may give up on an operation (unknown outcome) that still takes
// effect later or never, and may see definite failures for operations that
// never took effect.
//
// It serves the rapid properties (small histories, choices drawn from
// rapid) and the benchmarks (large histories, choices from a seeded PRNG).

// chooser draws a number in [0, n).
type chooser interface{ intn(n int) int }

type rapidChooser struct{ t *rapid.T }

func (c rapidChooser) intn(n int) int {
	if n <= 1 {
		return 0
	}
	return rapid.IntRange(0, n-1).Draw(c.t, "choice")
}

type randChooser struct{ r *rand.Rand }

func (c randChooser) intn(n int) int { return c.r.IntN(n) }

type genConfig struct {
	clients    int
	partitions int
	ops        int // operations invoked by the random phase
	unknownPct int // chance, in percent, that a client gives up on an operation
	failPct    int // chance, in percent, that an operation not yet applied fails
	groups     bool
	maxBatch   int  // records per produce
	maxFetch   int  // records per fetch
	finalReads bool // end with produces and full reads of every partition
}

type genRecord struct {
	key, value string
	batchStart int64
}

type genPending struct {
	id      int
	client  int
	applied bool
	zombie  bool // the client gave up; it may still apply
	out     Output
	onOK    func() // client-side bookkeeping when the answer arrives
}

type genClient struct {
	busy     bool
	gen      int32           // generation from the client's last assignment, -1 none
	pollNext map[int32]int64 // where the client's next poll of a partition starts
	seq      int
}

type generator struct {
	cfg      genConfig
	c        chooser
	rec      *Recorder
	now      int64
	logs     [][]genRecord
	clients  []genClient
	pending  []*genPending
	gen      int32
	owners   map[int32][]int // generation -> partition -> owning client
	commits  []int64         // committed offset per partition, -1 none
	invoked  int
	tpicName string
}

func generate(c chooser, cfg genConfig) History {
	g := &generator{cfg: cfg, c: c, rec: NewRecorder(), owners: make(map[int32][]int), tpicName: "t"}
	g.logs = make([][]genRecord, cfg.partitions)
	g.commits = make([]int64, cfg.partitions)
	for i := range g.commits {
		g.commits[i] = -1
	}
	g.clients = make([]genClient, cfg.clients)
	for i := range g.clients {
		g.clients[i] = genClient{gen: -1, pollNext: make(map[int32]int64)}
	}
	for g.invoked < cfg.ops || g.clientPending() > 0 {
		g.now++
		switch g.c.intn(3) {
		case 0:
			if g.invoked < cfg.ops {
				g.invokeRandom()
			}
		case 1:
			g.applyRandom()
		case 2:
			g.finishRandom(g.invoked >= cfg.ops)
		}
	}
	// Operations the clients gave up on and that were to apply late do so.
	for _, p := range slices.Clone(g.pending) {
		g.now++
		if !p.applied {
			g.apply(p)
		}
	}
	g.pending = nil
	if cfg.finalReads {
		for tp := range int32(cfg.partitions) {
			for range 2 {
				g.now++
				p := g.invoke(0, g.produceInput(0, tp))
				g.now++
				g.apply(p)
				g.now++
				g.finish(p)
			}
			if cfg.groups {
				g.now++
				p := g.invoke(0, &Commit{Group: "g", Topic: g.tpicName, Partition: tp, Generation: -1, Member: "m0", Offset: int64(len(g.logs[tp]))})
				g.now++
				g.apply(p)
				g.now++
				g.finish(p)
				g.now++
				p = g.invoke(0, &FetchCommitted{Group: "g", Topic: g.tpicName, Partition: tp})
				g.now++
				g.apply(p)
				g.now++
				g.finish(p)
			}
			g.now++
			p := g.invoke(0, &Fetch{Topic: g.tpicName, Partition: tp, Offset: 0})
			g.now++
			g.applyFetch(p, tp, 0, int64(len(g.logs[tp])), false)
			g.now++
			g.finish(p)
		}
	}
	return g.rec.History()
}

func (g *generator) clientPending() int {
	n := 0
	for _, p := range g.pending {
		if !p.zombie {
			n++
		}
	}
	return n
}

func (g *generator) invoke(client int, in Input) *genPending {
	g.clients[client].busy = true
	g.invoked++
	p := &genPending{id: g.rec.Invoke(client, g.now, in), client: client}
	g.pending = append(g.pending, p)
	return p
}

func (g *generator) remove(p *genPending) {
	i := slices.Index(g.pending, p)
	g.pending[i] = g.pending[len(g.pending)-1]
	g.pending = g.pending[:len(g.pending)-1]
}

func (g *generator) produceInput(client int, tp int32) *Produce {
	cl := &g.clients[client]
	n := 1 + g.c.intn(g.cfg.maxBatch)
	in := &Produce{Topic: g.tpicName, Partition: tp}
	for range n {
		key := ""
		if k := g.c.intn(4); k < 3 {
			key = fmt.Sprintf("k%d", k)
		}
		in.Records = append(in.Records, Record{Key: key, Value: fmt.Sprintf("p%d-%d", client, cl.seq)})
		cl.seq++
	}
	return in
}

func (g *generator) invokeRandom() {
	var idle []int
	for i := range g.clients {
		if !g.clients[i].busy {
			idle = append(idle, i)
		}
	}
	if len(idle) == 0 {
		return
	}
	client := idle[g.c.intn(len(idle))]
	tp := int32(g.c.intn(g.cfg.partitions))
	kinds := 4
	if g.cfg.groups {
		kinds = 7
	}
	switch g.c.intn(kinds) {
	case 0, 1:
		g.invoke(client, g.produceInput(client, tp))
	case 2:
		offset := int64(-1)
		if g.c.intn(2) == 0 {
			offset = int64(g.c.intn(len(g.logs[tp]) + 1))
		}
		g.invoke(client, &Fetch{Topic: g.tpicName, Partition: tp, Offset: offset})
	case 3:
		g.invoke(client, &ListOffsets{Topic: g.tpicName, Partition: tp})
	case 4:
		cl := &g.clients[client]
		offset := int64(g.c.intn(len(g.logs[tp]) + 1))
		g.invoke(client, &Commit{Group: "g", Topic: g.tpicName, Partition: tp, Generation: cl.gen, Member: fmt.Sprintf("m%d", client), Offset: offset})
	case 5:
		g.invoke(client, &FetchCommitted{Group: "g", Topic: g.tpicName, Partition: tp})
	case 6:
		g.invoke(client, &Assign{Group: "g"})
	}
}

func (g *generator) applyRandom() {
	var live []*genPending
	for _, p := range g.pending {
		if !p.applied {
			live = append(live, p)
		}
	}
	if len(live) == 0 {
		return
	}
	g.apply(live[g.c.intn(len(live))])
}

// apply makes p take effect on the model now and computes its answer.
func (g *generator) apply(p *genPending) {
	p.applied = true
	op := g.rec.ops[p.id] // the generator runs on one goroutine
	switch in := op.Input.(type) {
	case *Produce:
		log := &g.logs[in.Partition]
		base := int64(len(*log))
		for _, r := range in.Records {
			*log = append(*log, genRecord{key: r.Key, value: r.Value, batchStart: base})
		}
		p.out = &ProduceResult{BaseOffset: base}
	case *Fetch:
		from := in.Offset
		poll := from < 0
		if poll {
			from = g.clients[p.client].pollNext[in.Partition]
		}
		n := int64(g.c.intn(g.cfg.maxFetch + 1))
		g.applyFetch(p, in.Partition, from, n, !poll && g.c.intn(2) == 0)
		if poll {
			out := p.out.(*FetchResult)
			tp, client := in.Partition, p.client
			if k := len(out.Records); k > 0 {
				next := out.Records[k-1].Offset + 1
				p.onOK = func() { g.clients[client].pollNext[tp] = next }
			}
		}
	case *ListOffsets:
		p.out = &ListOffsetsResult{Offset: int64(len(g.logs[in.Partition]))}
	case *Commit:
		if in.Generation >= 0 && in.Generation != g.gen {
			p.out = nil // rejected: ILLEGAL_GENERATION
			return
		}
		g.commits[in.Partition] = in.Offset
		p.out = &CommitResult{}
	case *FetchCommitted:
		p.out = &FetchCommittedResult{Offset: g.commits[in.Partition]}
	case *Assign:
		if g.gen == 0 || g.c.intn(2) == 0 {
			g.gen++
			owners := make([]int, g.cfg.partitions)
			for i := range owners {
				owners[i] = g.c.intn(g.cfg.clients)
			}
			g.owners[g.gen] = owners
		}
		out := &AssignResult{Member: fmt.Sprintf("m%d", p.client), Generation: g.gen}
		var mine []int32
		for tp, owner := range g.owners[g.gen] {
			if owner == p.client {
				out.Partitions = append(out.Partitions, TopicPartition{g.tpicName, int32(tp)})
				mine = append(mine, int32(tp))
			}
		}
		p.out = out
		client, gen := p.client, g.gen
		commits := slices.Clone(g.commits)
		p.onOK = func() {
			cl := &g.clients[client]
			cl.gen = gen
			clear(cl.pollNext)
			for _, tp := range mine {
				cl.pollNext[tp] = max(commits[tp], 0)
			}
		}
	default:
		panic(fmt.Sprintf("unknown input %T", in))
	}
}

// applyFetch answers a fetch of up to n records from offset from; with
// batchStart it starts at the beginning of the batch holding from, as a
// broker may.
func (g *generator) applyFetch(p *genPending, tp int32, from, n int64, batchStart bool) {
	log := g.logs[tp]
	hw := int64(len(log))
	out := &FetchResult{HighWatermark: hw}
	start := from
	if batchStart && from < hw {
		start = log[from].batchStart
	}
	for o := start; o < hw && o < from+n; o++ {
		out.Records = append(out.Records, FetchedRecord{Offset: o, Key: log[o].key, Value: log[o].value})
	}
	p.out = out
}

func (g *generator) finishRandom(drain bool) {
	var mine []*genPending
	for _, p := range g.pending {
		if !p.zombie {
			mine = append(mine, p)
		}
	}
	if len(mine) == 0 {
		return
	}
	p := mine[g.c.intn(len(mine))]
	roll := g.c.intn(100)
	switch {
	case roll < g.cfg.unknownPct:
		p.zombie = true
		g.clients[p.client].busy = false
		if err := g.rec.Abandon(p.id, g.now, "timeout"); err != nil {
			panic(err)
		}
		// An operation already applied, or one that never will, leaves the
		// pending list now; the rest apply later, after the client gave up.
		if p.applied || g.c.intn(2) == 0 {
			g.remove(p)
		}
	case !p.applied && roll < g.cfg.unknownPct+g.cfg.failPct:
		p.applied = true // never will
		g.remove(p)
		g.clients[p.client].busy = false
		if err := g.rec.Fail(p.id, g.now, "not applied"); err != nil {
			panic(err)
		}
	case !p.applied && drain:
		g.apply(p)
	case p.applied:
		g.finish(p)
	}
}

// finish returns an applied operation's answer to its client.
func (g *generator) finish(p *genPending) {
	g.remove(p)
	g.clients[p.client].busy = false
	var err error
	if p.out == nil {
		err = g.rec.Fail(p.id, g.now, "ILLEGAL_GENERATION")
	} else {
		err = g.rec.Complete(p.id, g.now, p.out)
		if p.onOK != nil {
			p.onOK()
		}
	}
	if err != nil {
		panic(err)
	}
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x7469646d61726b)) }
