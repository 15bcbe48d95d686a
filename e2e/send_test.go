package e2e_test

import (
	"bufio"
	"bytes"
	"os"
	"strings"
	"syscall"
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
	const size = 1100 << 20
	line := []byte(`{"time":"2026-12-01T10:00:00Z","level":"INFO","msg":"request served","path":"/api/v1/things","status":200}` + "\n")
	crash := "panic: the end of the log\n\ngoroutine 1 [running]:\nmain.main()\n\t/src/app/main.go:7 +0x25\nexit status 2\n"

	spool := t.TempDir()
	cmd := command(t, prodwrapBin(t), "send")
	cmd.Env = append(os.Environ(), "PRODWRAP_SPOOL="+spool, "PRODWRAP_LOG_FORMAT=json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(stdin, 1<<20)
	for written := 0; written < size; written += len(line) {
		if _, err := w.Write(line); err != nil {
			t.Fatalf("after %d bytes: %v", written, err)
		}
	}
	w.WriteString(crash)
	w.Flush()
	stdin.Close()
	code := exitCode(t, cmd.Wait())
	if code != 0 {
		t.Fatalf("send exited %d\n%s", code, stderr.String())
	}
	reps := run{spool: spool}.reports(t)
	if len(reps) != 1 || reps[0].Crash.Kind != parse.KindPanic || reps[0].Crash.Message != "the end of the log" {
		t.Fatalf("reports %+v", reps)
	}
	if !strings.HasPrefix(reps[0].Output, "panic: the end of the log\n") {
		t.Errorf("output %q, want the dump from its header", reps[0].Output)
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB
	if rss > 64<<10 {
		t.Errorf("peak RSS %d KiB, want under 64 MiB for a %d MiB log", rss, size>>20)
	}
}
