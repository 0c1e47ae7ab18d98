package codec

import (
	"bytes"
	"testing"

	"pgregory.net/rapid"
)

func TestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		u8 := rapid.Uint8().Draw(t, "u8")
		b := rapid.Bool().Draw(t, "b")
		i16 := rapid.Int16().Draw(t, "i16")
		i32 := rapid.Int32().Draw(t, "i32")
		i64 := rapid.Int64().Draw(t, "i64")
		bs := rapid.SliceOf(rapid.Byte()).Draw(t, "bs")
		ss := rapid.SliceOf(rapid.String()).Draw(t, "ss")

		w := NewWriter(0)
		w.Uint8(u8)
		w.Bool(b)
		w.Int16(i16)
		w.Int32(i32)
		w.Int64(i64)
		w.ByteString(bs)
		w.Strings(ss)

		r := NewReader(w.Bytes())
		if got := r.Uint8(); got != u8 {
			t.Fatalf("uint8 %d != %d", got, u8)
		}
		if got := r.Bool(); got != b {
			t.Fatalf("bool %v != %v", got, b)
		}
		if got := r.Int16(); got != i16 {
			t.Fatalf("int16 %d != %d", got, i16)
		}
		if got := r.Int32(); got != i32 {
			t.Fatalf("int32 %d != %d", got, i32)
		}
		if got := r.Int64(); got != i64 {
			t.Fatalf("int64 %d != %d", got, i64)
		}
		if got := r.ByteString(MaxBytes); !bytes.Equal(got, bs) {
			t.Fatalf("bytes %x != %x", got, bs)
		}
		got := r.Strings(1<<20, MaxBytes)
		if len(got) != len(ss) {
			t.Fatalf("strings %q != %q", got, ss)
		}
		for i := range ss {
			if got[i] != ss[i] {
				t.Fatalf("strings %q != %q", got, ss)
			}
		}
		if err := r.Finish(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestTruncationIsStickyAndNeverPanics(t *testing.T) {
	w := NewWriter(0)
	w.Int64(7)
	w.String("hello")
	full := w.Bytes()
	for n := 0; n < len(full); n++ {
		r := NewReader(full[:n])
		_ = r.Int64()
		_ = r.String(100)
		if r.Finish() == nil {
			t.Fatalf("prefix of %d bytes decoded without error", n)
		}
	}
}

func TestBoundsRejectHostileLengths(t *testing.T) {
	w := NewWriter(0)
	w.Uint32(1 << 31) // a length far beyond the input
	if r := NewReader(w.Bytes()); r.ByteString(MaxBytes) != nil || r.Err() == nil {
		t.Fatal("over-bound byte string accepted")
	}
	w = NewWriter(0)
	w.Count(1000) // 1000 elements of >= 4 bytes in 0 remaining bytes
	if r := NewReader(w.Bytes()); r.Count(1<<20, 4) != 0 || r.Err() == nil {
		t.Fatal("count larger than remaining input accepted")
	}
	if r := NewReader([]byte{2}); r.Bool() || r.Err() == nil {
		t.Fatal("bool byte 2 accepted")
	}
	if err := NewReader([]byte{1}).Finish(); err == nil {
		t.Fatal("trailing byte accepted")
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte{0, 0, 0, 3, 'a', 'b', 'c'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(b)
		_ = r.Strings(1<<10, 1<<10)
		_ = r.Bool()
		_ = r.ByteString(1 << 10)
		_ = r.Count(1<<10, 8)
		_ = r.Finish()
	})
}
