package report

import (
	"time"

	"github.com/prodwrap/prodwrap/parse"
)

// Schema is the value of Report.Schema for the report format this package
// describes. Readers branch on it; fields are added, never renamed.
const Schema = "prodwrap.report/1"

// Report is prodwrap's crash report: the domain type every other package
// shares. Its JSON form is a contract (docs/architecture.md, "Report
// model"): tests, the Sentry and Slack mappings and users' scripts read
// these fields.
//
// parse fills only Crash; New assembles the rest from what is known about
// the host, the command and its exit.
type Report struct {
	Schema      string       `json:"schema"`
	ID          string       `json:"id"`
	Time        time.Time    `json:"time"` // UTC; encoding/json writes RFC 3339 with nanoseconds
	Service     string       `json:"service"`
	Environment string       `json:"environment"`
	Release     string       `json:"release"`
	Host        Host         `json:"host"`
	Command     Command      `json:"command"`
	Build       Build        `json:"build"`
	Exit        Exit         `json:"exit"`
	Crash       *parse.Crash `json:"crash"`
	// LogTail holds the last lines the child wrote before the dump, oldest first.
	LogTail []string `json:"log_tail"`
	// Breadcrumbs are the LogTail lines that were structured log records
	// (log/slog, zap, logrus, zerolog JSON; slog and logrus logfmt), decoded.
	Breadcrumbs []Breadcrumb `json:"breadcrumbs,omitempty"`
	// Fingerprint groups reports of the same bug: stable across hosts,
	// restarts, addresses and goroutine ids.
	Fingerprint []string `json:"fingerprint"`
	// Restart counts the restarts before this run of the child (0 for the
	// first run) when prodwrap supervises restarts.
	Restart int `json:"restart,omitempty"`
	// Output is the crash output as the child printed it, from the dump's
	// first header line, cut to a bounded size (see OutputTruncated). Sinks
	// attach it (Sentry's crash.txt).
	Output          string `json:"output,omitempty"`
	OutputTruncated bool   `json:"output_truncated,omitempty"`
	// Wrap says how the program was watched when it was not run under the
	// prodwrap command: "reexec" or "monitor" (package selfwrap).
	Wrap string `json:"wrap,omitempty"`
	// ConfigErrors lists the configuration's errors, one line each, when
	// prodwrap ran with what was valid of it (fail-open): a report is
	// where a broken configuration gets noticed.
	ConfigErrors []string `json:"config_errors,omitempty"`
	// GaveUp is set on the report prodwrap sends when it stops restarting
	// a child that crashed too often (max_restarts within restart_window);
	// its crash is the last run's.
	GaveUp *GaveUp `json:"gave_up,omitempty"`
	// Tags are the program's own labels (added by selfwrap's OnReport
	// hook, for one); Sentry gets them as tags beside prodwrap's.
	Tags map[string]string `json:"tags,omitempty"`
}

// Host describes the machine the child ran on.
type Host struct {
	Hostname string `json:"hostname"`
	OS       string `json:"os"`
	Arch     string `json:"arch"`
}

// Command describes the child process. Args are masked of secrets.
type Command struct {
	Path string   `json:"path"`
	Args []string `json:"args"`
	PID  int      `json:"pid"`
}

// Build is what the child binary's embedded build information says.
// Fields are empty when the binary carries none (not a Go binary, stripped).
type Build struct {
	GoVersion   string `json:"go_version"`
	MainModule  string `json:"main_module"`
	Version     string `json:"version"`
	VCSRevision string `json:"vcs_revision"`
	VCSTime     string `json:"vcs_time"`
	VCSModified bool   `json:"vcs_modified"`
	// Package is the main package's import path ("example.com/api/cmd/api"),
	// "" when unknown.
	Package string `json:"package,omitempty"`
	// Modules maps every module of the binary (the main one included) to
	// its version, a replacement written "v1 => path v2", as sentry-go's
	// modules integration lists them; nil when unknown.
	Modules map[string]string `json:"modules,omitempty"`
}

// Exit describes how the child ended.
type Exit struct {
	// Code is the exit status prodwrap returns: the child's code, or 128+N
	// when it was killed by signal N.
	Code int `json:"code"`
	// Signal names the signal that killed the child ("SIGKILL"), nil when it
	// exited by itself.
	Signal       *string `json:"signal"`
	SignalNumber int     `json:"signal_number,omitempty"`
	CoreDumped   bool    `json:"core_dumped"`
	UptimeMS     int64   `json:"uptime_ms"`
}

// Breadcrumb is one structured log record from the child's log tail.
type Breadcrumb struct {
	Time    string         `json:"time,omitempty"`
	Level   string         `json:"level,omitempty"`
	Message string         `json:"message"`
	Fields  map[string]any `json:"fields,omitempty"`
}

// GaveUp says that prodwrap stopped restarting the child.
type GaveUp struct {
	// Restarts counts the restarts within the window before giving up.
	Restarts int `json:"restarts"`
	// WindowMS is the restart window, in milliseconds (0: no window).
	WindowMS int64 `json:"window_ms"`
	// LastReport is the id of the last crash's report.
	LastReport string `json:"last_report"`
}
