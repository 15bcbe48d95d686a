package config

import (
	"slices"
	"sort"
	"strings"
)

// suggest returns the candidate closest to name when it is close enough to
// be a typo of it ("nmae" → "name"), "" otherwise. A dotted key whose last
// part is a key of another section suggests that key.
func suggest(name string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := distance(strings.ToLower(name), strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	limit := 1
	if len(name) >= 5 {
		limit = 2
	}
	if bestD >= 0 && bestD <= limit {
		return best
	}
	if _, last, ok := strings.Cut(name, "."); ok {
		for _, c := range candidates {
			if _, cl, ok := strings.Cut(c, "."); ok && cl == last {
				return c
			}
		}
	}
	return ""
}

// distance is the optimal string alignment distance of a and b: the
// edits (insert, delete, replace, swap two neighbours) from one to the other.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// UnknownVar is a PRODWRAP_* variable of the environment that prodwrap
// does not read, with the variable it was probably meant to be.
type UnknownVar struct {
	Name string
	// Suggestion is the known variable closest to Name, "" for none.
	Suggestion string
}

func (u UnknownVar) String() string {
	s := "environment: " + u.Name + ": unknown variable, ignored"
	if u.Suggestion != "" {
		s += "; did you mean " + u.Suggestion + "?"
	}
	return s
}

// otherVars are the PRODWRAP_* variables read elsewhere than in the
// settings table.
var otherVars = []string{"PRODWRAP_CONFIG", "PRODWRAP_WEBHOOK_URL"}

// UnknownEnv returns the PRODWRAP_* variables of env (as os.Environ gives
// it) that are not prodwrap's, sorted, each with a suggestion: a misspelt
// variable is otherwise silently ignored. known adds the names the caller
// reads itself (PRODWRAP_STRICT, a selfwrap marker, a test's variable).
// The caller warns about each once, at start.
func UnknownEnv(env []string, known ...string) []UnknownVar {
	names := append(append([]string(nil), otherVars...), known...)
	for _, s := range settings {
		if strings.HasPrefix(s.env, "PRODWRAP_") {
			names = append(names, s.env)
		}
	}
	var out []UnknownVar
	seen := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "PRODWRAP_") || slices.Contains(names, k) || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, UnknownVar{Name: k, Suggestion: suggest(k, names)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
