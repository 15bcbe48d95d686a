package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Errors are the problems a lenient Load found (see Options.Lenient), each
// one line, in the order they were found.
type Errors []*Error

// Error is the first problem, and how many more there are.
func (e Errors) Error() string {
	switch len(e) {
	case 0:
		return "no configuration errors"
	case 1:
		return e[0].Error()
	}
	return fmt.Sprintf("%v (and %d more)", e[0], len(e)-1)
}

// Unwrap gives errors.As and errors.Is every problem.
func (e Errors) Unwrap() []error {
	out := make([]error, len(e))
	for i, err := range e {
		out[i] = err
	}
	return out
}

// problems collects the errors of a load: a strict load stops at the
// first, a lenient one records them all and goes on without the values.
type problems struct {
	lenient bool
	list    Errors
}

// add records e. It returns e when the load is strict and must stop, nil
// when it is lenient and goes on without the bad value.
func (p *problems) add(e *Error) error {
	if !p.lenient {
		return e
	}
	p.list = append(p.list, e)
	return nil
}

// reset gives the setting back its default value and source.
func (s *setting) reset(c *Config) {
	d := Default()
	switch p := s.ptr(c).(type) {
	case *string:
		*p = *s.ptr(d).(*string)
	case *Secret:
		*p = *s.ptr(d).(*Secret)
	case *bool:
		*p = *s.ptr(d).(*bool)
	case **bool:
		*p = *s.ptr(d).(**bool)
	case *int:
		*p = *s.ptr(d).(*int)
	case *Size:
		*p = *s.ptr(d).(*Size)
	case *Duration:
		*p = *s.ptr(d).(*Duration)
	case *[]string:
		*p = *s.ptr(d).(*[]string)
	}
	delete(c.origins, s.key)
}

// resetKeys resets the settings named.
func (c *Config) resetKeys(keys ...string) {
	for _, k := range keys {
		if s := settingByKey(k); s != nil {
			s.reset(c)
		}
	}
}

// webhookIndex returns i of a "webhook[i]..." key.
func webhookIndex(key string) (int, bool) {
	rest, ok := strings.CutPrefix(key, "webhook[")
	if !ok {
		return 0, false
	}
	n, _, ok := strings.Cut(rest, "]")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(n)
	return i, err == nil
}

// dropWebhooks removes the webhooks of the given indexes, and renumbers the
// origins of those after them.
func (c *Config) dropWebhooks(idx []int) {
	if len(idx) == 0 {
		return
	}
	gone := map[int]bool{}
	for _, i := range idx {
		gone[i] = true
	}
	newIndex := map[int]int{}
	var kept []Webhook
	for i, w := range c.Webhooks {
		if !gone[i] {
			newIndex[i] = len(kept)
			kept = append(kept, w)
		}
	}
	c.Webhooks = kept
	keys := make([]string, 0, len(c.origins))
	for k := range c.origins {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	moved := map[string]origin{}
	for _, k := range keys {
		i, ok := webhookIndex(k)
		if !ok {
			continue
		}
		o := c.origins[k]
		delete(c.origins, k)
		if j, ok := newIndex[i]; ok {
			_, rest, _ := strings.Cut(k, "]")
			moved[fmt.Sprintf("webhook[%d]%s", j, rest)] = o
		}
	}
	for k, o := range moved {
		c.origins[k] = o
	}
}
