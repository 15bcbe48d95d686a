//go:build clientgolang

package main

// Built with -tags clientgolang, gowrap links prometheus/client_golang, as
// prodwrap does for its metrics, and does nothing with it: the floor of a
// Go supervisor that can expose Prometheus metrics with client_golang.
// Linking the package is enough to pay for it: its initialisation (the
// default registry with its Go and process collectors) and its
// dependencies' (protobuf, procfs, net/http) run at every start.
import _ "github.com/prometheus/client_golang/prometheus"
