package e2e_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/prodwrap/prodwrap/internal/testreceiver"
	"github.com/prodwrap/prodwrap/internal/watch"
	"github.com/prodwrap/prodwrap/internal/zoo"
)

// Tests of what prodwrap tells the platform it runs on (issue 16): the
// Kubernetes termination message, systemd's notify protocol, the journal,
// and `prodwrap test`. Every socket and receiver is the test's own.

// TestTerminationLogHoldsTheSummary: with --termination-log FILE, a
// crashing child leaves FILE holding the summary — kind, message, culprit
// file:line, report id — in at most 4096 bytes.
func TestTerminationLogHoldsTheSummary(t *testing.T) {
	crasher := zoo.Build(t, zoo.Plain)
	file := filepath.Join(t.TempDir(), "termination-log")
	r := prodwrap(t, nil, nil, "--termination-log", file, "--", crasher, "nil-deref")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\n%s", r.code, r.stderr)
	}
	msg, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("no termination message: %v\n%s", err, r.stderr)
	}
	reps := r.reports(t)
	if len(reps) != 1 {
		t.Fatalf("%d reports", len(reps))
	}
	_, line := zoo.MarkerLine(t, "nil-deref")
	for _, want := range []string{
		"crashed (panic): runtime error: invalid memory address or nil pointer dereference",
		fmt.Sprintf("at main.(*Server).handle (%s:%d)", reps[0].Crash.Culprit.File, line),
		"report " + reps[0].ID,
	} {
		if !bytes.Contains(msg, []byte(want)) {
			t.Errorf("termination message lacks %q:\n%s", want, msg)
		}
	}
	if len(msg) > watch.TerminationLogLimit {
		t.Errorf("termination message is %d bytes, more than %d", len(msg), watch.TerminationLogLimit)
	}
}

// TestTerminationLogCutsAHugeMessage: a 10 MB panic message is cut to
// fit, at a rune boundary, and the lines that identify the crash stay.
func TestTerminationLogCutsAHugeMessage(t *testing.T) {
	crasher := zoo.Build(t, zoo.Plain)
	file := filepath.Join(t.TempDir(), "termination-log")
	r := prodwrap(t, nil, []string{"PRODWRAP_TERMINATION_LOG=" + file}, "--", crasher, "huge-panic")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\n%.2000s", r.code, r.stderr)
	}
	msg, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("no termination message: %v", err)
	}
	reps := r.reports(t)
	if len(reps) != 1 {
		t.Fatalf("%d reports", len(reps))
	}
	if len(msg) > watch.TerminationLogLimit || len(msg) < watch.TerminationLogLimit-100 {
		t.Errorf("termination message is %d bytes; want nearly %d, not more", len(msg), watch.TerminationLogLimit)
	}
	if !utf8.Valid(msg) {
		t.Errorf("termination message is not valid UTF-8: ...%q", msg[len(msg)-200:])
	}
	for _, want := range []string{"crashed (panic): üüü", "…\nat main.hugePanic (", "report " + reps[0].ID} {
		if !bytes.Contains(msg, []byte(want)) {
			t.Errorf("termination message lacks %q: ...%s", want, msg[max(0, len(msg)-300):])
		}
	}
}

// notifySocket is a datagram socket the test owns, standing for systemd's
// NOTIFY_SOCKET: it receives each datagram with the sender's credentials
// (SO_PASSCRED), which the kernel fills in, and closes the descriptors a
// datagram carries at once, as systemd does with a BARRIER=1's.
type notifySocket struct {
	path string
	got  chan notifyMessage
}

// notifyMessage is one datagram and the PID that sent it.
type notifyMessage struct {
	text string
	pid  int32
}

func listenNotify(t *testing.T) *notifySocket {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	raw.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1) })
	if serr != nil {
		t.Fatalf("SO_PASSCRED: %v", serr)
	}
	s := &notifySocket{path: path, got: make(chan notifyMessage, 64)}
	done := make(chan struct{})
	t.Cleanup(func() { conn.Close(); <-done })
	go func() { // ends when the cleanup closes conn
		defer close(done)
		buf := make([]byte, 64<<10)
		oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred)+unix.CmsgSpace(253*4))
		for {
			n, noob, _, _, err := conn.ReadMsgUnix(buf, oob)
			if err != nil {
				return
			}
			m := notifyMessage{text: string(buf[:n]), pid: -1}
			msgs, _ := unix.ParseSocketControlMessage(oob[:noob])
			for _, cm := range msgs {
				if cred, err := unix.ParseUnixCredentials(&cm); err == nil {
					m.pid = cred.Pid
				}
				if fds, err := unix.ParseUnixRights(&cm); err == nil {
					for _, fd := range fds {
						unix.Close(fd)
					}
				}
			}
			select {
			case s.got <- m:
			default:
				t.Errorf("more than %d notify messages", cap(s.got))
			}
		}
	}()
	return s
}

// read returns what arrived, waiting up to a second after the last one.
func (s *notifySocket) read(t *testing.T) []notifyMessage {
	t.Helper()
	var out []notifyMessage
	for {
		select {
		case m := <-s.got:
			out = append(out, m)
		case <-time.After(time.Second):
			return out
		}
	}
}

// startWithNotify starts prodwrap with NOTIFY_SOCKET at sock and the
// watchdog variables systemd sets for a main PID of its own (the test's).
func startWithNotify(t *testing.T, sock *notifySocket, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := command(t, prodwrapBin(t), args...)
	cmd.Env = append(os.Environ(), "PRODWRAP_SPOOL="+t.TempDir(), "PRODWRAP_LOG_FORMAT=json",
		"NOTIFY_SOCKET="+sock.path, "WATCHDOG_USEC=30000000", "WATCHDOG_PID="+strconv.Itoa(os.Getpid()))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stdout, &stderr
}

// TestNotifyRelayedFromProdwrapsPID: a Type=notify child behind prodwrap
// sends READY=1 and WATCHDOG=1 to its NOTIFY_SOCKET; systemd's socket
// receives both, sent by prodwrap's PID (systemd takes them from the main
// PID only), and nothing else from the child. The child sees
// WATCHDOG_USEC and no WATCHDOG_PID naming another process.
func TestNotifyRelayedFromProdwrapsPID(t *testing.T) {
	crasher := zoo.Build(t, zoo.Plain)
	sock := listenNotify(t)
	cmd, stdout, stderr := startWithNotify(t, sock, "--", crasher, "sd-notify", "0", "READY=1\nSTATUS=serving", "WATCHDOG=1", "MAINPID=1\nEXTEND_TIMEOUT_USEC=5000000")
	if code := exitCode(t, cmd.Wait()); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	got := sock.read(t)
	want := []string{"READY=1\nSTATUS=serving", "WATCHDOG=1", "EXTEND_TIMEOUT_USEC=5000000"}
	if len(got) != len(want) {
		t.Fatalf("systemd's socket got %q, want %q\n%s", got, want, stderr)
	}
	for i, m := range got {
		if m.text != want[i] || int(m.pid) != cmd.Process.Pid {
			t.Errorf("datagram %d: %q from PID %d, want %q from prodwrap's PID %d", i, m.text, m.pid, want[i], cmd.Process.Pid)
		}
	}
	env := strings.Fields(stdout.String())
	if len(env) < 2 || env[0] != "WATCHDOG_USEC=30000000" || env[1] != "WATCHDOG_PID=" {
		t.Errorf("the child saw %q; want WATCHDOG_USEC=30000000 and no WATCHDOG_PID", stdout)
	}
}

// TestNotifyCrashTellsSystemd: when the child dies abnormally and no
// restart follows, prodwrap itself sends STOPPING=1 and STATUS=crashed:
// with the summary, after what the child sent.
func TestNotifyCrashTellsSystemd(t *testing.T) {
	crasher := zoo.Build(t, zoo.Plain)
	sock := listenNotify(t)
	cmd, _, stderr := startWithNotify(t, sock, "--", crasher, "sd-notify", "3", "READY=1")
	if code := exitCode(t, cmd.Wait()); code != 3 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	got := sock.read(t)
	if len(got) != 2 || got[0].text != "READY=1" {
		t.Fatalf("systemd's socket got %q, want READY=1 and prodwrap's own", got)
	}
	if m := got[1]; !strings.HasPrefix(m.text, "STOPPING=1\nSTATUS=crashed: crasher crashed (exit): exit status 3") || int(m.pid) != cmd.Process.Pid {
		t.Errorf("prodwrap's own message: %q from PID %d (prodwrap is %d)", m.text, m.pid, cmd.Process.Pid)
	}
}

// TestSystemdNotifyBehindProdwrap: the real systemd-notify --ready as the
// child is heard, from prodwrap's PID. systemd-notify then waits for a
// BARRIER=1 (a datagram carrying a pipe, done when the receiver closed
// it): that it exits 0 shows the descriptor was relayed too.
func TestSystemdNotifyBehindProdwrap(t *testing.T) {
	sdnotify, err := exec.LookPath("systemd-notify")
	if err != nil {
		t.Skip("systemd-notify is not installed (.ci/run installs Debian's systemd)")
	}
	sock := listenNotify(t)
	cmd, _, stderr := startWithNotify(t, sock, "--", sdnotify, "--ready", "--status=up")
	if code := exitCode(t, cmd.Wait()); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	got := sock.read(t)
	if len(got) == 2 && got[1].text == "BARRIER=1" && int(got[1].pid) == cmd.Process.Pid {
		got = got[:1]
	}
	if len(got) != 1 || !strings.Contains(got[0].text, "READY=1") || !strings.Contains(got[0].text, "STATUS=up") || int(got[0].pid) != cmd.Process.Pid {
		t.Fatalf("systemd's socket got %+v, want READY=1 and STATUS=up from prodwrap's PID %d\n%s", got, cmd.Process.Pid, stderr)
	}
	if strings.Contains(got[0].text, "MAINPID=") {
		t.Errorf("the relayed message names a main PID: %q", got[0].text)
	}
}

// readJournalEntry decodes one datagram of journald's native protocol:
// KEY=value lines, and KEY\n<uint64 LE length><value>\n for values with
// newlines.
func readJournalEntry(t *testing.T, b []byte) map[string]string {
	t.Helper()
	fields := map[string]string{}
	for len(b) > 0 {
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			t.Fatalf("journal entry: field without a newline: %q", b)
		}
		line := b[:nl]
		if k, v, ok := bytes.Cut(line, []byte("=")); ok {
			fields[string(k)] = string(v)
			b = b[nl+1:]
			continue
		}
		rest := b[nl+1:]
		if len(rest) < 8 {
			t.Fatalf("journal entry: %s: no length", line)
		}
		n := binary.LittleEndian.Uint64(rest)
		if uint64(len(rest)) < 8+n+1 || rest[8+n] != '\n' {
			t.Fatalf("journal entry: %s: bad length %d", line, n)
		}
		fields[string(line)] = string(rest[8 : 8+n])
		b = rest[8+n+1:]
	}
	return fields
}

// TestJournalEntryOfACrash: when prodwrap's stderr is the journal
// (JOURNAL_STREAM names it), a crash is also one structured entry at
// journald's socket ($PRODWRAP_JOURNAL_SOCKET, the test's).
func TestJournalEntryOfACrash(t *testing.T) {
	crasher := zoo.Build(t, zoo.Plain)
	conn, stderr, journalEnv := journalStderr(t, t.TempDir())
	spool := t.TempDir()
	cmd := command(t, prodwrapBin(t), "--", crasher, "nil-deref")
	cmd.Env = append(append(os.Environ(), "PRODWRAP_SPOOL="+spool), journalEnv...)
	cmd.Stderr = stderr
	if code := exitCode(t, cmd.Run()); code != 2 {
		t.Fatalf("exit %d", code)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1<<20)
	n, err := conn.Read(buf)
	if err != nil {
		out, _ := os.ReadFile(stderr.Name())
		t.Fatalf("no journal entry: %v\n%s", err, out)
	}
	f := readJournalEntry(t, buf[:n])
	reps := (run{spool: spool}).reports(t)
	if len(reps) != 1 {
		t.Fatalf("%d reports", len(reps))
	}
	culprit := reps[0].Crash.Culprit
	want := map[string]string{
		"PRIORITY":           "2",
		"MESSAGE_ID":         watch.JournalMessageID,
		"CODE_FILE":          culprit.File,
		"CODE_LINE":          strconv.Itoa(culprit.Line),
		"CODE_FUNC":          "main.(*Server).handle",
		"PRODWRAP_KIND":      "panic",
		"PRODWRAP_REPORT_ID": reps[0].ID,
	}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("%s=%q, want %q", k, f[k], v)
		}
	}
	if !strings.HasPrefix(f["MESSAGE"], "crasher crashed (panic): runtime error: invalid memory address") || !strings.Contains(f["MESSAGE"], "\nreport "+reps[0].ID) {
		t.Errorf("MESSAGE=%q", f["MESSAGE"])
	}
	if _, ok := f["SENTRY_EVENT_ID"]; ok {
		t.Errorf("SENTRY_EVENT_ID=%q without a Sentry sink", f["SENTRY_EVENT_ID"])
	}
}

// TestJournalOnlyWhenStderrIsTheJournal: a JOURNAL_STREAM that names
// another file (inherited from a parent whose stderr it was) sends nothing.
func TestJournalOnlyWhenStderrIsTheJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := prodwrap(t, nil, []string{"PRODWRAP_JOURNAL_SOCKET=" + path, "JOURNAL_STREAM=1:1"}, "--", "/bin/sh", "-c", "exit 3")
	if r.code != 3 {
		t.Fatalf("exit %d", r.code)
	}
	conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := conn.Read(make([]byte, 4096)); err == nil {
		t.Errorf("the journal got an entry though stderr is not the journal: %d bytes", n)
	}
}

// TestProdwrapTestReachesEverySink: `prodwrap test` with the file sink and
// a webhook prints one line per sink and exits 0; the webhook got a report
// marked as a test, and nothing is left in the spool.
func TestProdwrapTestReachesEverySink(t *testing.T) {
	got := make(chan []byte, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		b.ReadFrom(r.Body)
		got <- b.Bytes()
	}))
	defer srv.Close()
	r := prodwrap(t, nil, []string{"PRODWRAP_WEBHOOK_URL=" + srv.URL + "/hook", "PRODWRAP_FILE=true"}, "test")
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(string(r.stdout)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "file: delivered (") || lines[1] != "webhook:env: delivered" {
		t.Errorf("stdout: %q, want one delivered line for file and for webhook:env", lines)
	}
	select {
	case body := <-got:
		if !bytes.Contains(body, []byte(`"prodwrap_test":"true"`)) || !bytes.Contains(body, []byte(watch.TestMessage)) {
			t.Errorf("the webhook's report is not marked as a test: %.500s", body)
		}
	default:
		t.Error("the webhook got nothing")
	}
	if left, _ := filepath.Glob(filepath.Join(r.spool, "pending", "*.json")); len(left) > 0 {
		t.Errorf("the test report stays in the spool: %q", left)
	}
}

// TestProdwrapTestNamesTheFailingSink: with the webhook at a closed port,
// `prodwrap test` exits 1, the webhook's line says why, the file sink's
// says delivered, and the test report does not wait in the spool for a
// later flush.
func TestProdwrapTestNamesTheFailingSink(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	r := prodwrap(t, nil, []string{"PRODWRAP_WEBHOOK_URL=http://" + closed + "/hook", "PRODWRAP_FILE=true", "PRODWRAP_DEADLINE=500ms"}, "test")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(string(r.stdout)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "file: delivered") || !strings.HasPrefix(lines[1], "webhook:env: FAILED: ") || !strings.Contains(lines[1], "connection refused") {
		t.Errorf("stdout: %q, want file delivered and webhook:env FAILED with the error", lines)
	}
	if left, _ := filepath.Glob(filepath.Join(r.spool, "pending", "*.json")); len(left) > 0 {
		t.Errorf("the test report stays in the spool: %q", left)
	}
}

// TestSocketActivationPassesTheSockets: systemd's sockets (LISTEN_FDS,
// with LISTEN_PID naming prodwrap) reach the child at the same
// descriptors, with a LISTEN_PID that names the child, so that
// sd_listen_fds(3) takes them: the child answers on the test's listener.
func TestSocketActivationPassesTheSockets(t *testing.T) {
	crasher := zoo.Build(t, zoo.Plain)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	lf, err := l.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	// The shell stands for systemd: its PID is prodwrap's after exec.
	cmd := command(t, "/bin/sh", "-c", `export LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=web; exec "$0" -- "$1" listen-fds`, prodwrapBin(t), crasher)
	cmd.Env = append(os.Environ(), "PRODWRAP_SPOOL="+t.TempDir())
	cmd.ExtraFiles = []*os.File{lf}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", l.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var answer bytes.Buffer
	answer.ReadFrom(c)
	if code := exitCode(t, cmd.Wait()); code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, &stdout, &stderr)
	}
	if got := stdout.String(); got != "LISTEN_PID=ok LISTEN_FDS=1 LISTEN_FDNAMES=web\n" {
		t.Errorf("the child saw %q", got)
	}
	if !strings.HasPrefix(answer.String(), "hello from ") {
		t.Errorf("the child's answer on the passed socket: %q", &answer)
	}
}

// TestNotifyCrashInSupervisorMode: a crash that prodwrap restarts after is
// STATUS=crashed alone — the service goes on, and the next child says
// READY=1 again; the crash after which prodwrap gives up adds STOPPING=1.
func TestNotifyCrashInSupervisorMode(t *testing.T) {
	crasher := zoo.Build(t, zoo.Plain)
	sock := listenNotify(t)
	cmd, _, stderr := startWithNotify(t, sock, "--restart", "on-failure", "--restart-delay", "1ms", "--max-restarts", "1", "--",
		crasher, "sd-notify", "3", "READY=1")
	if code := exitCode(t, cmd.Wait()); code != 3 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	got := sock.read(t)
	var texts []string
	for _, m := range got {
		texts = append(texts, strings.SplitN(m.text, ": ", 2)[0])
		if int(m.pid) != cmd.Process.Pid {
			t.Errorf("%q from PID %d, not prodwrap's %d", m.text, m.pid, cmd.Process.Pid)
		}
	}
	want := []string{"READY=1", "STATUS=crashed", "READY=1", "STOPPING=1\nSTATUS=crashed"}
	if strings.Join(texts, "|") != strings.Join(want, "|") {
		t.Errorf("systemd's socket got %q, want %q", texts, want)
	}
}

// TestProdwrapTestWithSentryAndSlack: `prodwrap test` with the local
// Sentry receiver, slacktest and a webhook prints one delivered line for
// each (Sentry's with the event id), and every receiver got the test
// report — a Sentry event, a Slack message.
func TestProdwrapTestWithSentryAndSlack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the npm Sentry receiver")
	}
	rcv := testreceiver.StartSentry(t)
	slackSrv := testreceiver.StartSlack(t, nil)
	hook := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer hook.Close()
	r := prodwrap(t, nil, []string{"SENTRY_DSN=" + rcv.DSN(), "PRODWRAP_SLACK_WEBHOOK_URL=" + slackSrv.WebhookURL(), "PRODWRAP_WEBHOOK_URL=" + hook.URL}, "test")
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(string(r.stdout)), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "sentry: delivered (event ") || lines[1] != "slack: delivered" || lines[2] != "webhook:env: delivered" {
		t.Errorf("stdout: %q, want sentry, slack and webhook:env delivered", lines)
	}
	if envs := rcv.Envelopes(1, 15*time.Second); len(envs) != 1 || !bytes.Contains(envs[0], []byte("prodwrap test report")) {
		t.Errorf("Sentry got %d envelopes, want the test report", len(envs))
	}
	if msgs := slackSrv.WebhookMessages(); len(msgs) != 1 || !strings.Contains(fmt.Sprint(msgs[0]), "prodwrap test report") {
		t.Errorf("Slack got %d messages, want the test report", len(msgs))
	}
}

// TestSentryEventIDReachesThePlatform: once Sentry took the report, the
// termination message and the journal entry name its event.
func TestSentryEventIDReachesThePlatform(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the npm Sentry receiver")
	}
	rcv := testreceiver.StartSentry(t)
	crasher := zoo.Build(t, zoo.Plain)
	dir := t.TempDir()
	conn, stderr, journalEnv := journalStderr(t, dir)
	tlog := filepath.Join(dir, "termination-log")
	spool := t.TempDir()
	cmd := command(t, prodwrapBin(t), "--termination-log", tlog, "--", crasher, "panic-string")
	cmd.Env = append(append(os.Environ(), "PRODWRAP_SPOOL="+spool, "PRODWRAP_FILE=true", "SENTRY_DSN="+rcv.DSN()), journalEnv...)
	cmd.Stderr = stderr
	if code := exitCode(t, cmd.Run()); code != 2 {
		t.Fatalf("exit %d", code)
	}
	reps := (run{spool: spool}).reports(t)
	if len(reps) != 1 {
		t.Fatalf("%d reports", len(reps))
	}
	envs := rcv.Envelopes(1, 15*time.Second)
	if len(envs) != 1 {
		t.Fatalf("Sentry got %d envelopes", len(envs))
	}
	var header struct {
		EventID string `json:"event_id"`
	}
	first, _, _ := bytes.Cut(envs[0], []byte("\n"))
	if err := json.Unmarshal(first, &header); err != nil || header.EventID == "" {
		t.Fatalf("envelope header %q: %v", first, err)
	}
	event := header.EventID
	msg, _ := os.ReadFile(tlog)
	if !bytes.Contains(msg, []byte("\nsentry event "+event+"\n")) {
		t.Errorf("the termination message does not name Sentry's event %s:\n%s", event, msg)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1<<20)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no journal entry: %v", err)
	}
	if f := readJournalEntry(t, buf[:n]); f["SENTRY_EVENT_ID"] != event {
		t.Errorf("SENTRY_EVENT_ID=%q, want %s", f["SENTRY_EVENT_ID"], event)
	}
}

// journalStderr stands for journald: a datagram socket in dir for the
// journal's entries, and a file for prodwrap's stderr that JOURNAL_STREAM
// names, with the environment that says both. Both close with the test.
func journalStderr(t *testing.T, dir string) (*net.UnixConn, *os.File, []string) {
	t.Helper()
	path := filepath.Join(dir, "journal.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stderr.Close() })
	var st unix.Stat_t
	if err := unix.Fstat(int(stderr.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return conn, stderr, []string{"PRODWRAP_JOURNAL_SOCKET=" + path, fmt.Sprintf("JOURNAL_STREAM=%d:%d", st.Dev, st.Ino)}
}
