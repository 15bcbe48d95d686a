package notify

// ClaimForTest takes e's claim, for the benchmarks.
func ClaimForTest(s *Spool, e *Entry) (*Entry, error) { return s.claim(e.path) }
