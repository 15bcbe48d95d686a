package watch

import "testing"

// TestLookup is os.Getenv over a list: the last entry for a name wins, as
// in os/exec; a name is matched whole; an entry without "=" is no value.
func TestLookup(t *testing.T) {
	get := lookup([]string{"A=1", "AB=2", "A=3", "C", "D=", "E=x=y"})
	for name, want := range map[string]string{"A": "3", "AB": "2", "B": "", "C": "", "D": "", "E": "x=y", "": ""} {
		if got := get(name); got != want {
			t.Errorf("lookup(%q) = %q, want %q", name, got, want)
		}
	}
}
