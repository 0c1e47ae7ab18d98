package partition

import (
	"fmt"
	"math"

	"github.com/tidemark/tidemark/core/batch"
	"github.com/tidemark/tidemark/core/codec"
)

// Meta is all of a Log's state that is not in its Store: the offsets, the
// Store's size, the chained hash of appends and the idempotent producers.
// Log.Meta returns a deep copy, so a Meta stays valid however the Log
// changes afterwards (dragonboat's SaveSnapshot runs concurrently with later
// Applies). A runtime persists it with EncodeMeta in the same write batch
// as the Store changes it describes, and reopens the Log with Open.
type Meta struct {
	LogStartOffset int64
	LogEndOffset   int64
	HighWatermark  int64
	// StoredBytes and BatchCount describe what the Store holds.
	StoredBytes int64
	BatchCount  int64
	// ChainHash folds in every batch ever appended (see StateHash).
	ChainHash uint64
	// Producers is sorted by ID.
	Producers []ProducerMeta
}

// ProducerMeta is one idempotent producer's state.
type ProducerMeta struct {
	ID    int64
	Epoch int16
	// LastTimestampMs is the NowMs of the producer's last append.
	LastTimestampMs int64
	// Batches are the producer's last appended batches in this epoch,
	// oldest first: 1 to MaxCachedBatches of them, with consecutive
	// sequence numbers.
	Batches []ProducerBatch
}

// ProducerBatch identifies an appended idempotent batch: its sequence range
// and where it went.
type ProducerBatch struct {
	FirstSeq   int32
	LastSeq    int32
	BaseOffset int64
	LastOffset int64
}

// MaxCachedBatches is how many recent batches per producer are remembered
// for deduplication: Kafka's limit on in-flight requests per idempotent
// producer connection (max.in.flight.requests.per.connection <= 5).
const MaxCachedBatches = 5

const metaVersion = 1

// maxDecodedProducers bounds the producer count DecodeMeta accepts,
// independently of Config (a Meta is decoded before anyone checks it
// against a Config).
const maxDecodedProducers = 1 << 20

// producerMinBytes is the smallest encoded producer: id, epoch, last
// timestamp, batch count and one batch.
const producerMinBytes = 8 + 2 + 8 + 4 + batchEntryBytes

const batchEntryBytes = 4 + 4 + 8 + 8

// EncodeMeta encodes m (version byte first). Its size is about
// 45 + 130 bytes per producer.
func EncodeMeta(m Meta) []byte {
	w := codec.NewWriter(1 + 6*8 + 4 + len(m.Producers)*(producerMinBytes+4*batchEntryBytes))
	w.Uint8(metaVersion)
	w.Int64(m.LogStartOffset)
	w.Int64(m.LogEndOffset)
	w.Int64(m.HighWatermark)
	w.Int64(m.StoredBytes)
	w.Int64(m.BatchCount)
	w.Uint64(m.ChainHash)
	w.Count(len(m.Producers))
	for _, p := range m.Producers {
		w.Int64(p.ID)
		w.Int16(p.Epoch)
		w.Int64(p.LastTimestampMs)
		w.Count(len(p.Batches))
		for _, b := range p.Batches {
			w.Int32(b.FirstSeq)
			w.Int32(b.LastSeq)
			w.Int64(b.BaseOffset)
			w.Int64(b.LastOffset)
		}
	}
	return w.Bytes()
}

// DecodeMeta decodes what EncodeMeta wrote and checks that it describes a
// state a Log can be in (see validateMeta). It never panics: the bytes may
// come from a damaged disk or a peer's snapshot.
func DecodeMeta(b []byte) (Meta, error) {
	r := codec.NewReader(b)
	if v := r.Uint8(); r.Err() == nil && v != metaVersion {
		return Meta{}, fmt.Errorf("partition meta: unknown version %d", v)
	}
	m := Meta{
		LogStartOffset: r.Int64(),
		LogEndOffset:   r.Int64(),
		HighWatermark:  r.Int64(),
		StoredBytes:    r.Int64(),
		BatchCount:     r.Int64(),
		ChainHash:      r.Uint64(),
	}
	if n := r.Count(maxDecodedProducers, producerMinBytes); n > 0 {
		m.Producers = make([]ProducerMeta, n)
		for i := range m.Producers {
			p := &m.Producers[i]
			p.ID = r.Int64()
			p.Epoch = r.Int16()
			p.LastTimestampMs = r.Int64()
			nb := r.Count(MaxCachedBatches, batchEntryBytes)
			p.Batches = make([]ProducerBatch, nb)
			for j := range p.Batches {
				p.Batches[j] = ProducerBatch{FirstSeq: r.Int32(), LastSeq: r.Int32(), BaseOffset: r.Int64(), LastOffset: r.Int64()}
			}
		}
	}
	if err := r.Finish(); err != nil {
		return Meta{}, fmt.Errorf("partition meta: %w", err)
	}
	if err := validateMeta(m); err != nil {
		return Meta{}, fmt.Errorf("partition meta: %w", err)
	}
	return m, nil
}

// validateMeta checks every rule a Log's Meta obeys on its own (without the
// Store): the offset order, the Store size fields, and the producer table.
func validateMeta(m Meta) error {
	if !(0 <= m.LogStartOffset && m.LogStartOffset <= m.HighWatermark && m.HighWatermark <= m.LogEndOffset) {
		return fmt.Errorf("offsets out of order: log start %d, high watermark %d, log end %d",
			m.LogStartOffset, m.HighWatermark, m.LogEndOffset)
	}
	if m.BatchCount < 0 || m.StoredBytes < 0 {
		return fmt.Errorf("negative store size: %d batches, %d bytes", m.BatchCount, m.StoredBytes)
	}
	if (m.BatchCount == 0) != (m.LogStartOffset == m.LogEndOffset) {
		return fmt.Errorf("%d stored batches for log start %d and log end %d", m.BatchCount, m.LogStartOffset, m.LogEndOffset)
	}
	if m.BatchCount > math.MaxInt64/batch.HeaderSize || m.StoredBytes < m.BatchCount*batch.HeaderSize {
		return fmt.Errorf("%d bytes cannot hold %d batches", m.StoredBytes, m.BatchCount)
	}
	if m.BatchCount > m.LogEndOffset-m.LogStartOffset {
		// Each batch holds at least one record at or after the log start
		// offset (only the first may also hold earlier ones).
		return fmt.Errorf("%d batches for offsets [%d, %d)", m.BatchCount, m.LogStartOffset, m.LogEndOffset)
	}
	for i, p := range m.Producers {
		if p.ID < 0 || p.Epoch < 0 {
			return fmt.Errorf("producer %d epoch %d: negative", p.ID, p.Epoch)
		}
		if i > 0 && m.Producers[i-1].ID >= p.ID {
			return fmt.Errorf("producers not sorted by id: %d before %d", m.Producers[i-1].ID, p.ID)
		}
		if len(p.Batches) < 1 || len(p.Batches) > MaxCachedBatches {
			return fmt.Errorf("producer %d has %d cached batches", p.ID, len(p.Batches))
		}
		for j, b := range p.Batches {
			if err := validateProducerBatch(b, m.LogEndOffset); err != nil {
				return fmt.Errorf("producer %d batch %d: %w", p.ID, j, err)
			}
			if j > 0 {
				prev := p.Batches[j-1]
				if b.BaseOffset <= prev.LastOffset {
					return fmt.Errorf("producer %d batch %d at offset %d does not follow offset %d", p.ID, j, b.BaseOffset, prev.LastOffset)
				}
				if b.FirstSeq != batch.IncrementSequence(prev.LastSeq, 1) {
					return fmt.Errorf("producer %d batch %d sequence %d does not follow %d", p.ID, j, b.FirstSeq, prev.LastSeq)
				}
			}
		}
	}
	return nil
}

func validateProducerBatch(b ProducerBatch, logEnd int64) error {
	if !(0 <= b.BaseOffset && b.BaseOffset <= b.LastOffset && b.LastOffset < logEnd) {
		return fmt.Errorf("offsets [%d, %d] outside the log's [0, %d)", b.BaseOffset, b.LastOffset, logEnd)
	}
	if b.LastOffset-b.BaseOffset > math.MaxInt32-1 {
		return fmt.Errorf("offsets [%d, %d] span more than a batch can", b.BaseOffset, b.LastOffset)
	}
	if b.FirstSeq < 0 || b.LastSeq != batch.IncrementSequence(b.FirstSeq, int32(b.LastOffset-b.BaseOffset)) {
		return fmt.Errorf("sequence range [%d, %d] does not match offsets [%d, %d]", b.FirstSeq, b.LastSeq, b.BaseOffset, b.LastOffset)
	}
	return nil
}
