package supervise

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A spill file held by its writer is left alone; one whose writer is gone
// (here: its descriptor closed without removing it, as a SIGKILL leaves
// it) is removed; a link of the same pattern is not followed.
func TestRemoveDeadSpills(t *testing.T) {
	dir := t.TempDir()
	live, err := createSpill(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	dead, err := createSpill(dir)
	if err != nil {
		t.Fatal(err)
	}
	dead.Close()
	target := filepath.Join(t.TempDir(), "precious")
	os.WriteFile(target, []byte("keep"), 0o600)
	link := filepath.Join(dir, "prodwrap-dump-link.txt")
	os.Symlink(target, link)

	n, err := RemoveDeadSpills(dir)
	if err != nil || n != 1 {
		t.Fatalf("RemoveDeadSpills = %d, %v; want 1 removed", n, err)
	}
	if _, err := os.Stat(live.Name()); err != nil {
		t.Errorf("the live spill file was removed: %v", err)
	}
	if _, err := os.Stat(dead.Name()); !os.IsNotExist(err) {
		t.Errorf("the dead spill file is still there: %v", err)
	}
	if _, err := os.Lstat(link); err != nil {
		t.Errorf("the link was removed: %v", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("the link's target changed")
	}
}

// A spool directory that does not exist has no spill files; one that
// cannot be listed is an error that names it.
func TestRemoveDeadSpillsWithoutADirectory(t *testing.T) {
	if n, err := RemoveDeadSpills(filepath.Join(t.TempDir(), "missing")); n != 0 || err != nil {
		t.Errorf("RemoveDeadSpills(missing) = %d, %v; want 0, nil", n, err)
	}
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := RemoveDeadSpills(file); n != 0 || err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("RemoveDeadSpills(a file) = %d, %v; want 0 and an error naming it", n, err)
	}
}
