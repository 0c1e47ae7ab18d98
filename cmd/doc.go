// Package cmd holds Tidemark's programs, one directory each: broker (the
// production node; see docs/operations.md) and, with the simulator issue,
// sim (seeded simulation runs, sweeps and replays). This file only
// documents the layout.
package cmd
