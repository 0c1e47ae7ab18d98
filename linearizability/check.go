package linearizability

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"
)

// AnomalyKind names one way a history breaks the system's promises. The
// names are stable: corpus files and failure reports use them.
type AnomalyKind string

// Anomalies found by the linear-time checks (checks.go).
const (
	// An acknowledged value was never read although reads passed over its
	// offset (or, with Config.ReadersCoverLog, although some fetch read a
	// higher offset of its partition).
	LostWrite AnomalyKind = "lost-write"
	// One value was found at two offsets (by acknowledgements or reads).
	Duplicate AnomalyKind = "duplicate"
	// Two values were found at one offset.
	InconsistentOffsets AnomalyKind = "inconsistent-offsets"
	// The records of one produced batch were not found at consecutive
	// offsets in batch order.
	BatchSplit AnomalyKind = "batch-split"
	// A fetch returned a value no produce in the history wrote to that
	// partition.
	PhantomValue AnomalyKind = "phantom-value"
	// A fetch returned a value whose produce definitely failed.
	FailedWriteVisible AnomalyKind = "failed-write-visible"
	// A fetch returned a value before the produce that wrote it was called.
	FutureRead AnomalyKind = "future-read"
	// A fetch returned a record at or above the high watermark it reported.
	ReadPastHighWatermark AnomalyKind = "read-past-hw"
	// A client's successive acknowledged produces to one partition did not
	// get increasing offsets in the order it sent them.
	NonmonotonicSend AnomalyKind = "nonmonotonic-send"
	// Offsets went backwards or repeated within a fetch or along a
	// consumer's poll sequence.
	NonmonotonicPoll AnomalyKind = "nonmonotonic-poll"
	// A fetch or a poll sequence skipped offsets.
	PollSkip AnomalyKind = "poll-skip"
	// Two values with one key were stored in the opposite order to the
	// real-time order of their produces.
	KeyOrder AnomalyKind = "key-order"
	// Two members owned one partition in one generation of a group.
	GroupOwnership AnomalyKind = "group-ownership"
	// A commit at an older generation was accepted although it was called
	// after a newer generation of the group had been observed.
	StaleCommit AnomalyKind = "stale-commit"
)

// Anomalies found by the porcupine models (models.go).
const (
	// porcupine found no linearization of a partition's produces, fetches
	// and offset listings against the log model.
	LogNotLinearizable AnomalyKind = "log-not-linearizable"
	// porcupine found no linearization of a group partition's commits and
	// committed-offset fetches against the committed-offset model.
	OffsetsNotLinearizable AnomalyKind = "offsets-not-linearizable"
	// porcupine did not decide a sub-history: it hit Config.ModelTimeout,
	// or the sub-history has more than Config.MaxModelOperations. Counted
	// as a failure, never as a pass.
	ModelUndecided AnomalyKind = "model-undecided"
)

// AnomalyKinds lists every kind in the order results are sorted by.
var AnomalyKinds = []AnomalyKind{
	LostWrite, Duplicate, InconsistentOffsets, BatchSplit, PhantomValue,
	FailedWriteVisible, FutureRead, ReadPastHighWatermark, NonmonotonicSend,
	NonmonotonicPoll, PollSkip, KeyOrder, GroupOwnership, StaleCommit,
	LogNotLinearizable, OffsetsNotLinearizable, ModelUndecided,
}

func kindRank(k AnomalyKind) int {
	if i := slices.Index(AnomalyKinds, k); i >= 0 {
		return i
	}
	panic(fmt.Sprintf("linearizability: unknown anomaly kind %q", k))
}

// Anomaly is one broken promise, with the operations that show it.
type Anomaly struct {
	Kind AnomalyKind
	// Ops are the ids of the operations involved, most relevant first.
	Ops []int
	// Partition, Group, Offset and Value locate the anomaly when they
	// apply; Offset is -1 and the others empty when they do not.
	Partition TopicPartition
	Group     string
	Offset    int64
	Value     string
	// Message is one line that says what happened in terms of the ops.
	Message string
	// VisualizationPath is porcupine's HTML visualisation of the failing
	// sub-history, for model anomalies when Config.VisualizationDir is set.
	VisualizationPath string
}

func (a *Anomaly) String() string {
	s := fmt.Sprintf("%s: %s (ops %v)", a.Kind, a.Message, a.Ops)
	if a.VisualizationPath != "" {
		s += " visualization: " + a.VisualizationPath
	}
	return s
}

// Config bounds a check. The zero Config is usable.
type Config struct {
	// ModelTimeout bounds porcupine's search on each sub-history (one
	// topic-partition of the log model, or one group-partition of the
	// committed-offset model). 0 means DefaultModelTimeout. Hitting it is
	// the ModelUndecided anomaly. Because it reads the wall clock it is the
	// only part of a check whose verdict can depend on machine load: keep
	// it far above the expected running time.
	ModelTimeout time.Duration
	// MaxModelOperations bounds the operations of one sub-history that
	// porcupine is given. porcupine's cache keeps a bitset of the whole
	// sub-history per state it visits, so memory grows with the square of
	// its size (about n*n/8 bytes when nothing backtracks: 50 MB at
	// 20,000). A larger sub-history is not checked and is reported as
	// ModelUndecided. 0 means DefaultMaxModelOperations.
	MaxModelOperations int
	// ModelWorkers is how many sub-histories are checked at once. 0 means
	// GOMAXPROCS.
	ModelWorkers int
	// VisualizationDir, if not empty, is an existing directory where
	// porcupine's HTML visualisation of every failing sub-history is
	// written; the path is put in the anomaly.
	VisualizationDir string
	// MaxAnomaliesPerKind bounds how many anomalies of one kind a Result
	// lists (a systematic bug can produce one per record); the rest are
	// only counted in Result.Suppressed. 0 means
	// DefaultMaxAnomaliesPerKind.
	MaxAnomaliesPerKind int
	// ReadersCoverLog declares that the workload's readers together read
	// every offset of a partition below the highest offset any of them
	// read (Jepsen's assumption: consumers start at the log start or at a
	// committed offset earlier reads covered, and never seek forward).
	// With it, lost-write also reports acknowledged values nobody read
	// below that highest offset; without it, only those a fetch or poll
	// sequence passed over. Leave it off for workloads that fetch at
	// arbitrary offsets: it would report false lost writes.
	ReadersCoverLog bool
	// StaleReads checks reads against docs/guarantees.md's promise instead
	// of linearizability: a fetch (or list offsets) may return a committed
	// prefix that was current at some instant before it returned, as a
	// leader cut off from its majority serves until CheckQuorum deposes
	// it. Off (the default), the log model requires the reported high
	// watermark to equal the committed length at some instant during the
	// read. The simulator reads through a ReadIndex round and checks with
	// it off; a real-cluster test of the production read path (raftsm
	// serves from the applied state) must turn it on.
	StaleReads bool
}

const (
	DefaultModelTimeout        = 60 * time.Second
	DefaultMaxModelOperations  = 20_000
	DefaultMaxAnomaliesPerKind = 20
)

func (c Config) withDefaults() Config {
	if c.ModelTimeout <= 0 {
		c.ModelTimeout = DefaultModelTimeout
	}
	if c.MaxModelOperations <= 0 {
		c.MaxModelOperations = DefaultMaxModelOperations
	}
	if c.ModelWorkers <= 0 {
		c.ModelWorkers = runtime.GOMAXPROCS(0)
	}
	if c.MaxAnomaliesPerKind <= 0 {
		c.MaxAnomaliesPerKind = DefaultMaxAnomaliesPerKind
	}
	return c
}

// Result is the verdict on a history.
type Result struct {
	// Anomalies, sorted by kind (in AnomalyKinds order), then by their
	// first operation.
	Anomalies []Anomaly
	// Suppressed counts anomalies found beyond Config.MaxAnomaliesPerKind,
	// per kind.
	Suppressed map[AnomalyKind]int
	// ModelChecks is how many sub-histories porcupine checked.
	ModelChecks int
}

// OK reports whether the history kept every promise checked.
func (r *Result) OK() bool { return len(r.Anomalies) == 0 && len(r.Suppressed) == 0 }

// Kinds returns the distinct kinds found, in AnomalyKinds order.
func (r *Result) Kinds() []AnomalyKind {
	var out []AnomalyKind
	for _, k := range AnomalyKinds {
		if r.Suppressed[k] > 0 || slices.ContainsFunc(r.Anomalies, func(a Anomaly) bool { return a.Kind == k }) {
			out = append(out, k)
		}
	}
	return out
}

// String summarises the result, one anomaly a line.
func (r *Result) String() string {
	if r.OK() {
		return "ok"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d anomalies", len(r.Anomalies))
	for _, k := range AnomalyKinds {
		if n := r.Suppressed[k]; n > 0 {
			fmt.Fprintf(&b, ", %d more %s not listed", n, k)
		}
	}
	for i := range r.Anomalies {
		b.WriteString("\n  ")
		b.WriteString(r.Anomalies[i].String())
	}
	return b.String()
}

// Check runs every check on h: the linear-time checks and the porcupine
// models. It returns an error only if h is not a valid history (see
// Validate) or a visualisation could not be written; broken promises are
// anomalies in the Result.
func Check(h History, cfg Config) (Result, error) {
	return check(h, cfg, true, true)
}

// CheckLinear runs only the linear-time checks.
func CheckLinear(h History, cfg Config) (Result, error) {
	return check(h, cfg, true, false)
}

// CheckModels runs only the porcupine models.
func CheckModels(h History, cfg Config) (Result, error) {
	return check(h, cfg, false, true)
}

func check(h History, cfg Config, linear, models bool) (Result, error) {
	cfg = cfg.withDefaults()
	a, err := analyze(&h) // validates h
	if err != nil {
		return Result{}, err
	}
	col := newCollector(cfg.MaxAnomaliesPerKind)
	// The models need the placements even when only they run; the
	// placement anomalies are then dropped.
	placeCol := col
	if !linear {
		placeCol = &collector{discard: true}
	}
	a.place(placeCol)
	if linear {
		a.linearChecks(col, cfg.ReadersCoverLog)
	}
	var res Result
	if models {
		n, err := a.modelChecks(col, cfg)
		if err != nil {
			return Result{}, err
		}
		res.ModelChecks = n
	}
	res.Anomalies, res.Suppressed = col.result()
	return res, nil
}

// collector gathers anomalies, keeping at most max of each kind.
type collector struct {
	max        int
	list       []Anomaly
	count      map[AnomalyKind]int
	suppressed map[AnomalyKind]int
	discard    bool
}

func newCollector(max int) *collector {
	return &collector{max: max, count: make(map[AnomalyKind]int), suppressed: make(map[AnomalyKind]int)}
}

func (c *collector) add(a Anomaly) {
	if c.discard {
		return
	}
	if c.count[a.Kind] >= c.max {
		c.suppressed[a.Kind]++
		return
	}
	c.count[a.Kind]++
	c.list = append(c.list, a)
}

func (c *collector) result() ([]Anomaly, map[AnomalyKind]int) {
	list := slices.Clone(c.list)
	slices.SortStableFunc(list, func(x, y Anomaly) int {
		if d := kindRank(x.Kind) - kindRank(y.Kind); d != 0 {
			return d
		}
		return firstOp(x) - firstOp(y)
	})
	var sup map[AnomalyKind]int
	if len(c.suppressed) > 0 {
		sup = c.suppressed
	}
	return list, sup
}

func firstOp(a Anomaly) int {
	if len(a.Ops) == 0 {
		return -1
	}
	return a.Ops[0]
}
