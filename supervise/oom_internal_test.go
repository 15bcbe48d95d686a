package supervise

import (
	"errors"
	"path/filepath"
	"testing"
)

// TestOOMKillsReadsAfreshWhenItsFilesAreGone: the counter files looked up
// once are looked up again when none of them is there any more (a process
// moved to another cgroup) or the first lookup failed, and the count is the
// current cgroup's; a lookup that found no counter file is kept.
func TestOOMKillsReadsAfreshWhenItsFilesAreGone(t *testing.T) {
	want, err := OOMKills(0)
	if errors.Is(err, ErrNoCgroup) {
		t.Skip("no memory cgroup counter visible here")
	}
	if err != nil {
		t.Fatal(err)
	}
	saved := selfCounterFiles
	t.Cleanup(func() { selfCounterFiles = saved })
	gone := filepath.Join(t.TempDir(), "memory.events")
	selfCounterFiles = func() ([]string, error) { return []string{gone}, nil }
	if got, err := OOMKills(0); err != nil || got < want {
		t.Errorf("OOMKills with its files gone = %d, %v; want at least %d", got, err, want)
	}
	selfCounterFiles = func() ([]string, error) { return nil, errors.New("EMFILE, say") }
	if got, err := OOMKills(0); err != nil || got < want {
		t.Errorf("OOMKills after a failed lookup = %d, %v; want at least %d", got, err, want)
	}
	selfCounterFiles = func() ([]string, error) { return nil, nil }
	if _, err := OOMKills(0); !errors.Is(err, ErrNoCgroup) {
		t.Errorf("OOMKills without counter files = %v, want ErrNoCgroup", err)
	}
}
