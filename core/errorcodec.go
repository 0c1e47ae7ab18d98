package core

import (
	"errors"
	"unicode/utf8"

	"github.com/tidemark/tidemark/core/codec"
)

// MaxReasonBytes bounds an error's reason in every encoding. WriteError cuts
// a longer reason (at a rune boundary), so whatever a state machine returns
// encodes into something ReadError accepts: a reason that quotes a client's
// oversized input cannot make a result undecodable.
const MaxReasonBytes = 4096

// WriteError encodes an optional error: a presence byte, then the code and
// the reason.
func WriteError(w *codec.Writer, e *Error) {
	w.Bool(e != nil)
	if e == nil {
		return
	}
	w.Int16(int16(e.Code))
	reason := e.Reason
	if len(reason) > MaxReasonBytes {
		n := MaxReasonBytes
		for n > 0 && !utf8.RuneStart(reason[n]) {
			n--
		}
		reason = reason[:n]
	}
	w.String(reason)
}

var errNoneCode = errors.New("codec: error present with code 0")

// ReadError decodes what WriteError wrote. An error that is present but
// carries code None is rejected: it would read as success.
func ReadError(r *codec.Reader) *Error {
	if !r.Bool() {
		return nil
	}
	e := &Error{Code: Code(r.Int16()), Reason: r.String(MaxReasonBytes)}
	if r.Err() != nil {
		return nil
	}
	if e.Code == None {
		r.Fail(errNoneCode)
		return nil
	}
	return e
}
