package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"raceroute/cmd/raceroute/internal/cli"
	"raceroute/live/netns/nstest"
)

// raceroute apply installs a file, moves it to another next hop with
// one nexthop replace, says (and reports) that the read-back checked the
// object (and, with --read-back-moved, the routes using it), and writes
// nothing on a second run.
func TestApplyMoveReadBack(t *testing.T) {
	a, _ := nstest.Pair(t, "ca")
	dir := t.TempDir()
	file := func(name, gw string) string {
		var b strings.Builder
		for i := 0; i < 50; i++ {
			fmt.Fprintf(&b, "10.5.0.%d via %s dev va\n", i, gw)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fa, fb := file("a", "10.9.0.2"), file("b", "10.9.0.3")
	report := filepath.Join(dir, "report.json")
	for _, tc := range []struct {
		file  string
		extra []string
		want  string
	}{
		{fa, nil, "read back: the tables hold exactly what the outcomes say"},
		{fb, nil, "hold what was written (the plan's only writes; the 50 route(s) of ours that use them by id were read when planning, not again)"},
		{fa, []string{"--read-back-moved"}, "and the 50 route(s) of ours that use them still do"},
		{fa, nil, "nothing to change: the 50 desired route(s) are as desired"},
	} {
		args := append([]string{"apply", "--netns", a.Name, "--report", report, tc.file}, tc.extra...)
		code, out, stderr := runCLI(t, args...)
		if code != 0 || !strings.Contains(out, tc.want) {
			t.Fatalf("apply %s %v: exit %d, want %q in:\n%s%s", filepath.Base(tc.file), tc.extra, code, tc.want, out, stderr)
		}
		if strings.Contains(tc.want, "route(s) of ours that use them") {
			var rep struct {
				Requests int    `json:"requests"`
				Verified bool   `json:"verified"`
				Checked  string `json:"checked"`
			}
			b, err := os.ReadFile(report)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &rep); err != nil || rep.Requests != 1 || !rep.Verified || !strings.Contains(rep.Checked, "nexthop object") {
				t.Fatalf("report of the move: %+v, %v", rep, err)
			}
		}
	}
}

// A malformed file is reported before an unknown namespace: the file is
// read while the writer dumps the tables, and its errors come first.
func TestApplyFileErrorsFirst(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad")
	if err := os.WriteFile(p, []byte("10.5.0.0/24 via\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "apply", "--netns", "rr-no-such-namespace", p)
	if code != cli.ExitBadInput || !strings.Contains(stderr, p+":1:") || strings.Contains(stderr, "rr-no-such-namespace") {
		t.Fatalf("exit %d, stderr %q; want a bad-input exit naming %s:1 and not the namespace", code, stderr, p)
	}
}
