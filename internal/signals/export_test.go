package signals

// EarlyRegistered is closed once Early's registration returned: the
// helpers wait for it before they send themselves a signal that must find
// it caught.
func EarlyRegistered() <-chan struct{} {
	early.mu.Lock()
	defer early.mu.Unlock()
	return early.done
}

// EarlyQueued is how many signals wait on Early's channel.
func EarlyQueued() int { return len(early.c) }
