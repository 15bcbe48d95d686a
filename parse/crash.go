package parse

// Kind classifies a crash. The values are a contract (docs/architecture.md,
// "Report model").
type Kind string

// The crash kinds (docs/architecture.md, "Report model").
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
	// Inferred is set when the header was lost and the kind was read from
	// what remains: it names the evidence ("header lost: every goroutine
	// is blocked for good"); doc.go, "Headers lost or cut".
	Inferred string `json:"inferred,omitempty"`
	// Truncated is true when the input was cut (a cap was hit, the last line
	// was incomplete, frames were elided by the runtime or by a cap).
	Truncated bool `json:"truncated"`
	// Start is the byte offset in the input of the first line of the dump
	// this Crash describes (the last one: docs/architecture.md, "Report
	// model"): its header, the "runtime: " lines printed just before it,
	// the "====" line that opens a race report, or the log prefix of that
	// line. input[Start:] is the dump. For a dump that began in the middle of a line, after a log line
	// without its newline, Start is where the header begins in that line.
	Start int64 `json:"-"`
}

// Headline is the message to show a person: Message, or when the header
// was lost and its message with it, what the kind was inferred from, in
// parentheses ("(header lost: every goroutine is blocked for good)").
func (c *Crash) Headline() string {
	if c.Message == "" && c.Inferred != "" {
		return "(" + c.Inferred + ")"
	}
	return c.Message
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
