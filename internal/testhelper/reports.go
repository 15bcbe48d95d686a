package testhelper

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/prodwrap/prodwrap/parse"
)

// Reports reads the reports a file sink wrote to dir (the spool's
// reports/ by default), failing the test on one it cannot decode.
func Reports(t testing.TB, dir string) []*parse.Report {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	out := make([]*parse.Report, 0, len(names))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		var rep parse.Report
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		out = append(out, &rep)
	}
	return out
}
