package core

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidemark/tidemark/core/codec"
)

func TestErrorCodecCapsReasonsOnWrite(t *testing.T) {
	for _, e := range []*Error{
		nil,
		{Code: UnknownMemberID, Reason: "short"},
		{Code: UnknownMemberID, Reason: strings.Repeat("\x00", 300_000)},    // a hostile member id quoted in a reason
		{Code: InvalidRequest, Reason: strings.Repeat("é", MaxReasonBytes)}, // a cut inside a rune
	} {
		w := codec.NewWriter(0)
		WriteError(w, e)
		r := codec.NewReader(w.Bytes())
		got := ReadError(r)
		if err := r.Finish(); err != nil {
			t.Fatalf("%v: decode: %v", e, err)
		}
		if (e == nil) != (got == nil) {
			t.Fatalf("presence: wrote %v, read %v", e, got)
		}
		if e == nil {
			continue
		}
		if got.Code != e.Code || len(got.Reason) > MaxReasonBytes || !strings.HasPrefix(e.Reason, got.Reason) || !utf8.ValidString(got.Reason) {
			t.Fatalf("wrote code %d reason of %d bytes, read code %d reason of %d bytes", e.Code, len(e.Reason), got.Code, len(got.Reason))
		}
	}
}

func TestErrorCodecRejectsPresentNone(t *testing.T) {
	w := codec.NewWriter(0)
	w.Bool(true)
	w.Int16(0)
	w.String("")
	r := codec.NewReader(w.Bytes())
	if ReadError(r) != nil || r.Finish() == nil {
		t.Fatal("an error with code 0 decoded")
	}
}
