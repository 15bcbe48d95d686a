package report_test

import (
	"fmt"

	"github.com/prodwrap/prodwrap/report"
)

func ExampleMaskArgs() {
	fmt.Println(report.MaskArgs([]string{"--port", "8080", "--db-password", "hunter2", "--upstream=https://bot:s3cret@api.example.com/v1"}))
	// Output: [--port 8080 --db-password *** --upstream=https://bot:***@api.example.com/v1]
}

func ExampleNormalizeMessage() {
	fmt.Println(report.NormalizeMessage("runtime error: index out of range [12] with length 3 at 0xc000123456"))
	// Output: runtime error: index out of range [<n>] with length <n> at <addr>
}
