package supervise

// SetPreparedBaseline stands for Prepare's reading of the OOM-kill
// counter: the next child takes n as its baseline.
func SetPreparedBaseline(n int) {
	prepared.mu.Lock()
	defer prepared.mu.Unlock()
	prepared.n, prepared.have, prepared.looked = n, true, false
}

// PreparedBaseline takes what Prepare left for the next child.
func PreparedBaseline() (int, bool) { return prepared.take() }

// AwaitExit is awaitExit.
var AwaitExit = awaitExit

// ForgetPrepared puts Prepare's baseline back as it is before any child:
// none read, none looked for.
func ForgetPrepared() {
	prepared.mu.Lock()
	defer prepared.mu.Unlock()
	prepared.n, prepared.have, prepared.looked = 0, false, false
}
