package notify

import (
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/getsentry/sentry-go"
	"golang.org/x/sys/unix"

	"github.com/prodwrap/prodwrap/parse"
	"github.com/prodwrap/prodwrap/report"
)

// The event is sentry-go's own sentry.Event, filled as sentry-go's
// Recover fills it for a panic (docs/sentry.md): level fatal, one
// exception whose stack follows sentry-go's frame rules (stacktrace.go:
// module and function split as it splits them, abs_path and filename as it
// sets them, in_app as it decides it, the runtime's frames left out),
// release and environment defaulted as sentry-go defaults them, the
// os/device/runtime contexts and the modules of the binary's build info.
// What only prodwrap knows is added beside: every goroutine as a thread,
// breadcrumbs from the log, the exit status, the raw output as the
// attachment crash.txt, a mechanism that says the panic was not handled.

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

// parseDSN reads a DSN with sentry.NewDsn, SCHEME://PUBLIC_KEY[:SECRET]@HOST[:PORT][/PATH]/PROJECT_ID:
// envelopes go to SCHEME://HOST[:PORT][/PATH]/api/PROJECT_ID/envelope/. A
// trailing slash is forgiven; the project id must be a number and the port
// one of TCP's. sentry-go's own error is not returned: it may quote the DSN.
func parseDSN(dsn string) (sentryDSN, error) {
	trimmed := dsn
	if strings.HasSuffix(trimmed, "/") && strings.Count(trimmed, "/") > 3 {
		trimmed = strings.TrimSuffix(trimmed, "/")
	}
	d, err := sentry.NewDsn(trimmed)
	if err != nil {
		if pe, ok := errors.AsType[*sentry.DsnParseError](err); ok && pe.Message == "empty project id" {
			return sentryDSN{}, errProject
		}
		return sentryDSN{}, errDSN
	}
	if p := d.GetPort(); p <= 0 || p > 65535 {
		return sentryDSN{}, errDSN
	}
	if _, err := strconv.ParseUint(d.GetProjectID(), 10, 64); err != nil {
		return sentryDSN{}, errProject
	}
	return sentryDSN{envelopeURL: d.GetAPIURL().String(), publicKey: d.GetPublicKey()}, nil
}

// sdkVersion is prodwrap's version as its build information tells it:
// the version of the module github.com/prodwrap/prodwrap in this binary
// (the main module of prodwrap's own binary, a dependency of a program
// that wraps itself), "(devel)" when unknown.
var sdkVersion = sync.OnceValue(func() string {
	const mod = "github.com/prodwrap/prodwrap"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	v := ""
	if bi.Main.Path == mod {
		v = bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == mod {
			v = d.Version
		}
	}
	if v == "" || v == "(devel)" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "0.0.0-" + s.Value[:12]
			}
		}
		return "(devel)"
	}
	return v
})

// SDKInfo is the event's sdk: prodwrap with its version, and the
// sentry-go package it builds events with.
func SDKInfo() sentry.SdkInfo {
	return sentry.SdkInfo{
		Name:    "prodwrap",
		Version: sdkVersion(),
		Packages: []sentry.SdkPackage{
			{Name: "sentry-go", Version: sentry.SDKVersion},
			{Name: "go:github.com/prodwrap/prodwrap", Version: sdkVersion()},
		},
	}
}

// ciReleaseEnv are the variables sentry-go reads the release from, in its
// order (sentry-go util.go defaultRelease), before the VCS revision.
var ciReleaseEnv = []string{
	"SENTRY_RELEASE",
	"HEROKU_BUILD_COMMIT",
	"HEROKU_SLUG_COMMIT",
	"SOURCE_VERSION",
	"CODEBUILD_RESOLVED_SOURCE_VERSION",
	"CIRCLE_SHA1",
	"GAE_DEPLOYMENT_ID",
	"GITHUB_SHA",
	"COMMIT_REF",
	"VERCEL_GIT_COMMIT_SHA",
	"ZEIT_GITHUB_COMMIT_SHA",
	"ZEIT_GITLAB_COMMIT_SHA",
	"ZEIT_BITBUCKET_COMMIT_SHA",
}

// SentryRelease is the release of r's event as sentry-go would name it in
// the child: the first of ciReleaseEnv that getenv has, else the child's
// VCS revision, else the report's release (its module@version).
func SentryRelease(r *report.Report, getenv func(string) string) string {
	if getenv != nil {
		for _, k := range ciReleaseEnv {
			if v := getenv(k); v != "" {
				return v
			}
		}
	}
	if r.Build.VCSRevision != "" {
		return r.Build.VCSRevision
	}
	return r.Release
}

// ParseTags reads "k=v,k=v" (PRODWRAP_TAGS): spaces around keys and values
// are trimmed, empty items skipped. An item without "=" or with an empty
// key is an error that quotes it.
func ParseTags(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range strings.Split(s, ",") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid tag %q: want key=value", item)
		}
		if len(k) > 200 || len(v) > 200 {
			return nil, fmt.Errorf("invalid tag %q: Sentry takes keys and values of at most 200 characters", item)
		}
		out[k] = v
	}
	return out, nil
}

// hostContexts are the parts of contexts.os and contexts.device that the
// host tells (the report is sent from the host it was made on, or a flush
// there): the distribution's name and version, the kernel, the CPUs and
// the memory.
var hostContexts = sync.OnceValue(readHostContexts)

type hostInfo struct {
	osID, osName, osVersion, kernel string
	cpus                            int
	memory                          int64
}

func readHostContexts() hostInfo {
	h := hostInfo{cpus: runtime.NumCPU()}
	if b, err := os.ReadFile("/etc/os-release"); err == nil && len(b) < 64<<10 {
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				continue
			}
			v = strings.Trim(v, `"'`)
			switch k {
			case "ID":
				h.osID = v
			case "PRETTY_NAME":
				h.osName = v
			case "VERSION_ID":
				h.osVersion = v
			}
		}
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.kernel = unix.ByteSliceToString(u.Release[:])
	}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		h.memory = int64(si.Totalram) * int64(si.Unit)
	}
	return h
}

// EventOptions are what a Sentry event takes beside the report.
type EventOptions struct {
	// Environment and Release replace the report's when set (see
	// SentryRelease for the default release).
	Environment, Release string
	// Getenv reads the CI variables of the default release; nil reads none.
	Getenv func(string) string
	// Tags are added to the report's own (config and PRODWRAP_TAGS);
	// prodwrap's tags (kind, exit_code, ...) win a clash.
	Tags map[string]string
	// Fingerprint is "prodwrap" to send the report's fingerprint; else
	// (the default) Sentry groups the event by its stack, as it groups
	// sentry-go's.
	Fingerprint string
}

// FingerprintProdwrap is the EventOptions.Fingerprint that sends the
// report's fingerprint.
const FingerprintProdwrap = "prodwrap"

// NewSentryEvent maps a report to a Sentry event with default options:
// the report's release and environment, no fingerprint.
func NewSentryEvent(r *report.Report) *sentry.Event {
	return newSentryEvent(r, EventOptions{})
}

func newSentryEvent(r *report.Report, o EventOptions) *sentry.Event {
	c := r.Crash
	ev := sentry.NewEvent()
	ev.EventID = sentry.EventID(eventID(r))
	ev.Level = sentry.LevelFatal
	ev.Platform = "go"
	ev.Timestamp = r.Time
	ev.ServerName = r.Host.Hostname
	ev.Release = o.Release
	if ev.Release == "" {
		ev.Release = SentryRelease(r, o.Getenv)
	}
	ev.Environment = o.Environment
	if ev.Environment == "" {
		ev.Environment = r.Environment
	}
	if o.Fingerprint == FingerprintProdwrap {
		ev.Fingerprint = r.Fingerprint
	}
	ev.Sdk = SDKInfo()
	for k, v := range o.Tags { // the configuration's, then the program's own: prodwrap's win a clash
		ev.Tags[k] = v
	}
	for k, v := range r.Tags {
		ev.Tags[k] = v
	}
	for k, v := range map[string]string{
		"kind":       string(c.Kind),
		"exit_code":  strconv.Itoa(r.Exit.Code),
		"service":    r.Service,
		"go_version": r.Build.GoVersion,
	} {
		if v != "" {
			ev.Tags[k] = v
		}
	}
	if r.Wrap != "" {
		ev.Tags["wrap"] = r.Wrap
	}
	if r.Exit.Signal != nil {
		ev.Tags["signal"] = *r.Exit.Signal
	} else if c.Signal != nil {
		ev.Tags["signal"] = c.Signal.Name
	}
	if r.Restart > 0 {
		ev.Tags["restart"] = strconv.Itoa(r.Restart)
	}
	h := hostContexts()
	// Sentry's os context for Linux, as its native SDKs fill it: the
	// distribution from os-release, the kernel from uname.
	osCtx := sentry.Context{"name": r.Host.OS}
	if h.osID != "" {
		osCtx["distribution_name"] = h.osID
	}
	if h.osName != "" {
		osCtx["distribution_pretty_name"] = h.osName
	}
	if h.osVersion != "" {
		osCtx["version"] = h.osVersion
		osCtx["distribution_version"] = h.osVersion
	}
	if h.kernel != "" {
		osCtx["kernel_version"] = h.kernel
	}
	device := sentry.Context{"arch": r.Host.Arch, "num_cpu": h.cpus}
	if h.memory > 0 {
		device["memory_size"] = h.memory
	}
	rt := sentry.Context{"name": "go", "version": r.Build.GoVersion}
	if c.Goroutines > 0 {
		rt["go_numroutines"] = c.Goroutines
	}
	ev.Contexts["os"] = osCtx
	ev.Contexts["device"] = device
	ev.Contexts["runtime"] = rt
	ev.Contexts["app"] = sentry.Context{"app_name": r.Service, "app_version": ev.Release,
		"app_start_time": r.Time.Add(-time.Duration(r.Exit.UptimeMS) * time.Millisecond).Format(time.RFC3339)}
	ev.Contexts["prodwrap"] = sentry.Context{"command": r.Command.Path, "args": r.Command.Args, "pid": r.Command.PID, "exit_code": r.Exit.Code,
		"core_dumped": r.Exit.CoreDumped, "uptime_ms": r.Exit.UptimeMS, "goroutines": c.Goroutines, "truncated": c.Truncated, "report_id": r.ID}
	for k, v := range r.Build.Modules {
		ev.Modules[k] = v
	}
	if r.Build.MainModule != "" {
		if _, ok := ev.Modules[r.Build.MainModule]; !ok {
			ev.Modules[r.Build.MainModule] = r.Build.Version
		}
	}
	fr := newFramer(r)
	exc := sentry.Exception{
		Type:      ExceptionType(c),
		Value:     c.Headline(),
		Mechanism: &sentry.Mechanism{Type: "prodwrap", Handled: sentry.Pointer(false)},
	}
	if g := c.Goroutine; g != nil {
		exc.Stacktrace = fr.stacktrace(g.Frames, true)
		exc.ThreadID = uint64(g.ID)
		name := fmt.Sprintf("goroutine %d [%s]", g.ID, g.State)
		ev.Threads = append(ev.Threads, sentry.Thread{ID: strconv.Itoa(g.ID), Name: name, Stacktrace: fr.stacktrace(g.Frames, false), Crashed: c.Crashing, Current: true})
	}
	for i, b := range c.Buckets {
		id := fmt.Sprintf("bucket-%d", i)
		if len(b.IDs) > 0 {
			id = strconv.Itoa(b.IDs[0])
		}
		ev.Threads = append(ev.Threads, sentry.Thread{ID: id, Name: fmt.Sprintf("%s [%s]", goroutines(b.Count), b.State), Stacktrace: fr.stacktrace(b.Frames, false)})
	}
	ev.Exception = []sentry.Exception{exc}
	for _, b := range r.Breadcrumbs {
		bc := &sentry.Breadcrumb{Type: "default", Category: "log", Message: b.Message, Level: sentryLevel(b.Level), Data: b.Fields}
		if t, err := time.Parse(time.RFC3339Nano, b.Time); err == nil {
			bc.Timestamp = t
		}
		ev.Breadcrumbs = append(ev.Breadcrumbs, bc)
	}
	if len(r.Breadcrumbs) == 0 {
		for _, l := range r.LogTail {
			ev.Breadcrumbs = append(ev.Breadcrumbs, &sentry.Breadcrumb{Type: "default", Category: "log", Message: l})
		}
	}
	if r.Output != "" {
		att := r.Output
		if len(att) > MaxAttachment {
			att = att[:MaxAttachment]
		}
		ev.Attachments = []*sentry.Attachment{{Filename: "crash.txt", ContentType: "text/plain", Payload: []byte(att)}}
	}
	return ev
}

// goroutines is "1 goroutine" or "N goroutines".
func goroutines(n int) string {
	if n == 1 {
		return "1 goroutine"
	}
	return fmt.Sprintf("%d goroutines", n)
}

// typedValue matches the panic values the runtime prints with their type:
// "(main.T) 0xc000010000" for a value of a type that is not an error, a
// Stringer or a basic kind; main.Code(5), main.Name("x") or main.On(true)
// for a named basic type; and a whole message main.Crash{...}, a %#v.
// Both are compiled on first use: only a report's event needs them.
var (
	typedValue = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\(([*\w./\[\]-]+)\) `) })
	namedBasic = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^([\w./-]*\w\.[\w\[\]]+)(?:\((?:"(?:[^"\\]|\\.)*"|[-+0-9.e]+|[-+0-9.e]+[-+][0-9.e]+i|true|false)\)|\{.*\})$`)
	})
)

// ExceptionType is the exception's type: runtime.Error for a "runtime
// error:" panic, the Go type when the dump prints the value with it, the
// signal's name for the runtime's signal report, else the crash kind.
func ExceptionType(c *parse.Crash) string {
	switch c.Kind {
	case parse.KindPanic:
		if strings.HasPrefix(c.Message, "runtime error: ") {
			return "runtime.Error"
		}
		if m := typedValue().FindStringSubmatch(c.Message); m != nil {
			return m[1]
		}
		if m := namedBasic().FindStringSubmatch(c.Message); m != nil {
			return m[1]
		}
	case parse.KindSignal:
		if c.Signal != nil {
			return c.Signal.Name
		}
	}
	return string(c.Kind)
}

// framer turns a dump's frames into sentry-go's, knowing where the main
// module's source lies when the frames tell it.
type framer struct {
	mainModule string
	root       string // the main module's directory, "" when unknown
}

func newFramer(r *report.Report) *framer {
	f := &framer{mainModule: r.Build.MainModule}
	if f.mainModule == "" || r.Crash == nil {
		return f
	}
	var all [][]parse.Frame
	if g := r.Crash.Goroutine; g != nil {
		all = append(all, g.Frames)
	}
	for _, b := range r.Crash.Buckets {
		all = append(all, b.Frames)
	}
	for _, frames := range all {
		for _, fr := range frames {
			pkg := fr.Package
			if pkg == "main" && r.Build.Package != "" {
				pkg = r.Build.Package
			}
			rel, ok := strings.CutPrefix(pkg, f.mainModule)
			if !ok || (rel != "" && rel[0] != '/') || !strings.HasPrefix(fr.File, "/") {
				continue
			}
			if dir := path.Dir(fr.File); strings.HasSuffix(dir, rel) {
				f.root = strings.TrimSuffix(dir, rel)
				return f
			}
		}
	}
	return f
}

// stacktrace converts innermost-first frames to Sentry's oldest-first.
// For an exception, the runtime's own frames are left out, as sentry-go
// leaves them out (unless nothing else is left).
func (fr *framer) stacktrace(frames []parse.Frame, exception bool) *sentry.Stacktrace {
	st := &sentry.Stacktrace{Frames: make([]sentry.Frame, 0, len(frames))}
	for _, f := range slices.Backward(frames) {
		if exception && (parse.IsRuntimeFrame(f) || f.Package == "testing") {
			continue
		}
		st.Frames = append(st.Frames, fr.frame(f))
	}
	if exception && len(st.Frames) == 0 && len(frames) > 0 {
		return fr.stacktrace(frames, false)
	}
	cleanupFunctionNamePrefix(st.Frames)
	return st
}

// frame is sentry-go's newFrame for a frame of the dump: the package and
// the function split as sentry-go splits them; an absolute file is the
// abs_path, and the filename is its path relative to the module's root
// where that is known (the main module's from the frames, GOROOT's src,
// the module cache), which sentry-go cannot know in-process; a relative
// file (-trimpath) is the filename as it is; in_app unless GOROOT's or
// vendored.
func (fr *framer) frame(f parse.Frame) sentry.Frame {
	pkg, fn := f.Package, f.Function
	if pkg != "" {
		fn = strings.TrimPrefix(fn, pkg+".")
	}
	out := sentry.Frame{Function: fn, Module: pkg, Lineno: f.Line}
	std := isStd(pkg)
	switch {
	case f.File == "":
		out.Filename = "unknown"
	case strings.HasPrefix(f.File, "/"):
		out.AbsPath = f.File
		out.Filename = fr.relative(f.File, std)
	default:
		out.Filename = f.File
	}
	out.InApp = !std && !strings.Contains(pkg, "vendor") && !strings.Contains(pkg, "third_party") && !strings.Contains(f.File, "/vendor/")
	if f.Function == "panic" {
		out.InApp = false
	}
	return out
}

// relative is file relative to its module's root, "" when unknown.
func (fr *framer) relative(file string, std bool) string {
	if fr.root != "" {
		if rel, ok := strings.CutPrefix(file, fr.root+"/"); ok {
			return rel
		}
	}
	if std {
		if i := strings.LastIndex(file, "/src/"); i >= 0 {
			return file[i+len("/src/"):]
		}
	}
	if i := strings.Index(file, "/pkg/mod/"); i >= 0 {
		rest := file[i+len("/pkg/mod/"):]
		if j := strings.Index(rest, "@"); j >= 0 {
			if k := strings.IndexByte(rest[j:], '/'); k >= 0 {
				return rest[j+k+1:]
			}
		}
	}
	return ""
}

// isStd reports whether pkg is of the standard library (or the runtime's
// panic frame): no dot in its first path element, and not main.
func isStd(pkg string) bool {
	if pkg == "main" || pkg == "" {
		return pkg == ""
	}
	first, _, _ := strings.Cut(pkg, "/")
	return !strings.Contains(first, ".")
}

// cleanupFunctionNamePrefix is sentry-go's (stacktrace.go): a closure's
// name loses its enclosing function's, main.main.func1 after main.main is
// func1, so that events group as sentry-go's do.
func cleanupFunctionNamePrefix(f []sentry.Frame) {
	for i := len(f) - 1; i > 0; i-- {
		parent := f[i-1].Function + "."
		if name, ok := strings.CutPrefix(f[i].Function, parent); ok {
			f[i].Function = name
		}
	}
}

func sentryLevel(l string) sentry.Level {
	switch strings.ToLower(l) {
	case "debug":
		return sentry.LevelDebug
	case "warn", "warning":
		return sentry.LevelWarning
	case "error":
		return sentry.LevelError
	case "fatal", "panic", "dpanic":
		return sentry.LevelFatal
	}
	return sentry.LevelInfo
}
