package raftsm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIdentityIsCreatedOnceAndChecked(t *testing.T) {
	dir := t.TempDir()
	a, fresh, err := loadIdentity(dir, 3)
	if err != nil || !fresh || a.NodeID != 3 || a.Incarnation == 0 {
		t.Fatalf("first load: %+v fresh=%v err=%v", a, fresh, err)
	}
	b, fresh, err := loadIdentity(dir, 3)
	if err != nil || fresh || b != a {
		t.Fatalf("second load: %+v fresh=%v err=%v, want %+v", b, fresh, err, a)
	}
	if _, _, err := loadIdentity(dir, 4); err == nil || !strings.Contains(err.Error(), "belongs to node 3") {
		t.Fatalf("wrong node id accepted: %v", err)
	}
	// A wiped data dir draws a new incarnation.
	if err := os.Remove(filepath.Join(dir, identityFile)); err != nil {
		t.Fatal(err)
	}
	c, fresh, err := loadIdentity(dir, 3)
	if err != nil || !fresh || c.Incarnation == a.Incarnation {
		t.Fatalf("after wipe: %+v fresh=%v err=%v (old incarnation %d)", c, fresh, err, a.Incarnation)
	}
	if err := os.WriteFile(filepath.Join(dir, identityFile), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadIdentity(dir, 3); err == nil || !strings.Contains(err.Error(), "not a Tidemark identity file") {
		t.Fatalf("garbage identity accepted: %v", err)
	}
}
