package sim

import (
	crand "crypto/rand"
	"io"
	"math/rand/v2"
	"sync"
)

// etcd raft draws every randomized election timeout with
// crypto/rand.Int(crypto/rand.Reader, n) (raft.go, lockedRand.Intn in
// go.etcd.io/raft/v3@v3.6.0). crypto/rand.Int reads whatever reader it is
// given, and etcd passes the package variable crypto/rand.Reader, read at
// each call. So a run installs a ChaCha8 stream seeded from the run's seed
// as crypto/rand.Reader for its whole duration: the election jitter becomes
// a function of the seed.
//
// crypto/rand.Reader is process-wide, so runs in one process are serialised
// by cryptoMu; `sim sweep --parallel` runs seeds in separate processes.
// Nothing else in a run reads crypto/rand.
var cryptoMu sync.Mutex

type seededReader struct{ c *rand.ChaCha8 }

func (s seededReader) Read(p []byte) (int, error) {
	_, _ = s.c.Read(p)
	return len(p), nil
}

// installCrypto takes cryptoMu, installs a reader seeded by seed (or
// leaves the real one when deterministic is false: only the canary test
// does that) and returns the function that restores the real reader.
func installCrypto(seed uint64, deterministic bool) (restore func()) {
	cryptoMu.Lock()
	old := crand.Reader
	if deterministic {
		var key [32]byte
		for i := 0; i < 8; i++ {
			key[i] = byte(seed >> (8 * i))
		}
		copy(key[8:], "tidemark-sim-election-jitter")
		crand.Reader = seededReader{rand.NewChaCha8(key)}
	}
	return func() {
		crand.Reader = old
		cryptoMu.Unlock()
	}
}

var _ io.Reader = seededReader{}
