package host

import (
	"os"
	"strings"
	"testing"
)

func TestRunningKernel(t *testing.T) {
	raw, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		t.Skip("no /proc here")
	}
	p, err := Profile()
	if err != nil {
		t.Fatalf("the running kernel %s: %v", strings.TrimSpace(string(raw)), err)
	}
	if p.Release != strings.TrimSpace(string(raw)) || len(p.Settings) == 0 || !strings.Contains(p.Notes[0], "auto: the running kernel is") {
		t.Fatalf("profile %s for %s, notes %v", p.Name, p.Release, p.Notes)
	}
}
