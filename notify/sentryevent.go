package notify

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The types below are the part of Sentry's event payload
// (https://develop.sentry.dev/sdk/data-model/event-payloads/) that a crash
// report fills, with the field names, order and omission rules of
// sentry-go's Event, so that the JSON is the one the SDK sends. prodwrap
// used sentry-go's own types until it measured what linking the SDK costs:
// its package initialisation (a hub with a scope, OpenTelemetry baggage,
// x/text) added ~0.3 ms to every start of every wrapped service, and its
// first read of crypto/rand at init armed the runtime's one-minute entropy
// warning timer, which held off Go's deadlock detector for that minute in
// programs that wrap themselves (selfwrap). The payload is small and
// stable; the real receiver of the tests checks it.

// SentryEvent is the event sent to Sentry for a report.
type SentryEvent struct {
	Breadcrumbs []*SentryBreadcrumb       `json:"breadcrumbs,omitempty"`
	Contexts    map[string]map[string]any `json:"contexts,omitempty"`
	Environment string                    `json:"environment,omitempty"`
	EventID     string                    `json:"event_id,omitempty"`
	Fingerprint []string                  `json:"fingerprint,omitempty"`
	Level       string                    `json:"level,omitempty"`
	Platform    string                    `json:"platform,omitempty"`
	Release     string                    `json:"release,omitempty"`
	SDK         SentrySDK                 `json:"sdk"`
	ServerName  string                    `json:"server_name,omitempty"`
	Threads     []SentryThread            `json:"threads,omitempty"`
	Tags        map[string]string         `json:"tags,omitempty"`
	Timestamp   time.Time                 `json:"timestamp,omitzero"`
	Transaction string                    `json:"transaction,omitempty"`
	Logger      string                    `json:"logger,omitempty"`
	Modules     map[string]string         `json:"modules,omitempty"`
	Exception   []SentryException         `json:"exception,omitempty"`
}

// Sentry's levels, of events and breadcrumbs.
const (
	SentryLevelDebug   = "debug"
	SentryLevelInfo    = "info"
	SentryLevelWarning = "warning"
	SentryLevelError   = "error"
	SentryLevelFatal   = "fatal"
)

// SentrySDK names the client that sent the event.
type SentrySDK struct {
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
}

// SentryBreadcrumb is one log line that led to the crash.
type SentryBreadcrumb struct {
	Type      string         `json:"type,omitempty"`
	Category  string         `json:"category,omitempty"`
	Message   string         `json:"message,omitempty"`
	Data      map[string]any `json:"data,omitempty"`
	Level     string         `json:"level,omitempty"`
	Timestamp time.Time      `json:"timestamp,omitzero"`
}

// SentryThread is a goroutine, or a bucket of identical ones.
type SentryThread struct {
	ID         string            `json:"id,omitempty"`
	Name       string            `json:"name,omitempty"`
	Stacktrace *SentryStacktrace `json:"stacktrace,omitempty"`
	Crashed    bool              `json:"crashed,omitempty"`
	Current    bool              `json:"current,omitempty"`
}

// SentryException is the crash: its kind, message and stack.
type SentryException struct {
	Type       string            `json:"type,omitempty"`
	Value      string            `json:"value,omitempty"`
	ThreadID   uint64            `json:"thread_id,omitempty"`
	Stacktrace *SentryStacktrace `json:"stacktrace,omitempty"`
	Mechanism  *SentryMechanism  `json:"mechanism,omitempty"`
}

// SentryMechanism says how the exception was caught: by prodwrap, and not
// handled by the program.
type SentryMechanism struct {
	Type        string `json:"type"`
	Handled     *bool  `json:"handled,omitempty"`
	ExceptionID int    `json:"exception_id"`
}

// SentryStacktrace is a stack, oldest frame first.
type SentryStacktrace struct {
	Frames []SentryFrame `json:"frames,omitempty"`
}

// SentryFrame is one function call of a stack.
type SentryFrame struct {
	Function string `json:"function,omitempty"`
	Module   string `json:"module,omitempty"`
	Filename string `json:"filename,omitempty"`
	AbsPath  string `json:"abs_path,omitempty"`
	Lineno   int    `json:"lineno,omitempty"`
	InApp    bool   `json:"in_app"`
	Platform string `json:"platform,omitempty"`
}

// errDSN is the error for an unusable DSN; like errProject it never
// repeats the DSN, which holds the project's key.
var (
	errDSN     = errors.New("invalid Sentry DSN: want https://PUBLIC_KEY@HOST/PROJECT_ID")
	errProject = errors.New("invalid Sentry DSN: the path must end in the numeric project id (https://PUBLIC_KEY@HOST/PROJECT_ID)")
)

// ValidateSentryDSN checks a Sentry DSN as the Sentry sink reads it (see
// parseDSN); configuration calls it so that a bad DSN is refused before
// prodwrap starts the child. Its errors never repeat the DSN.
func ValidateSentryDSN(dsn string) error {
	_, err := parseDSN(dsn)
	return err
}

// sentryDSN is what a DSN tells the sink: where envelopes go and the key
// that authenticates them.
type sentryDSN struct {
	envelopeURL string
	publicKey   string
}

// parseDSN reads a DSN, SCHEME://PUBLIC_KEY[:SECRET]@HOST[:PORT][/PATH]/PROJECT_ID,
// as Sentry's SDKs do: envelopes go to SCHEME://HOST[:PORT][/PATH]/api/PROJECT_ID/envelope/.
// A trailing slash is forgiven.
func parseDSN(dsn string) (sentryDSN, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User == nil || u.User.Username() == "" {
		return sentryDSN{}, errDSN
	}
	if p := u.Port(); p != "" {
		if _, err := strconv.ParseUint(p, 10, 16); err != nil {
			return sentryDSN{}, errDSN
		}
	}
	path := strings.Trim(u.Path, "/")
	prefix, project := "", path
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		prefix, project = "/"+path[:i], path[i+1:]
	}
	if _, err := strconv.ParseUint(project, 10, 64); err != nil {
		return sentryDSN{}, errProject
	}
	return sentryDSN{
		envelopeURL: u.Scheme + "://" + u.Host + prefix + "/api/" + project + "/envelope/",
		publicKey:   u.User.Username(),
	}, nil
}
