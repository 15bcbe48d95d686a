package parse

import "time"

// Schema is the value of Report.Schema for the report format this package
// describes. Readers branch on it; fields are added, never renamed.
const Schema = "prodwrap.report/1"

// Report is prodwrap's crash report: the domain type every other package
// shares. Its JSON form is a contract (see design.md, "The report"): tests,
// the Sentry and Slack mappings and users' scripts read these fields.
//
// parse fills only Crash; the rest is assembled by the caller from what it
// knows about the host, the command and its exit.
type Report struct {
	Schema      string    `json:"schema"`
	ID          string    `json:"id"`
	Time        time.Time `json:"time"` // UTC; encoding/json writes RFC 3339 with nanoseconds
	Service     string    `json:"service"`
	Environment string    `json:"environment"`
	Release     string    `json:"release"`
	Host        Host      `json:"host"`
	Command     Command   `json:"command"`
	Build       Build     `json:"build"`
	Exit        Exit      `json:"exit"`
	Crash       *Crash    `json:"crash"`
	// LogTail holds the last lines the child wrote before the dump, oldest first.
	LogTail []string `json:"log_tail"`
	// Breadcrumbs are the LogTail lines that were structured log records
	// (log/slog, zap, logrus, zerolog JSON), decoded.
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
	// SentryEventID is the id of the Sentry event once Sentry accepted the
	// report; the Slack message links to it.
	SentryEventID string `json:"sentry_event_id,omitempty"`
	// Wrap says how the program was watched when it was not run under the
	// prodwrap command: "reexec" or "monitor" (package selfwrap).
	Wrap string `json:"wrap,omitempty"`
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

// Kind classifies a crash. The values are the contract of design.md.
type Kind string

// The crash kinds of design.md.
const (
	KindPanic         Kind = "panic"
	KindTimeout       Kind = "timeout"
	KindFatalError    Kind = "fatal_error"
	KindDeadlock      Kind = "deadlock"
	KindStackOverflow Kind = "stack_overflow"
	KindOOM           Kind = "oom"
	KindSignal        Kind = "signal"
	KindSigquit       Kind = "sigquit"
	KindRace          Kind = "race"
	KindExit          Kind = "exit"
	KindKilled        Kind = "killed"
)

// Crash is what the runtime's output says about how the program died.
type Crash struct {
	Kind Kind `json:"kind"`
	// Crashing is true when a goroutine crashed (a panic, a fault, a fatal
	// error raised by a goroutine); false for deadlock, sigquit, race, exit
	// and killed, where Goroutine is just the first one printed.
	Crashing bool `json:"crashing"`
	// Message is the panic value or the fatal error text, multi-line
	// messages joined with "\n".
	Message string `json:"message"`
	// Repanicked is true when a deferred function panicked again or
	// re-raised a recovered panic ("[recovered]", "[recovered, repanicked]").
	Repanicked bool `json:"repanicked"`
	// Panics is the chain of panic messages, first raised first, when there
	// was more than one.
	Panics []string `json:"panics,omitempty"`
	// Signal is filled from a "[signal ...]" line or a runtime signal report.
	Signal    *Signal    `json:"signal"`
	Goroutine *Goroutine `json:"goroutine"`
	TopFrame  *FrameRef  `json:"top_frame"`
	Origin    *FrameRef  `json:"origin"`
	Culprit   *FrameRef  `json:"culprit"`
	// Goroutines counts every goroutine in the dump, the crashing one included.
	Goroutines int `json:"goroutines"`
	// Buckets aggregates the other goroutines by identical stacks, largest first.
	Buckets []Bucket `json:"buckets"`
	// Races holds the data race reports, for kind race (and before a panic).
	Races []Race `json:"races,omitempty"`
	// Truncated is true when the input was cut (a cap was hit, the last line
	// was incomplete, frames were elided by the runtime or by a cap).
	Truncated bool `json:"truncated"`
}

// Signal is a signal the runtime reported.
type Signal struct {
	Name string `json:"name"` // "SIGSEGV"
	Code string `json:"code,omitempty"`
	Addr string `json:"addr,omitempty"`
	PC   string `json:"pc,omitempty"`
}

// Goroutine is one goroutine of the dump, in full.
type Goroutine struct {
	ID             int     `json:"id"`
	State          string  `json:"state"`
	WaitMinutes    int     `json:"wait_minutes"`
	LockedToThread bool    `json:"locked_to_thread"`
	Frames         []Frame `json:"frames"` // innermost first
	// FramesElided is true when the runtime or a cap left frames out.
	FramesElided bool       `json:"frames_elided,omitempty"`
	CreatedBy    *CreatedBy `json:"created_by"`
}

// Frame is one call in a stack.
type Frame struct {
	Function string `json:"function"`
	Package  string `json:"package"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	Offset   string `json:"offset,omitempty"`
	Args     string `json:"args,omitempty"`
	InApp    bool   `json:"in_app"`
}

// CreatedBy is the "created by" line of a goroutine.
type CreatedBy struct {
	Function  string `json:"function"`
	File      string `json:"file"`
	Line      int    `json:"line"`
	Goroutine int    `json:"goroutine,omitempty"` // 0 before Go 1.21
}

// FrameRef points at one frame by function and position.
type FrameRef struct {
	Function string `json:"function"`
	File     string `json:"file"`
	Line     int    `json:"line"`
}

// Bucket is a group of goroutines with identical stacks.
type Bucket struct {
	Count  int     `json:"count"`
	State  string  `json:"state"`
	IDs    []int   `json:"ids"` // a few, not all
	Frames []Frame `json:"frames"`
}

// Race is one "WARNING: DATA RACE" section.
type Race struct {
	Accesses []RaceAccess `json:"accesses"`
}

// RaceAccess is one access or goroutine-creation block of a race report.
type RaceAccess struct {
	// Op is "write", "read", "previous write", "previous read" or "created".
	Op        string  `json:"op"`
	Addr      string  `json:"addr,omitempty"`
	Goroutine int     `json:"goroutine"`
	Frames    []Frame `json:"frames"`
}
