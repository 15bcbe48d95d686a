// Package report assembles prodwrap's crash report: it turns what is known
// when the child has exited — the parsed crash, the exit status, the
// command, the log tail, the child binary's build information — into a
// Report (docs/architecture.md, "Report model").
//
// # Decisions
//
//   - The fingerprint is kind + normalized message + the top in_app
//     functions (at most three, from the culprit outwards), so the same bug
//     groups together across hosts, restarts, addresses and goroutine ids.
//     Normalization replaces hex addresses, numbers, goroutine ids, UUIDs,
//     durations and temporary paths with placeholders.
//   - Secrets in the command line are masked before anything sees them:
//     values of flags and key=value pairs whose name contains password,
//     passwd, secret, token, key, dsn, auth, credential, cookie or session,
//     and the password of URL user-info.
//   - Breadcrumbs are decoded from log-tail lines that are JSON objects or
//     logfmt records (github.com/go-logfmt/logfmt: slog's TextHandler,
//     logrus' text formatter) with a message field (log/slog "msg", zap
//     "msg", logrus "msg", zerolog "message"); other lines stay plain text
//     in log_tail.
//   - A saved log's tail is its last lines before the dump (Tail), and its
//     time the log's own timestamp of the dump's first line (LineTime).
package report

import (
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/google/uuid"

	"github.com/prodwrap/prodwrap/parse"
)

// GoCrashStatus is the status the Go runtime exits with after it printed
// a panic or a fatal error: the status given to a crash read from saved
// output, whose exit prodwrap did not see.
const GoCrashStatus = 2

// MaxOutput caps Report.Output, in bytes: the head of the dump, where the
// header and the crashing goroutine are.
const MaxOutput = 256 << 10

// Input is everything known when the child has exited.
type Input struct {
	// Crash is the parsed dump; nil when there was none, and then the crash
	// is made from Exit (kind exit, killed or oom).
	Crash *parse.Crash
	Exit  Exit
	// OOMKilled says the child's cgroup counted an OOM kill during the run.
	OOMKilled bool

	Path string   // the command as run
	Args []string // its arguments, masked by New
	PID  int

	Tail            []string
	Output          []byte
	OutputTruncated bool

	Service, Environment, Release string
	Build                         Build
	Restart                       int

	// Now, Hostname and NewID are injectable for tests; nil means the real
	// clock, os.Hostname and a random UUID.
	Now      func() time.Time
	Hostname func() (string, error)
	NewID    func() string
}

// New assembles the report.
func New(in Input) *Report {
	now, hostname, newID := in.Now, in.Hostname, in.NewID
	if now == nil {
		now = time.Now
	}
	if hostname == nil {
		hostname = os.Hostname
	}
	if newID == nil {
		newID = uuid.NewString
	}
	host, err := hostname()
	if err != nil {
		host = "unknown"
	}
	crash := in.Crash
	if crash == nil {
		crash = ExitCrash(in.Exit, in.OOMKilled)
	}
	service := in.Service
	if service == "" && in.Path != "" {
		service = filepath.Base(in.Path)
	}
	release := in.Release
	if release == "" {
		release = defaultRelease(in.Build)
	}
	out := in.Output
	truncated := in.OutputTruncated
	if len(out) > MaxOutput {
		out = out[:MaxOutput]
		truncated = true
	}
	tail := in.Tail
	if tail == nil {
		tail = []string{}
	}
	r := &Report{
		Schema:          Schema,
		ID:              newID(),
		Time:            now().UTC(),
		Service:         service,
		Environment:     in.Environment,
		Release:         release,
		Host:            Host{Hostname: host, OS: runtime.GOOS, Arch: runtime.GOARCH},
		Command:         Command{Path: in.Path, Args: MaskArgs(in.Args), PID: in.PID},
		Build:           in.Build,
		Exit:            in.Exit,
		Crash:           crash,
		LogTail:         tail,
		Breadcrumbs:     Breadcrumbs(tail),
		Fingerprint:     Fingerprint(crash),
		Restart:         in.Restart,
		Output:          string(out),
		OutputTruncated: truncated,
	}
	if r.Command.Args == nil {
		r.Command.Args = []string{}
	}
	return r
}

func defaultRelease(b Build) string {
	switch {
	case b.MainModule != "" && b.Version != "" && b.Version != "(devel)":
		return b.MainModule + "@" + b.Version
	case b.VCSRevision != "":
		return b.VCSRevision
	}
	return ""
}

// GaveUpReport is the report that says prodwrap stopped restarting the
// child after last: a new report (its own id and time) with last's crash,
// command and build, the gave_up section, and a fingerprint of its own, so
// that it is never taken for one more of the same crash (flood control,
// grouping).
func GaveUpReport(last *Report, restarts int, window time.Duration) *Report {
	r := *last
	r.ID = uuid.NewString()
	r.Time = time.Now().UTC()
	r.GaveUp = &GaveUp{Restarts: restarts, WindowMS: window.Milliseconds(), LastReport: last.ID}
	r.Fingerprint = []string{"gave_up", last.Service}
	return &r
}
