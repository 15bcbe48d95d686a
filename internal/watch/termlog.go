package watch

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/prodwrap/prodwrap/config"
)

// TerminationLogLimit is the most Kubernetes reads of a termination
// message: 4096 bytes (the kubelet's maxMessageLength).
const TerminationLogLimit = 4096

// DefaultTerminationLog is the container's terminationMessagePath when
// the pod spec does not set one.
const DefaultTerminationLog = "/dev/termination-log"

// TerminationLog returns the file the crash summary is written to, "" for
// none: the configured one; with none configured, DefaultTerminationLog
// when KUBERNETES_SERVICE_HOST is set (prodwrap runs in a pod) and the
// file is writable; "none" is off.
func TerminationLog(cfg *config.Config, getenv func(string) string) string {
	switch p := cfg.Kubernetes.TerminationLog; p {
	case "none":
		return ""
	case "":
		if getenv("KUBERNETES_SERVICE_HOST") == "" || unix.Access(DefaultTerminationLog, unix.W_OK) != nil {
			return ""
		}
		return DefaultTerminationLog
	default:
		return p
	}
}

// writeTerminationLog replaces the content of path with the summary, cut
// to TerminationLogLimit. It writes in place rather than by rename: the
// kubelet bind-mounts the file into the container.
func writeTerminationLog(path string, s Summary) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("termination log: %w", err)
	}
	_, err = f.WriteString(s.Text(TerminationLogLimit))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("termination log %s: %w", path, err)
	}
	return nil
}
