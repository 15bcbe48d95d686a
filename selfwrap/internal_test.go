package selfwrap

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	"golang.org/x/sys/unix"

	"github.com/prodwrap/prodwrap/config"
)

func TestParseStat(t *testing.T) {
	// proc(5): pid (comm) state, then fields 4..52; exit_code is the last.
	fields := func(state string, exitCode int) string {
		f := make([]string, 50)
		for i := range f {
			f[i] = "0"
		}
		f[0] = state
		f[49] = strconv.Itoa(exitCode)
		return strings.Join(f, " ")
	}
	tests := []struct {
		name, stat string
		want       syscall.WaitStatus
		state      byte
		wantErr    bool
	}{
		{"exit 3", "42 (api) " + fields("Z", 3<<8), 3 << 8, 'Z', false},
		{"SIGTERM", "42 (api) " + fields("Z", 15), 15, 'Z', false},
		{"name with ) and spaces", "42 (my (odd) name) " + fields("Z", 2<<8), 2 << 8, 'Z', false},
		{"running", "42 (api) " + fields("S", 0), 0, 'S', false},
		{"too short", "42 (api) Z 1 2 3", 0, 0, true},
		{"no name", "42 api Z", 0, 0, true},
		{"bad number", "42 (api) " + strings.Replace(fields("Z", 0), " 0", " x", 49), 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, state, err := parseStat([]byte(tt.stat + "\n"))
			if (err != nil) != tt.wantErr || (err == nil && (ws != tt.want || state != tt.state)) {
				t.Errorf("parseStat = %#x %q %v, want %#x %q (error %v)", ws, state, err, tt.want, tt.state, tt.wantErr)
			}
		})
	}
}

// TestExitStatusOfARealProcess reads a real child's status both ways the
// monitor can: /proc/PID/stat while it is a zombie, the pidfd once reaped.
func TestExitStatusOfARealProcess(t *testing.T) {
	for _, tt := range []struct {
		script string
		want   syscall.WaitStatus
	}{
		{"exit 3", 3 << 8},
		{"kill -TERM $$", syscall.WaitStatus(syscall.SIGTERM)},
	} {
		cmd := exec.Command("/bin/sh", "-c", tt.script)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pid := cmd.Process.Pid
		pidfd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			t.Fatal(err)
		}
		dir, err := unix.Open("/proc/"+strconv.Itoa(pid), unix.O_DIRECTORY|unix.O_RDONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		// Not reaped yet: only the zombie's stat can tell.
		zombie := &process{pid: pid, pidfd: -1, dir: dir}
		if ws, ok := zombie.exitStatus(10 * time.Second); !ok || ws != tt.want {
			t.Errorf("%s: zombie status %#x %v, want %#x", tt.script, ws, ok, tt.want)
		}
		cmd.Wait()
		reaped := &process{pid: pid, pidfd: pidfd, dir: -1}
		ws, ok := reaped.exitStatus(time.Second)
		var info unix.PidfdInfo
		info.Mask = unix.PIDFD_INFO_EXIT
		if unix.IoctlPidfdInfo(pidfd, &info) != nil {
			t.Logf("this kernel has no PIDFD_INFO_EXIT (Linux 6.15); the pidfd path is not checked")
		} else if !ok || ws != tt.want {
			t.Errorf("%s: pidfd status %#x %v, want %#x", tt.script, ws, ok, tt.want)
		}
		zombie.Close()
		reaped.Close()
	}
}

func TestExitStatusGivesUp(t *testing.T) {
	p := &process{pid: os.Getpid(), pidfd: -1, dir: -1}
	start := time.Now()
	if _, ok := p.exitStatus(50 * time.Millisecond); ok {
		t.Error("a status for a process that cannot be observed")
	}
	if time.Since(start) > 5*time.Second {
		t.Error("exitStatus did not give up at its timeout")
	}
}

func TestLastFatalLine(t *testing.T) {
	next := []byte("goroutine 7 [running]:")
	tests := []struct {
		name, stderr, want string
	}{
		{"the line before the dump", "log\nfatal error: concurrent map writes\n\ngoroutine 7 [running]:\nmain.main()\n", "fatal error: concurrent map writes\n"},
		{"the last of two", "fatal error: old\n\ngoroutine 1 [running]:\nfatal error: concurrent map writes\n\ngoroutine 7 [running]:\n", "fatal error: concurrent map writes\n"},
		{"an old one not followed by this dump", "fatal error: old\n\ngoroutine 1 [running]:\n", ""},
		{"mid-line is not a header", "log: fatal error: nope\n\ngoroutine 7 [running]:\n", ""},
		{"none", "goroutine 7 [running]:\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(lastFatalLine([]byte(tt.stderr), next)); got != tt.want {
				t.Errorf("lastFatalLine = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCrashOutputIsMadeWhole(t *testing.T) {
	const dump = "\ngoroutine 7 [running]:\nmain.main()\n\t/src/main.go:3 +0x1\n"
	found := func([]byte) []byte { return []byte("fatal error: concurrent map writes\n") }
	none := func([]byte) []byte { return nil }
	tests := []struct {
		name string
		in   string
		find func([]byte) []byte
		want string
	}{
		{"a panic is whole", "panic: boom\n" + dump, none, "panic: boom\n" + dump},
		{"a signal report is whole", "SIGQUIT: quit\n" + dump, none, "SIGQUIT: quit\n" + dump},
		{"a fatal error gets its line from stderr", dump, found, "fatal error: concurrent map writes\n" + dump},
		{"else a header that says so", dump, none, noMessage + dump},
		{"nothing stays nothing", "", none, ""},
		{"blank lines stay blank", "\n\n", none, "\n\n"},
	}
	for _, tt := range tests {
		for name, wrap := range map[string]func(io.Reader) io.Reader{"": func(r io.Reader) io.Reader { return r }, "one byte": iotest.OneByteReader, "half": iotest.HalfReader} {
			got, err := io.ReadAll(crashOutput(wrap(strings.NewReader(tt.in)), tt.find))
			if err != nil || string(got) != tt.want {
				t.Errorf("%s (%s reader): %q %v, want %q", tt.name, name, got, err, tt.want)
			}
		}
	}
}

func TestCrashOutputPassesReadErrors(t *testing.T) {
	r := io.MultiReader(strings.NewReader("panic: boom\n"), iotest.ErrReader(io.ErrUnexpectedEOF))
	got, err := io.ReadAll(crashOutput(r, func([]byte) []byte { return nil }))
	if string(got) != "panic: boom\n" || err != io.ErrUnexpectedEOF {
		t.Errorf("got %q, %v", got, err)
	}
}

func TestHeadBufferKeepsTheHead(t *testing.T) {
	h := &headBuffer{max: 10}
	for _, s := range []string{"0123", "45678", "9abc", "def"} {
		if n, err := h.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if h.buf.String() != "0123456789" || h.n != 16 {
		t.Errorf("kept %q of %d", h.buf.String(), h.n)
	}
}

func TestMonitorEnvironIsMinimal(t *testing.T) {
	env := []string{"HOME=/home/api", "DATABASE_URL=postgres://secret", "PRODWRAP_SENTRY_DSN=https://k@s/1", "PATH=/bin", monitorEnv + "=stale", "API_KEY=x", "GOCOVERDIR=/tmp/cov"}
	spec := monitorSpec{PID: 42, Started: time.Unix(1, 0), Path: "/srv/api", Args: []string{"--port", "80"}, PidFD: 3, ProcDir: 4}
	got, err := monitorEnviron(env, spec)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"HOME=/home/api", "PRODWRAP_SENTRY_DSN=https://k@s/1", "PATH=/bin", "GOCOVERDIR=/tmp/cov"}
	if strings.Join(got[1:], " ") != strings.Join(want, " ") {
		t.Errorf("environment %q, want the marker then %q", got, want)
	}
	k, v, _ := strings.Cut(got[0], "=")
	var back monitorSpec
	if k != monitorEnv || json.Unmarshal([]byte(v), &back) != nil || back.PID != 42 || back.Path != "/srv/api" || back.ProcDir != 4 || !back.Started.Equal(spec.Started) {
		t.Errorf("marker %q", got[0])
	}
}

func TestLoadConfig(t *testing.T) {
	cfg := config.Default()
	cfg.Service.Name = "api"
	got, err := loadConfig(Options{Config: cfg})
	if err != nil || got != cfg {
		t.Errorf("inline config: %v, %v", got, err)
	}
	bad := config.Default()
	bad.Process.Restart = "sometimes"
	if _, err := loadConfig(Options{Config: bad}); err == nil {
		t.Error("an invalid inline config was accepted")
	}
	if _, err := loadConfig(Options{ConfigFile: "/nonexistent/prodwrap.toml"}); err == nil || !strings.Contains(err.Error(), "/nonexistent/prodwrap.toml") {
		t.Errorf("missing file: %v", err)
	}
	file := t.TempDir() + "/c.toml"
	os.WriteFile(file, []byte("[service]\nname = \"from-file\"\n"), 0o600)
	if got, err := loadConfig(Options{ConfigFile: file}); err != nil || got.Service.Name != "from-file" {
		t.Errorf("file: %+v %v", got, err)
	}
}

func TestModeString(t *testing.T) {
	for m, want := range map[Mode]string{ReExec: "reexec", Monitor: "monitor", Mode(7): "Mode(7)"} {
		if m.String() != want {
			t.Errorf("%d: %q", int(m), m.String())
		}
	}
}
