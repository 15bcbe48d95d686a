package notify

import (
	"context"
	"time"
)

// Clock is the time a Dispatcher and a Flood go by: when a flood window
// closes, how long a backoff or a rate limit makes delivery wait, when a
// rate limit ends. The zero value of their Clock field, nil, is the real
// clock. Tests set a fake one, so that a Retry-After or a flood window
// costs them no real time.
//
// Dispatcher.Deadline bounds both times: the real time a delivery takes
// (a receiver that hangs, through the context), and the waits on the
// Clock, which must end within Deadline of the delivery's start.
type Clock interface {
	// Now is the current time.
	Now() time.Time
	// Sleep waits d, or until ctx ends and then returns ctx.Err().
	Sleep(ctx context.Context, d time.Duration) error
}

// realClock is the Clock of a nil Clock field.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// orReal returns c, or the real clock when c is nil.
func orReal(c Clock) Clock {
	if c == nil {
		return realClock{}
	}
	return c
}
