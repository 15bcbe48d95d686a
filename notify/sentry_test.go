package notify_test

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/prodwrap/prodwrap/internal/testreceiver"
	"github.com/prodwrap/prodwrap/notify"
	"github.com/prodwrap/prodwrap/parse"
	"github.com/prodwrap/prodwrap/report"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// crashReport is a realistic report: a nil dereference in a goroutine,
// with a bucket and structured log lines.
func crashReport() *report.Report {
	r := testReport("5b8f2d9e-1c3a-4e7b-9f00-0a1b2c3d4e5f")
	r.Release = "example.com/api@v1.2.3"
	r.Environment = "production"
	r.Build = report.Build{GoVersion: "go1.26.8", MainModule: "example.com/api", Version: "v1.2.3", Package: "example.com/api",
		Modules: map[string]string{"example.com/api": "v1.2.3", "golang.org/x/sync": "v0.24.0"}}
	r.Exit = report.Exit{Code: 2, UptimeMS: 5123}
	r.Command = report.Command{Path: "/srv/api", Args: []string{"--port", "8080"}, PID: 4242}
	r.LogTail = []string{`{"time":"2026-11-24T09:59:59Z","level":"INFO","msg":"handling order","order":2}`}
	r.Breadcrumbs = []report.Breadcrumb{{Time: "2026-11-24T09:59:59Z", Level: "info", Message: "handling order", Fields: map[string]any{"order": 2.0}}}
	r.Output = "panic: runtime error: invalid memory address or nil pointer dereference\n\ngoroutine 7 [running]:\nmain.(*Server).handle(...)\n"
	r.Crash = &parse.Crash{
		Kind: parse.KindPanic, Crashing: true,
		Message: "runtime error: invalid memory address or nil pointer dereference",
		Signal:  &parse.Signal{Name: "SIGSEGV", Code: "0x1", Addr: "0x0", PC: "0x4a1b2c"},
		Goroutine: &parse.Goroutine{ID: 7, State: "running", Frames: []parse.Frame{
			{Function: "main.(*Server).handle", Package: "main", File: "/src/api/server.go", Line: 42, InApp: true},
			{Function: "net/http.HandlerFunc.ServeHTTP", Package: "net/http", File: "/usr/local/go/src/net/http/server.go", Line: 2294},
		}},
		Culprit:    &parse.FrameRef{Function: "main.(*Server).handle", File: "/src/api/server.go", Line: 42},
		Goroutines: 3,
		Buckets:    []parse.Bucket{{Count: 2, State: "IO wait", IDs: []int{1, 9}, Frames: []parse.Frame{{Function: "net.(*netFD).accept", Package: "net", File: "/usr/local/go/src/net/fd_unix.go", Line: 172}}}},
	}
	r.Fingerprint = []string{"panic", "runtime error: invalid memory address or nil pointer dereference", "main.(*Server).handle"}
	return r
}

// checkGolden compares v, as indented JSON, with testdata/name; -update
// rewrites the file.
func checkGolden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test ./notify -run Golden -update creates it)", err)
	}
	if diff := cmp.Diff(strings.TrimSpace(string(want)), strings.TrimSpace(string(got))); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", golden, diff)
	}
}

func TestSentryEventGolden(t *testing.T) {
	checkGolden(t, "sentry-event.golden.json", notify.NewSentryEvent(crashReport()))
}

// TestSentryEventFollowsSentryGo: the parts of the event that sentry-go's
// own rules decide, for a program with a subpackage built without
// -trimpath and with it.
func TestSentryEventFollowsSentryGo(t *testing.T) {
	r := crashReport()
	r.Build.Package = "example.com/api/cmd/api"
	r.Build.VCSRevision = "0123456789abcdef0123456789abcdef01234567"
	r.Crash.Goroutine.Frames = []parse.Frame{
		{Function: "panic", File: "/usr/local/go/src/runtime/panic.go", Line: 783},
		{Function: "example.com/api/store.(*DB).Get", Package: "example.com/api/store", File: "/home/u/api/store/db.go", Line: 17, InApp: true},
		{Function: "main.main.func1", Package: "main", File: "/home/u/api/cmd/api/main.go", Line: 9, InApp: true},
		{Function: "main.main", Package: "main", File: "/home/u/api/cmd/api/main.go", Line: 12, InApp: true},
		{Function: "runtime.main", Package: "runtime", File: "/usr/local/go/src/runtime/proc.go", Line: 285},
	}
	ev := notify.NewSentryEvent(r)
	type frame struct {
		Function, Module, Filename, AbsPath string
		Lineno                              int
		InApp                               bool
	}
	var got []frame
	for _, f := range ev.Exception[0].Stacktrace.Frames {
		got = append(got, frame{f.Function, f.Module, f.Filename, f.AbsPath, f.Lineno, f.InApp})
	}
	want := []frame{
		{"main", "main", "cmd/api/main.go", "/home/u/api/cmd/api/main.go", 12, true},
		{"func1", "main", "cmd/api/main.go", "/home/u/api/cmd/api/main.go", 9, true},
		{"(*DB).Get", "example.com/api/store", "store/db.go", "/home/u/api/store/db.go", 17, true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("exception frames mismatch (-want +got):\n%s", diff)
	}
	if len(ev.Threads[0].Stacktrace.Frames) != 5 {
		t.Errorf("the thread keeps every frame, the runtime's too: %+v", ev.Threads[0].Stacktrace.Frames)
	}
	if ev.Release != r.Build.VCSRevision || len(ev.Fingerprint) != 0 || ev.Exception[0].Type != "runtime.Error" {
		t.Errorf("release %q, fingerprint %q, type %q", ev.Release, ev.Fingerprint, ev.Exception[0].Type)
	}
	if ev.Modules["golang.org/x/sync"] != "v0.24.0" || ev.Sdk.Name != "prodwrap" || ev.Sdk.Packages[0].Name != "sentry-go" {
		t.Errorf("modules %v sdk %+v", ev.Modules, ev.Sdk)
	}
	// -trimpath: the file is the filename, as sentry-go sends it.
	for i := range r.Crash.Goroutine.Frames {
		f := &r.Crash.Goroutine.Frames[i]
		f.File = strings.Replace(strings.Replace(f.File, "/home/u/api/", "example.com/api/", 1), "/usr/local/go/src/", "", 1)
	}
	ev = notify.NewSentryEvent(r)
	if f := ev.Exception[0].Stacktrace.Frames[2]; f.Filename != "example.com/api/store/db.go" || f.AbsPath != "" || !f.InApp {
		t.Errorf("-trimpath frame %+v", f)
	}
}

func TestSentryReleaseIsSentryGos(t *testing.T) {
	r := crashReport()
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if got := notify.SentryRelease(r, getenv); got != r.Release {
		t.Errorf("no VCS, no CI: %q, want the report's %q", got, r.Release)
	}
	r.Build.VCSRevision = "abc123"
	if got := notify.SentryRelease(r, getenv); got != "abc123" {
		t.Errorf("VCS revision: %q", got)
	}
	env["GITHUB_SHA"] = "ci-sha"
	if got := notify.SentryRelease(r, getenv); got != "ci-sha" {
		t.Errorf("CI variable: %q", got)
	}
	env["SENTRY_RELEASE"] = "rel-1"
	if got := notify.SentryRelease(r, getenv); got != "rel-1" {
		t.Errorf("SENTRY_RELEASE: %q", got)
	}
}

func TestExceptionType(t *testing.T) {
	for _, tt := range []struct {
		kind     parse.Kind
		msg, typ string
	}{
		{parse.KindPanic, "runtime error: index out of range [5] with length 3", "runtime.Error"},
		{parse.KindPanic, "main.Crash{Code:1}", "main.Crash"},
		{parse.KindPanic, "(main.T) 0xc000012345", "main.T"},
		{parse.KindPanic, `main.Name("x")`, "main.Name"},
		{parse.KindPanic, "(*main.T) 0x2ec506bd8098", "*main.T"},
		{parse.KindPanic, "main.Code(5)", "main.Code"},
		{parse.KindPanic, "json.Unmarshal(nil) failed", "panic"},
		{parse.KindPanic, "call json.Unmarshal(x)", "panic"},
		{parse.KindPanic, "worker failed", "panic"},
		{parse.KindPanic, "boom: a.b failed", "panic"},
		{parse.KindFatalError, "concurrent map writes", "fatal_error"},
		{parse.KindDeadlock, "all goroutines are asleep - deadlock!", "deadlock"},
	} {
		if got := notify.ExceptionType(&parse.Crash{Kind: tt.kind, Message: tt.msg}); got != tt.typ {
			t.Errorf("ExceptionType(%s %q) = %q, want %q", tt.kind, tt.msg, got, tt.typ)
		}
	}
}

func TestSentryFingerprintIsOptIn(t *testing.T) {
	srv, got := recorder(t, "")
	r := crashReport()
	for _, fp := range []string{"", notify.FingerprintProdwrap} {
		s, err := notify.NewSentry(notify.SentryOptions{DSN: strings.Replace(srv.URL, "http://", "http://k@", 1) + "/1", Fingerprint: fp,
			Tags: map[string]string{"region": "eu", "kind": "not the kind"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Notify(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		req := <-got
		items, err := testreceiver.ParseEnvelope(req.body)
		if err != nil {
			t.Fatal(err)
		}
		var ev struct {
			Fingerprint []string          `json:"fingerprint"`
			Tags        map[string]string `json:"tags"`
		}
		if err := json.Unmarshal(items[0].Payload, &ev); err != nil {
			t.Fatal(err)
		}
		if want := map[string][]string{"": nil, notify.FingerprintProdwrap: r.Fingerprint}[fp]; !cmp.Equal(ev.Fingerprint, want) {
			t.Errorf("fingerprint option %q: sent %q, want %q", fp, ev.Fingerprint, want)
		}
		if ev.Tags["region"] != "eu" || ev.Tags["kind"] != "panic" {
			t.Errorf("tags %v", ev.Tags)
		}
		if len(items) != 2 || items[1].Header["filename"] != "crash.txt" {
			t.Errorf("items %+v", items)
		}
	}
}

func TestParseTags(t *testing.T) {
	got, err := notify.ParseTags(" team=payments, region = eu ,,")
	if err != nil || !cmp.Equal(got, map[string]string{"team": "payments", "region": "eu"}) {
		t.Errorf("ParseTags = %v, %v", got, err)
	}
	for _, bad := range []string{"team", "=x", "a=b,c"} {
		if _, err := notify.ParseTags(bad); err == nil {
			t.Errorf("ParseTags(%q) accepted", bad)
		}
	}
}

func TestSentryEventCarriesTheProgramsTags(t *testing.T) {
	r := crashReport()
	r.Wrap = "monitor"
	r.Tags = map[string]string{"team": "payments", "kind": "not the kind"}
	ev := notify.NewSentryEvent(r)
	want := map[string]string{"team": "payments", "kind": "panic", "wrap": "monitor", "service": r.Service}
	for k, v := range want {
		if ev.Tags[k] != v {
			t.Errorf("tag %s = %q, want %q (prodwrap's own tags win a clash)", k, ev.Tags[k], v)
		}
	}
}

// TestSentryReceiverGetsTheEvent delivers through the real local Sentry
// receiver and reads the stored envelope back.
func TestSentryReceiverGetsTheEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the npm Sentry receiver")
	}
	t.Parallel() // the receiver takes a second to start
	rcv := testreceiver.StartSentry(t)
	s, err := notify.NewSentry(notify.SentryOptions{DSN: rcv.DSN()})
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := notify.OpenSpool(t.TempDir())
	d := &notify.Dispatcher{Spool: sp, Sinks: []notify.Sink{s}, Deadline: 10 * time.Second}
	out, err := d.Deliver(context.Background(), crashReport())
	if err != nil || !out.Complete() {
		t.Fatalf("Deliver: %v %+v", err, out)
	}
	envs := rcv.Envelopes(1, 10*time.Second)
	if len(envs) != 1 {
		t.Fatalf("receiver holds %d envelopes, want 1", len(envs))
	}
	items, err := testreceiver.ParseEnvelope(envs[0])
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	var attachment string
	for _, it := range items {
		switch it.Header["type"] {
		case "event":
			json.Unmarshal(it.Payload, &ev)
		case "attachment":
			if it.Header["filename"] == "crash.txt" {
				attachment = string(it.Payload)
			}
		}
	}
	if ev == nil {
		t.Fatalf("no event item in %q", envs[0])
	}
	exc := values(ev["exception"])[0].(map[string]any)
	if exc["type"] != "runtime.Error" || exc["value"] != "runtime error: invalid memory address or nil pointer dereference" {
		t.Errorf("exception %v: %v", exc["type"], exc["value"])
	}
	if m := exc["mechanism"].(map[string]any); m["type"] != "prodwrap" || m["handled"] != false {
		t.Errorf("mechanism %v", m)
	}
	frames := exc["stacktrace"].(map[string]any)["frames"].([]any)
	last := frames[len(frames)-1].(map[string]any)
	if last["function"] != "(*Server).handle" || last["module"] != "main" || last["lineno"] != 42.0 || last["in_app"] != true || last["abs_path"] != "/src/api/server.go" {
		t.Errorf("innermost frame (last, Sentry is oldest-first) = %v", last)
	}
	if first := frames[0].(map[string]any); first["in_app"] != false {
		t.Errorf("library frame marked in_app: %v", first)
	}
	threads := values(ev["threads"])
	if len(threads) != 2 || threads[0].(map[string]any)["crashed"] != true || !strings.Contains(threads[1].(map[string]any)["name"].(string), "2 goroutines [IO wait]") {
		t.Errorf("threads %v", threads)
	}
	if ev["server_name"] != "host-a" || ev["release"] != "example.com/api@v1.2.3" || ev["environment"] != "production" || ev["level"] != "fatal" {
		t.Errorf("server_name %v release %v environment %v level %v", ev["server_name"], ev["release"], ev["environment"], ev["level"])
	}
	tags := ev["tags"].(map[string]any)
	if tags["kind"] != "panic" || tags["exit_code"] != "2" || tags["go_version"] != "go1.26.8" || tags["signal"] != "SIGSEGV" {
		t.Errorf("tags %v", tags)
	}
	crumbs := values(ev["breadcrumbs"])
	if len(crumbs) != 1 || crumbs[0].(map[string]any)["message"] != "handling order" {
		t.Errorf("breadcrumbs %v", crumbs)
	}
	if !strings.HasPrefix(attachment, "panic: runtime error") {
		t.Errorf("crash.txt attachment = %q", attachment)
	}
}

// recorded is one request a recorder received.
type recorded struct {
	path   string
	header http.Header
	body   []byte
}

// recorder starts a server that answers every request with answer and
// hands each request on, for the tests of what a sink puts on the wire.
func recorder(t *testing.T, answer string) (*httptest.Server, <-chan recorded) {
	got := make(chan recorded, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- recorded{r.URL.Path, r.Header.Clone(), body}
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// values reads a Sentry interface that is either a list or {"values": list}.
func values(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case map[string]any:
		if l, ok := x["values"].([]any); ok {
			return l
		}
	}
	return nil
}

// TestSentryWireFormat: the envelope goes to the DSN's project endpoint
// (a path prefix kept) with the public key in X-Sentry-Auth, never the
// secret; its first line names the event, whose id is the report's.
func TestSentryWireFormat(t *testing.T) {
	srv, got := recorder(t, "")
	dsn := strings.Replace(srv.URL, "http://", "http://pubkey:secretkey@", 1) + "/sentry/42"
	s, err := notify.NewSentry(notify.SentryOptions{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	r := crashReport()
	if err := s.Notify(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	req := <-got
	if ctype := req.header.Get("Content-Type"); req.path != "/sentry/api/42/envelope/" || ctype != "application/x-sentry-envelope" {
		t.Errorf("POST %s (%s)", req.path, ctype)
	}
	if auth := req.header.Get("X-Sentry-Auth"); !strings.Contains(auth, "sentry_key=pubkey") || strings.Contains(auth+string(req.body), "secretkey") {
		t.Errorf("X-Sentry-Auth %q (the secret key is never sent)", auth)
	}
	head, _, _ := strings.Cut(string(req.body), "\n")
	var hdr struct {
		EventID string `json:"event_id"`
	}
	if err := json.Unmarshal([]byte(head), &hdr); err != nil || hdr.EventID != "5b8f2d9e1c3a4e7b9f000a1b2c3d4e5f" || s.Receipt(r) != hdr.EventID {
		t.Errorf("envelope header %q (%v), receipt %q", head, err, s.Receipt(r))
	}
}
