package notify

// The Sentry event's host contexts and sdk version are the machine's and
// the build's; the tests fix them so that goldens do not depend on either.
func init() {
	hostContexts = func() hostInfo {
		return hostInfo{osID: "debian", osName: "Debian GNU/Linux 13 (trixie)", osVersion: "13", kernel: "6.1.0-test", cpus: 2, memory: 24 << 30}
	}
	sdkVersion = func() string { return "v0.0.0-test" }
}
