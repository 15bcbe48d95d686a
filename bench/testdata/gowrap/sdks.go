//go:build sdks

package main

// Built with -tags sdks, gowrap links the three SDKs issue 18's start-up
// target names — sentry-go and slack-go for the sinks, client_golang for
// the metrics — as prodwrap does, and does nothing with them: the floor of
// a Go supervisor that reports with them. Their initialisation runs at
// every start (client_golang's default registry, sentry-go's regexps and
// hub, slack-go's and their dependencies': protobuf, procfs, net/http,
// crypto/tls, golang.org/x/text).
import (
	_ "github.com/getsentry/sentry-go"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/slack-go/slack"
)
