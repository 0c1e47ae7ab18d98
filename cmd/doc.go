// Package cmd holds Tidemark's programs, one directory each: broker (the
// production node) and sim (seeded simulation runs, sweeps and replays).
// Each arrives with its issue; this file only documents the layout.
package cmd
