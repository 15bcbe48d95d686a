package parse_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/prodwrap/prodwrap/internal/zoo"
	"github.com/prodwrap/prodwrap/parse"
)

var writeCorpus = flag.Bool("corpus", false, "write each zoo mode's output to testdata/fuzz/FuzzParse as a seed")

// TestZoo runs every mode of the crash zoo with the installed Go and checks
// the parsed crash field by field.
func TestZoo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the crash zoo")
	}
	for _, m := range zoo.Modes {
		t.Run(m.Name, func(t *testing.T) {
			if m.Cgo && !cgoAvailable() {
				t.Skip("cgo is not available")
			}
			res := zoo.Run(t, m)
			if *writeCorpus && len(res.Stderr) < 64<<10 {
				seed := "go test fuzz v1\n[]byte(" + strconv.Quote(string(res.Stderr)) + ")\n"
				if err := os.WriteFile(filepath.Join("testdata", "fuzz", "FuzzParse", "zoo-"+m.Name), []byte(seed), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if res.ExitCode != m.ExitCode {
				t.Errorf("crasher exited %d, want %d\n%s", res.ExitCode, m.ExitCode, res.Stderr)
			}
			opts := parse.DefaultOptions()
			opts.MainModule = "github.com/prodwrap/prodwrap"
			c, err := parse.Parse(bytes.NewReader(res.Stderr), opts)
			if m.Kind == "" {
				return // exits 0: never a crash, whatever it printed; that is the caller's rule
			}
			if m.Kind == "exit" || m.Kind == "killed" {
				if !errors.Is(err, parse.ErrNoCrash) {
					t.Errorf("Parse: got %v, %v; want ErrNoCrash for a crash without a dump", c, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v\n%s", err, res.Stderr)
			}
			checkCrash(t, m, res, c)
			if t.Failed() {
				t.Logf("stderr:\n%s", res.Stderr)
			}
		})
	}
}

func checkCrash(t *testing.T, m zoo.Mode, res zoo.Result, c *parse.Crash) {
	t.Helper()
	if string(c.Kind) != m.Kind {
		t.Errorf("kind = %q, want %q", c.Kind, m.Kind)
	}
	if !strings.HasPrefix(c.Message, m.Message) {
		t.Errorf("message = %q, want prefix %q", c.Message, m.Message)
	}
	if c.Crashing != m.Crashing {
		t.Errorf("crashing = %v, want %v", c.Crashing, m.Crashing)
	}
	if c.Repanicked != m.Repanicked {
		t.Errorf("repanicked = %v, want %v", c.Repanicked, m.Repanicked)
	}
	if m.Signal != "" && (c.Signal == nil || c.Signal.Name != m.Signal) {
		t.Errorf("signal = %+v, want %s", c.Signal, m.Signal)
	}
	if c.Goroutines < m.MinGoroutines {
		t.Errorf("goroutines = %d, want at least %d", c.Goroutines, m.MinGoroutines)
	}
	if c.Goroutine == nil {
		if m.MinGoroutines > 0 {
			t.Errorf("no goroutine")
		}
		return
	}
	if res.Goroutine != 0 && m.Crashing && c.Goroutine.ID != res.Goroutine {
		t.Errorf("crashing goroutine = %d, the program said %d", c.Goroutine.ID, res.Goroutine)
	}
	if m.CreatedBy != "" && (c.Goroutine.CreatedBy == nil || c.Goroutine.CreatedBy.Function != m.CreatedBy) {
		t.Errorf("created_by = %+v, want %s", c.Goroutine.CreatedBy, m.CreatedBy)
	}
	if m.TopFunction == "" {
		return
	}
	if c.TopFrame == nil {
		t.Fatalf("no top frame")
	}
	if c.TopFrame.Function != m.TopFunction {
		t.Errorf("top_frame = %s, want %s", c.TopFrame.Function, m.TopFunction)
	}
	at := c.TopFrame
	if m.OriginFunction != "" {
		if c.Origin == nil || c.Origin.Function != m.OriginFunction {
			t.Errorf("origin = %+v, want %s", c.Origin, m.OriginFunction)
		}
		at = c.Origin
	}
	if m.Marker != "" {
		file, line := zoo.MarkerLine(t, m.Marker)
		if at.File != file || at.Line != line {
			t.Errorf("points at %s:%d, want %s:%d", at.File, at.Line, file, line)
		}
	}
	if c.Culprit == nil || !strings.HasPrefix(c.Culprit.Function, "main.") {
		t.Errorf("culprit = %+v, want a frame of the program", c.Culprit)
	}
}

func cgoAvailable() bool {
	out, err := exec.Command("go", "env", "CGO_ENABLED").Output()
	return err == nil && strings.TrimSpace(string(out)) == "1"
}
