package e2e_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/prodwrap/prodwrap/parse"
)

// TestSendStreamsAHugeLog: `prodwrap send` on a log of more than a
// gigabyte with the crash at its very end finds it, in bounded memory — it
// neither reads the log whole nor cuts it at a size.
func TestSendStreamsAHugeLog(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 1.1 GB")
	}
	if raceEnabled {
		// The race detector's shadow memory is not prodwrap's: scripts/test
		// runs this test again without -race, in its peak RSS step.
		t.Skip("peak RSS is measured without -race")
	}
	const size = 1100 << 20
	line := `{"time":"2026-12-01T10:00:00Z","level":"INFO","msg":"request served","path":"/api/v1/things","status":200}`
	crash := `panic: the end of the log\n\ngoroutine 1 [running]:\nmain.main()\n\t/src/app/main.go:7 +0x25\nexit status 2\n`

	// The log comes from yes and head, not from this (possibly -race)
	// binary, and prodwrap is started by measureRSS's small process, so
	// that its peak RSS is its own (see measureRSS).
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	spool := t.TempDir()
	rssFile := filepath.Join(t.TempDir(), "rss")
	script := fmt.Sprintf(`{ yes '%s' | head -c %d; printf '%s'; } | %s=%s "$0" "$1" send`, line, size, crash, measureRSSEnv, rssFile)
	cmd := command(t, "/bin/sh", "-c", script, self, prodwrapBin(t))
	cmd.Env = append(os.Environ(), "PRODWRAP_SPOOL="+spool, "PRODWRAP_LOG_FORMAT=json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if code := exitCode(t, cmd.Run()); code != 0 {
		t.Fatalf("send exited %d\n%s", code, stderr.String())
	}
	reps := run{spool: spool}.reports(t)
	if len(reps) != 1 || reps[0].Crash.Kind != parse.KindPanic || reps[0].Crash.Message != "the end of the log" {
		t.Fatalf("reports %+v", reps)
	}
	if !strings.HasPrefix(reps[0].Output, "panic: the end of the log\n") {
		t.Errorf("output %q, want the dump from its header", reps[0].Output)
	}
	b, err := os.ReadFile(rssFile)
	if err != nil {
		t.Fatalf("no peak RSS measured: %v", err)
	}
	rss, _ := strconv.Atoi(string(b)) // KiB
	if rss > 64<<10 {
		t.Errorf("peak RSS %d KiB, want under 64 MiB for a %d MiB log", rss, size>>20)
	}
	t.Logf("peak RSS %d KiB for a %d MiB log", rss, size>>20)
}
