package watch

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/prodwrap/prodwrap/metrics"
)

// notifyMax bounds one notify datagram; systemd itself reads at most a
// few KiB of one.
const notifyMax = 64 << 10

// notifyMaxFDs is the most descriptors one datagram carries (FDSTORE=1):
// the kernel's SCM_MAX_FD.
const notifyMaxFDs = 253

// notifyTimeout bounds each write to a socket.
const notifyTimeout = time.Second

// relayStopWait bounds how long closing the relay waits for what is
// queued on its socket to be relayed.
const relayStopWait = time.Second

// NotifyRelay is prodwrap's side of systemd's notify protocol for a
// Type=notify service (docs/systemd.md). systemd accepts READY=1,
// WATCHDOG=1 and the rest from the main PID only — prodwrap — so the child
// is given a socket of prodwrap's own as its NOTIFY_SOCKET, and every
// datagram that arrives there is sent on to systemd's socket from
// prodwrap's, with the descriptors it carries (FDSTORE=1, BARRIER=1):
// the kernel then names prodwrap's PID as the sender. A MAINPID= line is
// left out: the main process is prodwrap, whatever the child thinks.
//
// One goroutine relays, in arrival order. prodwrap's own messages
// (Send: STATUS=crashed, STOPPING=1) are sent into the same socket, so
// that they follow what the child sent before. The goroutine ends when it
// reads the stop datagram Close sends (after everything queued before it)
// or, at the latest relayStopWait later, when Close closes the socket.
type NotifyRelay struct {
	conn   *net.UnixConn
	addr   *net.UnixAddr // the child's NOTIFY_SOCKET
	target *net.UnixAddr // systemd's
	dir    string        // the 0700 directory of addr, "" for an abstract socket
	stop   []byte        // the stop datagram: random, known to no child
	logger *slog.Logger
	m      *metrics.Metrics
	done   chan struct{}

	closeOnce sync.Once
}

// StartNotifyRelay opens the child's notify socket for systemd's socket
// notifySocket (NOTIFY_SOCKET: a path, or "@name" for an abstract socket),
// in a new directory of mode 0700 under runtimeDir ($RUNTIME_DIRECTORY,
// "" for the temporary directory), and starts relaying. m may be nil.
func StartNotifyRelay(notifySocket, runtimeDir string, logger *slog.Logger, m *metrics.Metrics) (*NotifyRelay, error) {
	if !strings.HasPrefix(notifySocket, "/") && !strings.HasPrefix(notifySocket, "@") {
		return nil, fmt.Errorf("notify relay: NOTIFY_SOCKET %q is neither a path nor an abstract socket", notifySocket)
	}
	stop := make([]byte, 16)
	rand.Read(stop)
	n := &NotifyRelay{
		target: &net.UnixAddr{Name: notifySocket, Net: "unixgram"},
		stop:   append([]byte("PRODWRAP_RELAY_STOP="), fmt.Appendf(nil, "%x", stop)...),
		logger: logger, m: m, done: make(chan struct{}),
	}
	base, _, _ := strings.Cut(runtimeDir, ":")
	if base == "" {
		base = os.TempDir()
	}
	name := ""
	if dir, err := os.MkdirTemp(base, "prodwrap-notify-"); err == nil {
		if p := filepath.Join(dir, "notify.sock"); len(p) < len(unix.RawSockaddrUnix{}.Path) {
			n.dir, name = dir, p
		} else {
			os.Remove(dir)
		}
	}
	if name == "" { // no room for a path: an abstract socket
		name = fmt.Sprintf("@prodwrap-notify-%d-%x", os.Getpid(), stop[:4])
	}
	n.addr = &net.UnixAddr{Name: name, Net: "unixgram"}
	conn, err := net.ListenUnixgram("unixgram", n.addr)
	if err != nil {
		if n.dir != "" {
			os.RemoveAll(n.dir)
		}
		return nil, fmt.Errorf("notify relay: cannot open the child's socket: %w", err)
	}
	n.conn = conn
	go n.run()
	return n, nil
}

// Socket is the child's NOTIFY_SOCKET.
func (n *NotifyRelay) Socket() string { return n.addr.Name }

// ChildEnv returns env with the child's NOTIFY_SOCKET in place of
// systemd's and without WATCHDOG_PID: that names prodwrap, and
// sd_watchdog_enabled in the child says no when it is another PID than
// its own. WATCHDOG_USEC stays, so the child sees the watchdog is on.
func (n *NotifyRelay) ChildEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "NOTIFY_SOCKET", "WATCHDOG_PID":
			continue
		}
		out = append(out, kv)
	}
	return append(out, "NOTIFY_SOCKET="+n.addr.Name)
}

// Send has msg ("STATUS=...\nSTOPPING=1") relayed after what the child
// sent before it.
func (n *NotifyRelay) Send(msg string) {
	c, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		n.logger.Warn("cannot tell systemd", "msg", msg, "err", err)
		return
	}
	defer c.Close()
	c.SetWriteDeadline(time.Now().Add(notifyTimeout))
	if _, err := c.Write([]byte(msg)); err != nil {
		n.logger.Warn("cannot tell systemd", "msg", msg, "err", err)
	}
}

// Close relays what is queued (for at most relayStopWait), stops the
// goroutine and removes the child's socket. It is safe to call twice.
func (n *NotifyRelay) Close() {
	n.closeOnce.Do(func() {
		if c, err := net.DialUnix("unixgram", nil, n.addr); err == nil {
			c.SetWriteDeadline(time.Now().Add(notifyTimeout))
			c.Write(n.stop)
			c.Close()
		}
		waitBounded(n.done, relayStopWait)
		n.conn.Close()
		<-n.done
		if n.dir != "" {
			os.RemoveAll(n.dir)
		}
	})
}

// run relays until the stop datagram or the socket's close.
func (n *NotifyRelay) run() {
	defer close(n.done)
	defer RecoverLogged(n.logger, n.m, "notify relay")
	buf := make([]byte, notifyMax)
	oob := make([]byte, unix.CmsgSpace(notifyMaxFDs*4))
	for {
		nb, noob, flags, _, err := n.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				n.logger.Error("notify relay stopped; systemd hears no more from the child", "err", err)
			}
			return
		}
		fds := rights(oob[:noob])
		msg := buf[:nb]
		switch {
		case bytes.Equal(msg, n.stop):
			closeAll(fds)
			return
		case flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0:
			n.logger.Warn("notify message too long, or with too many descriptors; not relayed", "bytes", nb)
		default:
			n.relay(withoutMainPID(msg), fds)
		}
		closeAll(fds)
	}
}

// relay sends one message on to systemd, with its descriptors.
func (n *NotifyRelay) relay(msg []byte, fds []int) {
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	n.conn.SetWriteDeadline(time.Now().Add(notifyTimeout))
	if _, _, err := n.conn.WriteMsgUnix(msg, oob, n.target); err != nil {
		n.logger.Warn("cannot relay the child's notify message to systemd", "msg", firstLine(msg), "err", err)
		return
	}
	n.logger.Debug("relayed to systemd", "msg", firstLine(msg))
}

// withoutMainPID drops the MAINPID= lines of msg.
func withoutMainPID(msg []byte) []byte {
	if !bytes.Contains(msg, []byte("MAINPID=")) {
		return msg
	}
	var out [][]byte
	for _, l := range bytes.Split(msg, []byte("\n")) {
		if !bytes.HasPrefix(l, []byte("MAINPID=")) {
			out = append(out, l)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

// rights returns the descriptors an SCM_RIGHTS message carries.
func rights(oob []byte) []int {
	if len(oob) == 0 {
		return nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for _, m := range msgs {
		if f, err := unix.ParseUnixRights(&m); err == nil {
			fds = append(fds, f...)
		}
	}
	return fds
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

func firstLine(b []byte) string {
	l, _, _ := bytes.Cut(b, []byte("\n"))
	return string(cutUTF8(string(l), 200))
}
