package watch

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/prodwrap/prodwrap/supervise"
)

// ExecArg is the hidden first argument that makes the prodwrap binary its
// own exec trampoline (ExecListenPID): `prodwrap ExecArg PATH ARGV0
// ARGS...`. Only the watcher passes it, and only to /proc/self/exe.
const ExecArg = "__prodwrap-exec-listen-pid"

// selfExe is the running binary, whatever became of its path since.
const selfExe = "/proc/self/exe"

// socketActivated reports whether systemd passed prodwrap sockets to pass
// on (socket activation: LISTEN_FDS set and LISTEN_PID naming prodwrap).
// The descriptors, 3 to 3+LISTEN_FDS-1, are open without close-on-exec,
// so every child inherits them at the same numbers; what the child needs
// besides is a LISTEN_PID that names it (see ExecListenPID).
func socketActivated(getenv func(string) string) bool {
	n, err := strconv.Atoi(getenv("LISTEN_FDS"))
	return err == nil && n > 0 && getenv("LISTEN_PID") == strconv.Itoa(os.Getpid())
}

// trampoline returns the Child's path, argv0 and arguments that start
// path through prodwrap's exec trampoline; ok is false when path cannot
// be found (the child is then started directly, and fails as it would).
func trampoline(path, argv0 string, args []string) (string, string, []string, bool) {
	resolved, err := exec.LookPath(path)
	if err != nil {
		return "", "", nil, false
	}
	if argv0 == "" {
		argv0 = path
	}
	return selfExe, "prodwrap", append([]string{ExecArg, resolved, argv0}, args...), true
}

// ExecListenPID is the exec trampoline: args are PATH ARGV0 ARGS...; it
// sets LISTEN_PID to its own PID and replaces itself with PATH, which
// keeps that PID. sd_listen_fds(3) in the program checks LISTEN_PID
// against getpid(), and os/exec has no moment between fork and exec at
// which to write the child's PID into its environment: the child must do
// it itself (docs/systemd.md). It returns only when exec failed: 127 when
// PATH is gone, 126 when it cannot be executed, with the reason on
// stderr.
func ExecListenPID(args []string, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprintf(stderr, "prodwrap: %s PATH ARGV0 [ARGS...]\n", ExecArg)
		return supervise.ExitFailure
	}
	path := args[0]
	argv := append([]string{args[1]}, args[2:]...)
	env := append(withoutVar(os.Environ(), "LISTEN_PID"), "LISTEN_PID="+strconv.Itoa(os.Getpid()))
	err := syscall.Exec(path, argv, env)
	fmt.Fprintf(stderr, "prodwrap: cannot start %s: %v\n", path, err)
	if errors.Is(err, syscall.ENOENT) {
		return 127
	}
	return 126
}

// withoutVar is env without the variable k.
func withoutVar(env []string, k string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if len(kv) > len(k) && kv[:len(k)] == k && kv[len(k)] == '=' {
			continue
		}
		out = append(out, kv)
	}
	return out
}
