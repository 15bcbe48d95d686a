package supervise

import (
	"testing"
	"time"
)

// TestStopWakesABlockedReader: a reader blocked on an empty pipe whose
// write end stays open (a grandchild holds it) is woken by stop, and what
// it read then — the wake byte — is not handed on.
func TestStopWakesABlockedReader(t *testing.T) {
	p, w, err := newStderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	handed := make(chan bool, 1)
	go func() {
		buf := make([]byte, 16)
		_, _ = p.read(buf)
		ok := p.handle()
		if ok {
			p.handled()
		}
		p.close()
		handed <- ok
	}()
	p.stop()
	select {
	case ok := <-handed:
		if ok {
			t.Error("the reader handed on a read after stop")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the reader was still blocked 10 s after stop")
	}
}
