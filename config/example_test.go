package config_test

import (
	"fmt"
	"os"

	"github.com/prodwrap/prodwrap/config"
)

func ExampleLoad() {
	c, command, err := config.Load(config.Options{
		Args: []string{"--service", "api", "-g", "--", "/srv/api", "--port", "8080"},
		Env:  []string{"PRODWRAP_ENVIRONMENT=production", "SENTRY_DSN=https://key@sentry.example.com/42"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(command, c.Service.Name, c.Service.Environment, c.Process.ProcessGroup, c.Sentry.DSN)
	// Output: [/srv/api --port 8080] api production true ***
}

func ExampleConfig_WriteTOML() {
	c, _, _ := config.Load(config.Options{Args: []string{"--tail-lines", "50", "x"}, Env: []string{"PRODWRAP_SPOOL=/var/lib/api"}})
	c.WriteTOML(os.Stdout)
}

func ExampleParseSize() {
	n, _ := config.ParseSize("64MiB")
	fmt.Println(n)
	// Output: 67108864
}
