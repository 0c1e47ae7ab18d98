package linearizability

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// historyVersion is the version of the JSON encoding. It is the first field
// of every encoded history; DecodeHistory refuses any other.
const historyVersion = 1

// The JSON encoding is one object:
//
//	{"version":1,"operations":[
//	{"id":0,"client":1,"kind":"produce","call":10,"return":20,"outcome":"ok",
//	 "input":{"topic":"t","partition":0,"records":[{"key":"k","value":"p1-0"}]},
//	 "output":{"base_offset":0}},
//	...
//	]}
//
// Field names are snake_case; "input" and "output" take the shape of the
// operation's kind (see the wire* types below). "output" is present exactly
// for ok operations. In a fetch result a missing "high_watermark" means the
// client did not see one (-1).

type wireHistory struct {
	Version    int               `json:"version"`
	Operations []json.RawMessage `json:"operations"`
}

type wireOperation struct {
	ID      int             `json:"id"`
	Client  int             `json:"client"`
	Kind    Kind            `json:"kind"`
	Call    int64           `json:"call"`
	Return  int64           `json:"return,omitempty"`
	Outcome string          `json:"outcome"`
	Input   json.RawMessage `json:"input"`
	Output  json.RawMessage `json:"output,omitempty"`
	Error   string          `json:"error,omitempty"`
}

type wireRecord struct {
	Key   string `json:"key,omitempty"`
	Value string `json:"value"`
}

type wireFetchedRecord struct {
	Offset int64  `json:"offset"`
	Key    string `json:"key,omitempty"`
	Value  string `json:"value"`
}

type wireTopicPartition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}

type wireProduce struct {
	Topic     string       `json:"topic"`
	Partition int32        `json:"partition"`
	Records   []wireRecord `json:"records"`
}

type wireProduceResult struct {
	BaseOffset int64 `json:"base_offset"`
}

type wireFetch struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

type wireFetchResult struct {
	Records       []wireFetchedRecord `json:"records"`
	HighWatermark *int64              `json:"high_watermark,omitempty"`
}

type wireListOffsets struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}

type wireOffsetResult struct {
	Offset int64 `json:"offset"`
}

type wireCommit struct {
	Group      string `json:"group"`
	Topic      string `json:"topic"`
	Partition  int32  `json:"partition"`
	Generation int32  `json:"generation"`
	Member     string `json:"member,omitempty"`
	Offset     int64  `json:"offset"`
}

type wireCommitResult struct{}

type wireFetchCommitted struct {
	Group     string `json:"group"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}

type wireAssign struct {
	Group string `json:"group"`
}

type wireAssignResult struct {
	Member     string               `json:"member"`
	Generation int32                `json:"generation"`
	Partitions []wireTopicPartition `json:"partitions"`
}

// EncodeHistory returns h's JSON encoding, one operation per line so that
// saved histories diff and read well. h must be valid.
func EncodeHistory(h History) ([]byte, error) {
	if err := h.Validate(); err != nil {
		return nil, fmt.Errorf("encode history: %w", err)
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "{\"version\":%d,\"operations\":[", historyVersion)
	for i := range h.Operations {
		line, err := encodeOperation(&h.Operations[i])
		if err != nil {
			return nil, fmt.Errorf("encode history: operation %d: %w", i, err)
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
		buf.Write(line)
	}
	buf.WriteString("\n]}\n")
	return buf.Bytes(), nil
}

// DecodeHistory parses a history encoded by EncodeHistory (or written by
// hand in the same format) and validates it. It never panics: any
// malformed input is an error. Unknown fields are errors, so a typo in a
// hand-written history does not silently change its meaning.
func DecodeHistory(data []byte) (History, error) {
	var w wireHistory
	if err := decodeStrict(data, &w); err != nil {
		return History{}, fmt.Errorf("decode history: %w", err)
	}
	if w.Version != historyVersion {
		return History{}, fmt.Errorf("decode history: version %d, want %d", w.Version, historyVersion)
	}
	h := History{Operations: make([]Operation, 0, len(w.Operations))}
	for i, raw := range w.Operations {
		op, err := decodeOperation(raw)
		if err != nil {
			return History{}, fmt.Errorf("decode history: operation %d: %w", i, err)
		}
		h.Operations = append(h.Operations, op)
	}
	if len(h.Operations) == 0 {
		h.Operations = nil
	}
	if err := h.Validate(); err != nil {
		return History{}, fmt.Errorf("decode history: %w", err)
	}
	return h, nil
}

// MarshalJSON encodes h as EncodeHistory does.
func (h History) MarshalJSON() ([]byte, error) { return EncodeHistory(h) }

// UnmarshalJSON decodes and validates h as DecodeHistory does.
func (h *History) UnmarshalJSON(data []byte) error {
	d, err := DecodeHistory(data)
	if err != nil {
		return err
	}
	*h = d
	return nil
}

// decodeStrict decodes exactly one JSON value into v, refusing unknown
// fields and trailing data.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("trailing data after JSON value")
	}
	return nil
}

func parseOutcome(s string) (Outcome, error) {
	switch s {
	case "ok":
		return OutcomeOK, nil
	case "failed":
		return OutcomeFailed, nil
	case "unknown":
		return OutcomeUnknown, nil
	default:
		return 0, fmt.Errorf("unknown outcome %q", s)
	}
}

func isNull(raw json.RawMessage) bool {
	return len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

func decodeOperation(raw json.RawMessage) (Operation, error) {
	var w wireOperation
	if err := decodeStrict(raw, &w); err != nil {
		return Operation{}, err
	}
	outcome, err := parseOutcome(w.Outcome)
	if err != nil {
		return Operation{}, err
	}
	op := Operation{ID: w.ID, Client: w.Client, Call: w.Call, Return: w.Return, Outcome: outcome, Error: w.Error}
	if isNull(w.Input) {
		return Operation{}, fmt.Errorf("no input")
	}
	if op.Input, err = decodeInput(w.Kind, w.Input); err != nil {
		return Operation{}, fmt.Errorf("%s input: %w", w.Kind, err)
	}
	if !isNull(w.Output) {
		if op.Output, err = decodeOutput(w.Kind, w.Output); err != nil {
			return Operation{}, fmt.Errorf("%s output: %w", w.Kind, err)
		}
	}
	return op, nil
}

func decodeInput(kind Kind, raw json.RawMessage) (Input, error) {
	switch kind {
	case KindProduce:
		var w wireProduce
		if err := decodeStrict(raw, &w); err != nil {
			return nil, err
		}
		in := &Produce{Topic: w.Topic, Partition: w.Partition}
		for _, r := range w.Records {
			in.Records = append(in.Records, Record(r))
		}
		return in, nil
	case KindFetch:
		var w wireFetch
		if err := decodeStrict(raw, &w); err != nil {
			return nil, err
		}
		return &Fetch{Topic: w.Topic, Partition: w.Partition, Offset: w.Offset}, nil
	case KindListOffsets:
		var w wireListOffsets
		if err := decodeStrict(raw, &w); err != nil {
			return nil, err
		}
		return &ListOffsets{Topic: w.Topic, Partition: w.Partition}, nil
	case KindCommit:
		var w wireCommit
		if err := decodeStrict(raw, &w); err != nil {
			return nil, err
		}
		return &Commit{Group: w.Group, Topic: w.Topic, Partition: w.Partition, Generation: w.Generation, Member: w.Member, Offset: w.Offset}, nil
	case KindFetchCommitted:
		var w wireFetchCommitted
		if err := decodeStrict(raw, &w); err != nil {
			return nil, err
		}
		return &FetchCommitted{Group: w.Group, Topic: w.Topic, Partition: w.Partition}, nil
	case KindAssign:
		var w wireAssign
		if err := decodeStrict(raw, &w); err != nil {
			return nil, err
		}
		return &Assign{Group: w.Group}, nil
	default:
		return nil, fmt.Errorf("unknown kind %q", kind)
	}
}

func decodeOutput(kind Kind, raw json.RawMessage) (Output, error) {
	switch kind {
	case KindProduce:
		var w wireProduceResult
		if err := decodeStrict(raw, &w); err != nil {
			return nil, err
		}
		return &ProduceResult{BaseOffset: w.BaseOffset}, nil
	case KindFetch:
		var w wireFetchResult
		if err := decodeStrict(raw, &w); err != nil {
			return nil, err
		}
		out := &FetchResult{HighWatermark: -1}
		if w.HighWatermark != nil {
			out.HighWatermark = *w.HighWatermark
		}
		for _, r := range w.Records {
			out.Records = append(out.Records, FetchedRecord(r))
		}
		return out, nil
	case KindListOffsets:
		var w wireOffsetResult
		if err := decodeStrict(raw, &w); err != nil {
			return nil, err
		}
		return &ListOffsetsResult{Offset: w.Offset}, nil
	case KindCommit:
		var w wireCommitResult
		if err := decodeStrict(raw, &w); err != nil {
			return nil, err
		}
		return &CommitResult{}, nil
	case KindFetchCommitted:
		var w wireOffsetResult
		if err := decodeStrict(raw, &w); err != nil {
			return nil, err
		}
		return &FetchCommittedResult{Offset: w.Offset}, nil
	case KindAssign:
		var w wireAssignResult
		if err := decodeStrict(raw, &w); err != nil {
			return nil, err
		}
		out := &AssignResult{Member: w.Member, Generation: w.Generation}
		for _, tp := range w.Partitions {
			out.Partitions = append(out.Partitions, TopicPartition(tp))
		}
		return out, nil
	default:
		return nil, fmt.Errorf("unknown kind %q", kind)
	}
}

func encodeOperation(op *Operation) ([]byte, error) {
	w := wireOperation{
		ID:      op.ID,
		Client:  op.Client,
		Kind:    op.Input.inputKind(),
		Call:    op.Call,
		Return:  op.Return,
		Outcome: op.Outcome.String(),
		Error:   op.Error,
	}
	var err error
	if w.Input, err = json.Marshal(wireInput(op.Input)); err != nil {
		return nil, err
	}
	if op.Output != nil {
		if w.Output, err = json.Marshal(wireOutput(op.Output)); err != nil {
			return nil, err
		}
	}
	return json.Marshal(w)
}

func wireInput(in Input) any {
	switch in := in.(type) {
	case *Produce:
		w := wireProduce{Topic: in.Topic, Partition: in.Partition}
		for _, r := range in.Records {
			w.Records = append(w.Records, wireRecord(r))
		}
		return w
	case *Fetch:
		return wireFetch{Topic: in.Topic, Partition: in.Partition, Offset: in.Offset}
	case *ListOffsets:
		return wireListOffsets{Topic: in.Topic, Partition: in.Partition}
	case *Commit:
		return wireCommit{Group: in.Group, Topic: in.Topic, Partition: in.Partition, Generation: in.Generation, Member: in.Member, Offset: in.Offset}
	case *FetchCommitted:
		return wireFetchCommitted{Group: in.Group, Topic: in.Topic, Partition: in.Partition}
	case *Assign:
		return wireAssign{Group: in.Group}
	default:
		panic(fmt.Sprintf("linearizability: unknown input type %T", in))
	}
}

func wireOutput(out Output) any {
	switch out := out.(type) {
	case *ProduceResult:
		return wireProduceResult{BaseOffset: out.BaseOffset}
	case *FetchResult:
		w := wireFetchResult{Records: []wireFetchedRecord{}}
		if out.HighWatermark >= 0 {
			hw := out.HighWatermark
			w.HighWatermark = &hw
		}
		for _, r := range out.Records {
			w.Records = append(w.Records, wireFetchedRecord(r))
		}
		return w
	case *ListOffsetsResult:
		return wireOffsetResult{Offset: out.Offset}
	case *CommitResult:
		return wireCommitResult{}
	case *FetchCommittedResult:
		return wireOffsetResult{Offset: out.Offset}
	case *AssignResult:
		w := wireAssignResult{Member: out.Member, Generation: out.Generation, Partitions: []wireTopicPartition{}}
		for _, tp := range out.Partitions {
			w.Partitions = append(w.Partitions, wireTopicPartition(tp))
		}
		return w
	default:
		panic(fmt.Sprintf("linearizability: unknown output type %T", out))
	}
}
