module example.com/crashapp

go 1.26.0

require github.com/getsentry/sentry-go v0.50.0

require (
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)
