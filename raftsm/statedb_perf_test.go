package raftsm

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// copyDir copies the files of dir (pebble keeps no subdirectories) into a
// new directory: the image a crash would leave, since nothing is flushed
// or closed first.
func copyDir(t *testing.T, dir string) string {
	t.Helper()
	out := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		src, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		dst, err := os.Create(filepath.Join(out, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(dst, src); err != nil {
			t.Fatal(err)
		}
		src.Close()
		dst.Close()
	}
	return out
}

// TestStateDBSyncWithoutWAL: the state DB has no WAL, so what sync
// returned for must be in the files on disk (a copy of the directory taken
// while the DB is still open opens with it), and a sync with nothing
// written since the last one does not flush again.
func TestStateDBSyncWithoutWAL(t *testing.T) {
	dir := t.TempDir()
	db, err := openStateDB(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.close()

	b := db.db.NewBatch()
	if err := writeState(b, 7, 41, []byte("synced")); err != nil {
		t.Fatal(err)
	}
	if err := db.commit(b); err != nil {
		t.Fatal(err)
	}
	if err := db.sync(); err != nil {
		t.Fatal(err)
	}
	flushes := db.db.Metrics().Flush.Count
	if err := db.sync(); err != nil {
		t.Fatal(err)
	}
	if got := db.db.Metrics().Flush.Count; got != flushes {
		t.Errorf("a sync with nothing written flushed again: %d flushes, want %d", got, flushes)
	}

	crashed, err := openStateDB(copyDir(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	defer crashed.close()
	index, state, err := readState(crashed.db, 7)
	if err != nil {
		t.Fatal(err)
	}
	if index != 41 || string(state) != "synced" {
		t.Fatalf("after a crash: state record at index %d %q, want 41 %q", index, state, "synced")
	}
}
