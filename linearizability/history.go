package linearizability

import (
	"fmt"
	"math"
)

// Outcome says what a client learned about an operation.
type Outcome uint8

const (
	// OutcomeOK: the operation took effect exactly once, between its call
	// and its return, and Output holds what the system answered.
	OutcomeOK Outcome = iota + 1
	// OutcomeFailed: the operation definitely did not take effect (the
	// broker answered with an error that guarantees nothing was applied).
	OutcomeFailed
	// OutcomeUnknown: the client gave up (timeout, lost connection). The
	// operation may have taken effect at any time after its call, even long
	// after the client stopped waiting, or never.
	OutcomeUnknown
)

func (o Outcome) String() string {
	switch o {
	case OutcomeOK:
		return "ok"
	case OutcomeFailed:
		return "failed"
	case OutcomeUnknown:
		return "unknown"
	default:
		return fmt.Sprintf("outcome(%d)", uint8(o))
	}
}

// Kind names an operation kind; it is also the "kind" field of the JSON
// encoding.
type Kind string

const (
	KindProduce        Kind = "produce"
	KindFetch          Kind = "fetch"
	KindListOffsets    Kind = "list_offsets"
	KindCommit         Kind = "commit"
	KindFetchCommitted Kind = "fetch_committed"
	KindAssign         Kind = "assign"
)

// TopicPartition names one partition of one topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func (tp TopicPartition) String() string { return fmt.Sprintf("%s/%d", tp.Topic, tp.Partition) }

// Input is what a client asked for: one small struct per operation kind.
// The set is sealed; every switch over it panics on a kind it does not know.
type Input interface {
	inputKind() Kind
}

// Output is what the system answered to an operation whose outcome is
// OutcomeOK: one struct per operation kind, matching the Input's kind.
type Output interface {
	outputKind() Kind
}

// Record is one record sent by a producer. Value identifies the record in
// the whole history: workloads make every produced value unique ("p3-17"),
// and Validate rejects a history where two records share a value. An empty
// Key means "no key" (key-order checks skip such records).
type Record struct {
	Key   string
	Value string
}

// FetchedRecord is one record returned by a fetch, with the offset the
// broker reported for it.
type FetchedRecord struct {
	Offset int64
	Key    string
	Value  string
}

// Produce appends one batch of one or more records to a partition. If it
// succeeds the records occupy BaseOffset, BaseOffset+1, … in order.
type Produce struct {
	Topic     string
	Partition int32
	Records   []Record
}

// ProduceResult is the answer to a Produce: the batch's base offset.
type ProduceResult struct {
	BaseOffset int64
}

// Fetch reads a partition from Offset. Offset is -1 for a poll by a
// subscribed consumer whose client library chose the position itself (the
// checks then treat the client's successive polls of the partition as one
// sequence).
type Fetch struct {
	Topic     string
	Partition int32
	Offset    int64
}

// FetchResult is the answer to a Fetch: the records returned, in the order
// returned (they may start before the requested offset, because a broker
// returns whole batches, and may be fewer than exist), and the high
// watermark the broker reported (-1 if the client did not see it).
type FetchResult struct {
	Records       []FetchedRecord
	HighWatermark int64
}

// ListOffsets asks for a partition's latest offset (the high watermark: the
// offset the next committed record will get).
type ListOffsets struct {
	Topic     string
	Partition int32
}

// ListOffsetsResult is the answer to a ListOffsets.
type ListOffsetsResult struct {
	Offset int64
}

// Commit commits a consumer group's offset for one partition. Generation
// is the group generation the member believes in; -1 for a commit outside
// group management (Kafka's "simple consumer"), which generation fencing
// does not apply to.
type Commit struct {
	Group      string
	Topic      string
	Partition  int32
	Generation int32
	Member     string
	Offset     int64
}

// CommitResult is the (empty) answer to a successful Commit.
type CommitResult struct{}

// FetchCommitted reads a group's committed offset for one partition.
type FetchCommitted struct {
	Group     string
	Topic     string
	Partition int32
}

// FetchCommittedResult is the answer to a FetchCommitted: -1 if the group
// has no committed offset for the partition.
type FetchCommittedResult struct {
	Offset int64
}

// Assign records a consumer-group assignment event: a member joined Group
// and, when the operation completes, learned (from SyncGroup) its member id,
// the generation and the partitions it owns in that generation. Record the
// call before JoinGroup is sent if you can; a late call time only makes the
// checks more lenient.
type Assign struct {
	Group string
}

// AssignResult is the answer to an Assign.
type AssignResult struct {
	Member     string
	Generation int32
	Partitions []TopicPartition
}

func (*Produce) inputKind() Kind        { return KindProduce }
func (*Fetch) inputKind() Kind          { return KindFetch }
func (*ListOffsets) inputKind() Kind    { return KindListOffsets }
func (*Commit) inputKind() Kind         { return KindCommit }
func (*FetchCommitted) inputKind() Kind { return KindFetchCommitted }
func (*Assign) inputKind() Kind         { return KindAssign }

func (*ProduceResult) outputKind() Kind        { return KindProduce }
func (*FetchResult) outputKind() Kind          { return KindFetch }
func (*ListOffsetsResult) outputKind() Kind    { return KindListOffsets }
func (*CommitResult) outputKind() Kind         { return KindCommit }
func (*FetchCommittedResult) outputKind() Kind { return KindFetchCommitted }
func (*AssignResult) outputKind() Kind         { return KindAssign }

// Operation is one element of a history.
//
// Times are int64 in whatever unit the recorder used (virtual ticks in the
// simulator, nanoseconds from a monotonic clock in real-cluster tests); the
// checker only compares them. The interval [Call, Return] is closed: two
// operations that share an instant are concurrent. For an OutcomeUnknown
// operation Return is informational (when the client gave up) and the
// checker treats the operation as never returning.
type Operation struct {
	ID      int // position in History.Operations
	Client  int // the client (process) that issued it; >= 0
	Call    int64
	Return  int64
	Outcome Outcome
	Input   Input
	Output  Output // non-nil exactly when Outcome is OutcomeOK
	Error   string // optional: what the client saw when it failed or gave up
}

// Kind returns the operation's kind.
func (op *Operation) Kind() Kind { return op.Input.inputKind() }

// History is a recorded client history. Operations[i].ID == i.
type History struct {
	Operations []Operation
}

// maxTime bounds times so that the checker can place never-returning
// operations at maxTime+1 without overflow.
const maxTime = math.MaxInt64 - 1

// maxOffset bounds offsets and generations so that base+len never
// overflows. Kafka offsets are int64 but never come near this.
const maxOffset = 1 << 62

// Validate reports the first way h is not a well-formed history: ids that
// are not positions, outputs that do not match inputs or outcomes, times
// out of order, negative offsets, or one value produced twice. The checks
// assume a valid history; Check calls Validate first.
func (h *History) Validate() error {
	_, err := analyze(h)
	return err
}

func validateOperation(i int, op *Operation) error {
	if op.ID != i {
		return fmt.Errorf("id %d is not its position %d", op.ID, i)
	}
	if op.Client < 0 {
		return fmt.Errorf("negative client %d", op.Client)
	}
	if op.Input == nil {
		return fmt.Errorf("no input")
	}
	if op.Call < 0 || op.Call > maxTime {
		return fmt.Errorf("call time %d out of range", op.Call)
	}
	switch op.Outcome {
	case OutcomeOK:
		if op.Output == nil {
			return fmt.Errorf("ok without output")
		}
		if op.Output.outputKind() != op.Input.inputKind() {
			return fmt.Errorf("%s input with %s output", op.Input.inputKind(), op.Output.outputKind())
		}
		if op.Return < op.Call || op.Return > maxTime {
			return fmt.Errorf("return time %d before call %d or out of range", op.Return, op.Call)
		}
	case OutcomeFailed:
		if op.Output != nil {
			return fmt.Errorf("failed with an output")
		}
		if op.Return < op.Call || op.Return > maxTime {
			return fmt.Errorf("return time %d before call %d or out of range", op.Return, op.Call)
		}
	case OutcomeUnknown:
		if op.Output != nil {
			return fmt.Errorf("unknown outcome with an output")
		}
	default:
		return fmt.Errorf("invalid outcome %d", op.Outcome)
	}
	if err := validateInput(op.Input); err != nil {
		return err
	}
	if op.Output != nil {
		return validateOutput(op.Output)
	}
	return nil
}

func validatePartition(p int32) error {
	if p < 0 {
		return fmt.Errorf("negative partition %d", p)
	}
	return nil
}

func validateOffset(what string, o int64, min int64) error {
	if o < min || o >= maxOffset {
		return fmt.Errorf("%s %d out of range", what, o)
	}
	return nil
}

func validateInput(in Input) error {
	switch in := in.(type) {
	case *Produce:
		if in == nil {
			return fmt.Errorf("nil produce input")
		}
		if len(in.Records) == 0 {
			return fmt.Errorf("produce without records")
		}
		for _, r := range in.Records {
			if r.Value == "" {
				return fmt.Errorf("produce of an empty value")
			}
		}
		return validatePartition(in.Partition)
	case *Fetch:
		if in == nil {
			return fmt.Errorf("nil fetch input")
		}
		if err := validateOffset("fetch offset", in.Offset, -1); err != nil {
			return err
		}
		return validatePartition(in.Partition)
	case *ListOffsets:
		if in == nil {
			return fmt.Errorf("nil list_offsets input")
		}
		return validatePartition(in.Partition)
	case *Commit:
		if in == nil {
			return fmt.Errorf("nil commit input")
		}
		if in.Generation < -1 {
			return fmt.Errorf("generation %d out of range", in.Generation)
		}
		if err := validateOffset("commit offset", in.Offset, -1); err != nil {
			return err
		}
		return validatePartition(in.Partition)
	case *FetchCommitted:
		if in == nil {
			return fmt.Errorf("nil fetch_committed input")
		}
		return validatePartition(in.Partition)
	case *Assign:
		if in == nil {
			return fmt.Errorf("nil assign input")
		}
		return nil
	default:
		panic(fmt.Sprintf("linearizability: unknown input type %T", in))
	}
}

func validateOutput(out Output) error {
	switch out := out.(type) {
	case *ProduceResult:
		if out == nil {
			return fmt.Errorf("nil produce output")
		}
		return validateOffset("base offset", out.BaseOffset, 0)
	case *FetchResult:
		if out == nil {
			return fmt.Errorf("nil fetch output")
		}
		if err := validateOffset("high watermark", out.HighWatermark, -1); err != nil {
			return err
		}
		for _, r := range out.Records {
			if err := validateOffset("record offset", r.Offset, 0); err != nil {
				return err
			}
			if r.Value == "" {
				return fmt.Errorf("fetched an empty value at offset %d", r.Offset)
			}
		}
		return nil
	case *ListOffsetsResult:
		if out == nil {
			return fmt.Errorf("nil list_offsets output")
		}
		return validateOffset("listed offset", out.Offset, 0)
	case *CommitResult:
		if out == nil {
			return fmt.Errorf("nil commit output")
		}
		return nil
	case *FetchCommittedResult:
		if out == nil {
			return fmt.Errorf("nil fetch_committed output")
		}
		return validateOffset("committed offset", out.Offset, -1)
	case *AssignResult:
		if out == nil {
			return fmt.Errorf("nil assign output")
		}
		if out.Generation < 0 {
			return fmt.Errorf("assignment generation %d out of range", out.Generation)
		}
		if out.Member == "" {
			return fmt.Errorf("assignment without a member id")
		}
		for _, tp := range out.Partitions {
			if err := validatePartition(tp.Partition); err != nil {
				return err
			}
		}
		return nil
	default:
		panic(fmt.Sprintf("linearizability: unknown output type %T", out))
	}
}
