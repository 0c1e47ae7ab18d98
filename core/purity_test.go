package core_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// forbidden are the imports that would let nondeterminism or I/O into core.
// A prefix match covers sub-packages (net/http, os/exec, sync/atomic, ...).
var forbidden = []string{
	"os", "net", "sync", "math/rand", "crypto/rand", "io/fs", "io/ioutil",
	"syscall", "unsafe", "runtime", "reflect", "plugin",
	"hash/maphash", // seeded at random per process
	"github.com/lni/dragonboat", "github.com/cockroachdb/pebble",
}

func isForbidden(path string) bool {
	for _, f := range forbidden {
		if path == f || strings.HasPrefix(path, f+"/") {
			return true
		}
	}
	return false
}

// TestCoreIsPure fails if any non-test Go file under core/ imports a
// forbidden package, or uses package time for anything but time.Duration
// (time must enter core inside commands, never from a clock).
func TestCoreIsPure(t *testing.T) {
	files := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		files++
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		timeName := ""
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if isForbidden(p) {
				t.Errorf("%s imports %q: core must stay pure", path, p)
			}
			if p == "time" {
				timeName = "time"
				if imp.Name != nil {
					timeName = imp.Name.Name
				}
			}
		}
		if timeName == "" {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == timeName && sel.Sel.Name != "Duration" &&
				!strings.HasSuffix(sel.Sel.Name, "second") && sel.Sel.Name != "Minute" && sel.Sel.Name != "Hour" {
				t.Errorf("%s uses time.%s: only time.Duration and its unit constants may appear in core", path, sel.Sel.Name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("found no Go files under core/: the purity test checked nothing")
	}
	t.Logf("checked %d files", files)
}

// TestPurityCheckCatchesViolations proves the check above can fail.
func TestPurityCheckCatchesViolations(t *testing.T) {
	for _, p := range []string{"os", "net/http", "sync/atomic", "math/rand/v2", "crypto/rand", "hash/maphash", "github.com/lni/dragonboat/v4"} {
		if !isForbidden(p) {
			t.Errorf("%q not flagged", p)
		}
	}
	for _, p := range []string{"hash/crc32", "encoding/binary", "sort", "github.com/tidemark/tidemark/core/codec", "netip"} {
		if isForbidden(p) {
			t.Errorf("%q wrongly flagged", p)
		}
	}
}
