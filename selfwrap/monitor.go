package selfwrap

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/prodwrap/prodwrap/internal/signals"
	"github.com/prodwrap/prodwrap/internal/watch"
	"github.com/prodwrap/prodwrap/parse"
	"github.com/prodwrap/prodwrap/report"
	"github.com/prodwrap/prodwrap/supervise"
)

// exitWait bounds how long the monitor waits, after the crash output ended,
// for the kernel to tell the program's exit status.
const exitWait = 5 * time.Second

// monitorPassEnv are the variables the monitor keeps of the program's
// environment: what configuration, the spool, TLS and proxies read, and
// GOCOVERDIR (a program built with -cover whose monitor lacked it would
// print a warning into the program's stderr). The program's own (database
// URLs, API keys) stay out of it.
var monitorPassEnv = []string{
	"HOME", "USER", "PATH", "TMPDIR", "TZ", "LANG", "GOCOVERDIR",
	"XDG_STATE_HOME", "STATE_DIRECTORY", "CREDENTIALS_DIRECTORY",
	"SENTRY_DSN", "SSL_CERT_FILE", "SSL_CERT_DIR",
	"HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy",
}

// monitorSpec tells the monitor which program it watches; it is passed as
// JSON in the monitor variable.
type monitorSpec struct {
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	Path    string    `json:"path"`
	Args    []string  `json:"args"`
	// PidFD and ProcDir are the monitor's descriptors of the program's
	// pidfd and /proc directory; -1 for none.
	PidFD   int `json:"pidfd"`
	ProcDir int `json:"proc_dir"`
}

// monitorEnviron is the monitor's environment: the kept variables of env,
// every PRODWRAP_* one, and the marker with the spec.
func monitorEnviron(env []string, spec monitorSpec) ([]string, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("encode the monitor spec: %w", err)
	}
	out := []string{monitorEnv + "=" + string(b)}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if k == monitorEnv {
			continue
		}
		if strings.HasPrefix(k, "PRODWRAP_") {
			out = append(out, kv)
			continue
		}
		if slices.Contains(monitorPassEnv, k) {
			out = append(out, kv)
		}
	}
	return out, nil
}

// startMonitor starts the monitor process and points the runtime's crash
// output at the write end of its stdin.
func startMonitor() error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the executable to run as the monitor: %w", err)
	}
	prog := openSelf()
	spec := monitorSpec{PID: prog.pid, Started: time.Now(), Path: exe, Args: os.Args[1:], PidFD: -1, ProcDir: -1}
	extra := prog.files() // they own the descriptors from here
	defer func() {
		for _, f := range extra {
			f.Close() // the monitor has its own copies
		}
	}()
	if prog.pidfd >= 0 {
		spec.PidFD = 3
	}
	if prog.dir >= 0 {
		spec.ProcDir = 3 + len(extra) - 1
	}
	env, err := monitorEnviron(os.Environ(), spec)
	if err != nil {
		return err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("crash output pipe: %w", err)
	}
	defer pw.Close() // the runtime keeps its own duplicate
	cmd := &exec.Cmd{
		Path:       exe,
		Args:       []string{os.Args[0]},
		Env:        env,
		Stdin:      pr,
		Stderr:     os.Stderr,
		ExtraFiles: extra,
		// Its own process group: a terminal's ^C or ^Z for the program does
		// not reach it.
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	err = cmd.Start()
	pr.Close()
	if err != nil {
		return fmt.Errorf("start the monitor %s: %w", exe, err)
	}
	if err := debug.SetCrashOutput(pw, debug.CrashOptions{}); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("set the crash output: %w", err)
	}
	// The monitor outlives the program, and is not waited for: a goroutine
	// blocked in wait4 would hide a deadlock from the runtime's detector.
	// Should it end first, it stays a zombie until the program ends.
	_ = cmd.Process.Release()
	return nil
}

// runMonitor is the monitor process: it reads the program's crash output
// until the program ends, learns its exit status and reports an abnormal
// end. Its own status is 0 unless it could not do its work.
func runMonitor(o Options, spec string) int {
	// The monitor outlives a stop of the program's (systemd signals the
	// whole unit): a stop signal only bounds the delivery that follows.
	sigs := signals.Register(nil, false, nil)
	sigs.IgnoreTTOU()
	var sp monitorSpec
	if err := json.Unmarshal([]byte(spec), &sp); err != nil {
		fmt.Fprintf(os.Stderr, "prodwrap: selfwrap monitor: malformed %s: %v\n", monitorEnv, err)
		return 1
	}
	prog := &process{pid: sp.PID, pidfd: sp.PidFD, dir: sp.ProcDir}
	defer prog.Close()

	cfg, err := loadConfig(o)
	if cfg == nil {
		fmt.Fprintf(os.Stderr, "prodwrap: selfwrap monitor: %v\n", err)
		_, _ = io.Copy(io.Discard, os.Stdin)
		return 1
	}
	reporter, err := watch.NewReporter(watch.ReporterOptions{
		Config: cfg, Env: os.Environ(), Log: os.Stderr, Terminal: watch.IsTerminal(os.Stderr),
		OnReport: o.OnReport, Wrap: Monitor.String(), ConfigErrors: watch.ConfigErrors(err),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "prodwrap: selfwrap monitor: cannot set up delivery: %v\n", err)
		_, _ = io.Copy(io.Discard, os.Stdin)
		return 1
	}
	logger := reporter.Logger()
	reporter.FlushInBackground() // earlier runs' reports, while the program runs
	defer reporter.Close(sigs.Aborted(), time.Time{})

	exe, _ := os.Executable()
	build, _ := watch.ReadBuild(exe)
	out := &headBuffer{max: report.MaxOutput}
	// The output is parsed as it comes, before the exit status is known:
	// stacks whose header was lost are read without it.
	crash := watch.ParseCrash(io.TeeReader(crashOutput(os.Stdin, stderrFatalLine), out), build, 0, 0, logger)
	_, _ = io.Copy(out, os.Stdin) // what the parser left
	ended := time.Now()

	status, known := prog.exitStatus(exitWait)
	exit := watch.Exit(report.GoCrashStatus, 0, false, ended.Sub(sp.Started))
	switch {
	case known:
		code, sig := supervise.Status(status)
		exit = watch.Exit(code, sig, status.CoreDump(), ended.Sub(sp.Started))
	case out.n == 0:
		logger.Debug("the program ended with no crash output and an unknown status")
	default:
		logger.Warn("the program's exit status is unknown; reporting its crash output with status 2")
	}
	if (known && exit.Code == 0) || (!known && out.n == 0) {
		return 0 // a clean exit is never reported
	}
	rep := reporter.New(report.Input{
		Crash:           crash,
		Exit:            exit,
		Path:            sp.Path,
		Args:            sp.Args,
		PID:             sp.PID,
		Output:          out.buf.Bytes(),
		OutputTruncated: out.n > int64(out.buf.Len()),
		Build:           build,
	})
	ctx, cancel := sigs.AbortContext(context.Background())
	defer cancel()
	reporter.Deliver(ctx, rep)
	return 0
}

// noMessage is the header given to a fatal error whose message the runtime
// wrote to stderr only, when stderr could not tell it.
const noMessage = "fatal error: (the message went to stderr only)\n"

// crashOutput is the crash output read from r, made whole. The runtime
// copies its output to the crash pipe only from the moment it is dying,
// which for a fatal error (concurrent map writes, deadlock, stack
// overflow, out of memory) comes after it wrote the "fatal error: ..."
// line: the pipe gets the goroutines without their header. Then the line is
// looked for by findLine (given the first line of the goroutines, which
// must follow it), and failing that a header saying so is put first: every
// byte on the pipe is a crash.
func crashOutput(r io.Reader, findLine func(next []byte) []byte) io.Reader {
	br := bufio.NewReaderSize(r, 64<<10)
	var head []byte
	for {
		line, err := br.ReadSlice('\n')
		head = append(head, line...)
		if t := bytes.TrimSpace(line); len(t) > 0 {
			if parse.StartsHeader(t) {
				return io.MultiReader(bytes.NewReader(head), br)
			}
			header := findLine(t)
			if header == nil {
				header = []byte(noMessage)
			}
			return io.MultiReader(bytes.NewReader(header), bytes.NewReader(head), br)
		}
		if err != nil && err != bufio.ErrBufferFull {
			return bytes.NewReader(head) // empty, or blank lines: no crash
		}
	}
}

// stderrFatalLine returns the last "fatal error: " line of stderr when
// stderr is a regular file (a log file, systemd's StandardError=file:) and
// what follows that line holds next, the first line of the crash output;
// nil otherwise.
func stderrFatalLine(next []byte) []byte {
	f, err := os.Open("/proc/self/fd/2")
	if err != nil {
		return nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil
	}
	off := max(0, st.Size()-64<<10)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
		return nil
	}
	return lastFatalLine(buf, next)
}

// lastFatalLine finds the last line of buf that starts with "fatal error: "
// and is followed by next.
func lastFatalLine(buf, next []byte) []byte {
	prefix := []byte("fatal error: ")
	for end := len(buf); ; {
		i := bytes.LastIndex(buf[:end], prefix)
		if i < 0 {
			return nil
		}
		end = i
		if i > 0 && buf[i-1] != '\n' {
			continue
		}
		j := bytes.IndexByte(buf[i:], '\n')
		if j < 0 {
			continue
		}
		if bytes.Contains(buf[i+j:], next) {
			return buf[i : i+j+1]
		}
	}
}

// headBuffer keeps the first max bytes written to it and counts them all.
type headBuffer struct {
	buf bytes.Buffer
	max int
	n   int64
}

func (h *headBuffer) Write(p []byte) (int, error) {
	h.n += int64(len(p))
	if room := h.max - h.buf.Len(); room > 0 {
		h.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
