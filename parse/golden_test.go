package parse_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prodwrap/prodwrap/parse"
)

var update = flag.Bool("update", false, "rewrite the golden reports in testdata")

// testdataOptions are the options a dump of testdata is parsed with: the
// defaults, and how the process ended when its comment lines say so
// ("# parse: exit_code=2", "# parse: exit_signal=6"), as the watcher tells
// Parse when it ran the child.
func testdataOptions(in []byte) parse.Options {
	o := parse.DefaultOptions()
	for _, l := range strings.Split(string(in), "\n") {
		d, ok := strings.CutPrefix(l, "# parse: ")
		if !ok {
			continue
		}
		for _, kv := range strings.Fields(d) {
			k, v, _ := strings.Cut(kv, "=")
			n, _ := strconv.Atoi(v)
			switch k {
			case "exit_code":
				o.ExitCode = n
			case "exit_signal":
				o.ExitSignal = n
			}
		}
	}
	return o
}

// TestGolden parses the checked-in dumps of testdata/*.txt — formats the
// installed Go no longer prints, and what log systems do to dumps — and
// compares each crash with testdata/<name>.golden.json.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dumps in testdata: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			c, err := parse.Parse(bytes.NewReader(in), testdataOptions(in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			// Start is not in the JSON: every dump of testdata begins a line.
			if c.Start < 0 || c.Start >= int64(len(in)) || (c.Start > 0 && in[c.Start-1] != '\n') {
				t.Errorf("Start = %d: not the start of a line of the %d-byte input", c.Start, len(in))
			}
			got, err := json.MarshalIndent(c, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./parse -run TestGolden -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", golden, diff)
			}
		})
	}
}
