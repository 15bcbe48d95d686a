// Package reporttest reads the reports a file sink wrote, for the tests of
// several packages. It is apart from testhelper because it links report
// (and through github.com/google/uuid, net): the crash zoo links testhelper,
// and with cgo, net keeps the runtime from seeing a deadlock.
package reporttest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prodwrap/prodwrap/report"
)

// Reports reads the reports a file sink wrote to dir (the spool's
// reports/ by default), failing the test on one it cannot decode.
func Reports(t testing.TB, dir string) []*report.Report {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	out := make([]*report.Report, 0, len(names))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		var rep report.Report
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		out = append(out, &rep)
	}
	return out
}

// WaitReports waits until dir holds at least n reports, or timeout passed,
// and returns those it holds then.
func WaitReports(t testing.TB, dir string, n int, timeout time.Duration) []*report.Report {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if reps := Reports(t, dir); len(reps) >= n || time.Now().After(deadline) {
			return reps
		}
		time.Sleep(20 * time.Millisecond)
	}
}
