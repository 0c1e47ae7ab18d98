package sim

// BugHunt is the outcome of running one planted bug over seeds until a
// checker catches it.
type BugHunt struct {
	Bug     Bug
	Caught  bool
	Seed    uint64 // the seed that caught it
	Seeds   int    // seeds run, including the catching one
	Ticks   int64  // simulated milliseconds of the catching run
	Checker string
	Detail  string
}

// HuntBug runs seeds first, first+1, ... with bug enabled until a run
// fails or maxSeeds have passed. maxOps bounds each run's client ops (0:
// DefaultMaxOps).
func HuntBug(bug Bug, first uint64, maxSeeds, maxOps int) BugHunt {
	h := BugHunt{Bug: bug}
	for i := 0; i < maxSeeds; i++ {
		rep := Run(Options{Seed: first + uint64(i), Bugs: []Bug{bug}, MaxOps: maxOps})
		h.Seeds = i + 1
		if rep.Failure != nil {
			h.Caught, h.Seed, h.Ticks = true, rep.Seed, rep.SimulatedMs
			h.Checker, h.Detail = rep.Failure.Checker, rep.Failure.Detail
			return h
		}
	}
	return h
}
