package report_test

import (
	"strings"
	"testing"

	"github.com/prodwrap/prodwrap/report"
)

// TestMaskURLs: the password of a URL's user-info is masked whatever the
// scheme, wherever the URL stands in the argument.
func TestMaskURLs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://user:pass@db/x", "postgres://user:***@db/x"},
		{"redis://:pass@host", "redis://:***@host"},
		{"redis://:pass@host:6379/0", "redis://:***@host:6379/0"},
		{"mongodb+srv://admin:pass@cluster0.example.net/?retryWrites=true", "mongodb+srv://admin:***@cluster0.example.net/?retryWrites=true"},
		{"amqp://guest:pass@rabbit:5672/vhost", "amqp://guest:***@rabbit:5672/vhost"},
		{"postgresql+psycopg2://u:pass@h/db", "postgresql+psycopg2://u:***@h/db"},
		{"--db=mysql://root:p@ss:w0rd@db:3306/app", "--db=mysql://root:***@db:3306/app"},
		{"DATABASE_URL=postgres://app:pass@db/x?sslmode=disable", "DATABASE_URL=postgres://app:***@db/x?sslmode=disable"},
		{"primary=postgres://a:pass@h1/x,replica=redis://:pass@h2", "primary=postgres://a:***@h1/x,replica=redis://:***@h2"},
		{"https://host/path?next=ftp://u:pass@h2/", "https://host/path?next=ftp://u:***@h2/"},
		{"sftp://u:pa%40ss@h", "sftp://u:***@h"},
		// Nothing to mask.
		{"https://user@host/x", "https://user@host/x"},
		{"https://host/@user:x", "https://host/@user:x"},
		{"https://host:8080/a?b=c:d@e", "https://host:8080/a?b=c:d@e"},
		{"mailto:user@example.com", "mailto:user@example.com"},
		{"user:pass@host", "user:pass@host"},
		{"://u:pass@h", "://u:pass@h"},
		{"postgres://u:***@db/x", "postgres://u:***@db/x"},
	}
	for _, tt := range tests {
		got := report.MaskURLs(tt.in)
		if got != tt.want {
			t.Errorf("MaskURLs(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Contains(tt.want, report.Masked) && strings.Contains(got, "pass") {
			t.Errorf("MaskURLs(%q) leaked the password: %q", tt.in, got)
		}
	}
}

// TestMaskArgsURLs: MaskArgs masks URL passwords in every argument.
func TestMaskArgsURLs(t *testing.T) {
	got := report.MaskArgs([]string{"--cache", "redis://:pass@cache:6379", "postgres://user:pass@db/x", "--port", "8080"})
	want := []string{"--cache", "redis://:***@cache:6379", "postgres://user:***@db/x", "--port", "8080"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("MaskArgs = %q, want %q", got, want)
	}
}
