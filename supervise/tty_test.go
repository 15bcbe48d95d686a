package supervise_test

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY returns the master and the slave of a new pseudo-terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// TestTerminalInterruptReachesTheChildOnce runs the supervisor as the
// session leader of a real pseudo-terminal, as a shell would. The child
// becomes the terminal's foreground group, so ^C typed at the terminal
// reaches the child from the kernel once and the supervisor not at all (it
// must not forward a second SIGINT); after the child's exit the terminal's
// foreground is the supervisor's again.
func TestTerminalInterruptReachesTheChildOnce(t *testing.T) {
	master, slave := openPTY(t)
	cmd := helperCommand(t, "supervisor", "echo-signals")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	reportR, reportW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.ExtraFiles = []*os.File{reportW}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reportW.Close()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})

	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(master)
		for sc.Scan() {
			// The terminal echoes ^C before what the child prints next.
			lines <- strings.TrimPrefix(strings.TrimSpace(sc.Text()), "^C")
		}
		close(lines)
	}()
	next := func(want string) {
		t.Helper()
		timeout := time.After(20 * time.Second)
		for {
			select {
			case l := <-lines:
				if l == want {
					return
				}
				if l != "" {
					t.Fatalf("terminal printed %q, want %q", l, want)
				}
			case <-timeout:
				t.Fatalf("no %q on the terminal", want)
			}
		}
	}
	next("ready")
	master.Write([]byte{3}) // ^C
	next(strconv.Itoa(int(syscall.SIGINT)))
	master.Write([]byte{4}) // ^D: end of input, echo-signals exits 0
	if err := cmd.Wait(); err != nil {
		t.Fatalf("supervisor: %v", err)
	}
	report, _ := io.ReadAll(reportR)
	if !strings.Contains(string(report), "forwarded []\n") {
		t.Errorf("the supervisor forwarded signals the terminal had delivered:\n%s", report)
	}
	if !strings.Contains(string(report), "foreground-is-mine true\n") {
		t.Errorf("the terminal's foreground was not given back:\n%s", report)
	}
}
