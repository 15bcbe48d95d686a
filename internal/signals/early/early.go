// Package early begins the registration of prodwrap's signals while the
// program initialises ([signals.Early]), before the packages that take
// longest to initialise (client_golang, sentry-go, slack-go): the
// registration's round trips to the runtime's signal-mask thread run
// beside them instead of before the child's start. It is imported by
// cmd/prodwrap alone, for this side effect; a library never imports it.
//
// Go initialises a package after everything it imports, and otherwise in
// the order of the import paths, so this package (which imports only
// internal/signals and the standard library) runs its init among the
// first; TestEarlyInitialisesBeforeTheHeavyPackages (cmd/prodwrap) checks
// the order in the built binary.
package early

import "github.com/prodwrap/prodwrap/internal/signals"

func init() { signals.Early() }
