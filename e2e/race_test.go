//go:build race

package e2e_test

// raceEnabled builds prodwrap with -race when the tests run with it, so the
// end-to-end runs check the real binary for data races too.
const raceEnabled = true
