package partition

import (
	"flag"
	"os"
	"testing"
)

// TestMain raises rapid's default effort for this package (100 checks of
// about 30 steps is too short for the model test to fill producer caches
// and reach retention corners) unless -rapid.checks or -rapid.steps is
// given. The model test then takes about 2 s.
func TestMain(m *testing.M) {
	flag.Parse()
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name, value := range map[string]string{"rapid.checks": "400", "rapid.steps": "120"} {
		if !set[name] {
			if err := flag.Set(name, value); err != nil {
				panic(err)
			}
		}
	}
	os.Exit(m.Run())
}
