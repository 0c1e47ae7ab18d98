package linearizability

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// corpusCase is one file of testdata/corpus: a hand-written history and
// the exact set of anomaly kinds Check must report for it (empty: valid).
type corpusCase struct {
	Description string        `json:"description"`
	Anomalies   []AnomalyKind `json:"anomalies"`
	// ReadersCoverLog sets Config.ReadersCoverLog for this history.
	ReadersCoverLog bool            `json:"readers_cover_log,omitempty"`
	History         json.RawMessage `json:"history"`
}

func loadCorpus(t *testing.T) map[string]corpusCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "corpus", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no corpus files")
	}
	cases := make(map[string]corpusCase)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c corpusCase
		if err := decodeStrict(data, &c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		cases[strings.TrimSuffix(filepath.Base(f), ".json")] = c
	}
	return cases
}

func TestCorpus(t *testing.T) {
	cases := loadCorpus(t)
	names := make([]string, 0, len(cases))
	for name := range cases {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		c := cases[name]
		t.Run(name, func(t *testing.T) {
			h, err := DecodeHistory(c.History)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			want := slices.Clone(c.Anomalies)
			for _, k := range want {
				kindRank(k) // panics on a misspelt kind
			}
			slices.SortFunc(want, func(x, y AnomalyKind) int { return kindRank(x) - kindRank(y) })
			if strings.HasPrefix(name, "valid-") != (len(want) == 0) {
				t.Fatalf("file name says valid=%v but %d anomalies are expected", strings.HasPrefix(name, "valid-"), len(want))
			}
			dir := t.TempDir()
			res, err := Check(h, Config{VisualizationDir: dir, ReadersCoverLog: c.ReadersCoverLog})
			if err != nil {
				t.Fatalf("check: %v", err)
			}
			if got := res.Kinds(); !slices.Equal(got, want) {
				t.Fatalf("%s\ngot kinds %v, want %v\n%s", c.Description, got, want, res.String())
			}
			for _, a := range res.Anomalies {
				if len(a.Ops) == 0 {
					t.Errorf("anomaly names no operation: %s", a.String())
				}
				for _, id := range a.Ops {
					if id < 0 || id >= len(h.Operations) {
						t.Errorf("anomaly names op %d, outside the history: %s", id, a.String())
					}
				}
				if a.Kind == LogNotLinearizable || a.Kind == OffsetsNotLinearizable {
					st, err := os.Stat(a.VisualizationPath)
					if err != nil || st.Size() == 0 {
						t.Errorf("no visualisation for %s: %v", a.String(), err)
					}
				}
			}
			// The two halves of Check report the same kinds as Check.
			lin, err := CheckLinear(h, Config{ReadersCoverLog: c.ReadersCoverLog})
			if err != nil {
				t.Fatal(err)
			}
			mod, err := CheckModels(h, Config{})
			if err != nil {
				t.Fatal(err)
			}
			union := append(lin.Kinds(), mod.Kinds()...)
			slices.SortFunc(union, func(x, y AnomalyKind) int { return kindRank(x) - kindRank(y) })
			if !slices.Equal(union, want) {
				t.Errorf("CheckLinear %v + CheckModels %v != %v", lin.Kinds(), mod.Kinds(), want)
			}
			// The corpus file survives an encode/decode round trip.
			enc, err := EncodeHistory(h)
			if err != nil {
				t.Fatal(err)
			}
			h2, err := DecodeHistory(enc)
			if err != nil {
				t.Fatalf("re-decode: %v\n%s", err, enc)
			}
			enc2, _ := EncodeHistory(h2)
			if !bytes.Equal(enc, enc2) {
				t.Errorf("round trip changed the encoding:\n%s\n%s", enc, enc2)
			}
		})
	}
}

// TestCorpusCoversEveryKind keeps the corpus honest: every anomaly kind
// except the time limit is shown by at least one hand-written history, and
// the required invalid histories are present.
func TestCorpusCoversEveryKind(t *testing.T) {
	cases := loadCorpus(t)
	seen := make(map[AnomalyKind]bool)
	for _, c := range cases {
		for _, k := range c.Anomalies {
			seen[k] = true
		}
	}
	for _, k := range AnomalyKinds {
		if k == ModelUndecided {
			continue // covered by TestModelTimeoutIsAFailure
		}
		if !seen[k] {
			t.Errorf("no corpus history shows %s", k)
		}
	}
	for _, name := range []string{
		"invalid-lost-write-skipped", "invalid-lost-write-truncated", "invalid-two-values-one-offset",
		"invalid-phantom-value", "invalid-future-read", "invalid-read-then-missing",
		"invalid-stale-commit-after-assign", "invalid-stale-commit-after-commit",
		"valid-concurrent-produces", "valid-fetch-racing-produce", "valid-unknown-applied", "valid-unknown-not-applied",
	} {
		if _, ok := cases[name]; !ok {
			t.Errorf("corpus lacks %s", name)
		}
	}
}
