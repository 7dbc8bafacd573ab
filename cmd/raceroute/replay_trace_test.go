package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"raceroute/cmd/raceroute/internal/cli"
)

const seedBad = "../../watch/testdata/seed-bad.log"

func TestReplayTraceSeed(t *testing.T) {
	f, err := os.Open(seedBad)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out, errb bytes.Buffer
	n, err := replayTrace(context.Background(), f, "seed-bad.log", &out, &errb, defaultReplayTraceOptions())
	if err != nil || n != 3 {
		t.Fatalf("findings %d, err %v; stderr %s", n, err, errb.String())
	}
	if c := strings.Count(out.String(), "critical cache-contradicts-route: unreachable 2001:67c:1254:e:10::1 dev lo"); c != 1 {
		t.Errorf("cache findings in output = %d:\n%s", c, out.String())
	}
	if c := strings.Count(out.String(), "warning non-atomic-route-change"); c != 2 {
		t.Errorf("non-atomic findings in output = %d", c)
	}
	if !strings.Contains(errb.String(), "8 records, 0 malformed lines skipped, 3 finding(s)") {
		t.Errorf("summary: %q", errb.String())
	}
}

func TestReplayTraceJSONAndMalformed(t *testing.T) {
	in := strings.Join([]string{
		"[2016-06-11T22:32:32.532755] [ROUTE]Deleted 2001:db8::/64 via fe80::1 dev eth0 proto bird metric 1024",
		"this line is nonsense",
		"[2016-06-11T22:32:32.532757] [ROUTE]2001:db8::/64 via fe80::2 dev eth1 proto bird metric 1024",
		"2001:db8::/64 via bogus dev eth1",
	}, "\n")
	opts := defaultReplayTraceOptions()
	opts.json = true
	var out, errb bytes.Buffer
	n, err := replayTrace(context.Background(), strings.NewReader(in), "t.log", &out, &errb, opts)
	if err != nil || n != 1 {
		t.Fatalf("findings %d, err %v", n, err)
	}
	var f map[string]any
	if err := json.Unmarshal(out.Bytes(), &f); err != nil {
		t.Fatalf("output %q is not one JSON object: %v", out.String(), err)
	}
	if f["detector"] != "non-atomic-route-change" || f["severity"] != "warning" || !strings.Contains(f["evidence"].(string), "proto bird (12)") {
		t.Errorf("finding %v", f)
	}
	for _, want := range []string{"t.log:2: expected a route destination", "t.log:4: expected a gateway address after via", "2 malformed lines skipped"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr %q lacks %q", errb.String(), want)
		}
	}
}

func TestReplayTraceBadOptions(t *testing.T) {
	for _, o := range []func(*replayTraceOptions){
		func(o *replayTraceOptions) { o.date = "June 11" },
		func(o *replayTraceOptions) { o.family = 5 },
		func(o *replayTraceOptions) { o.window = 0 },
	} {
		opts := defaultReplayTraceOptions()
		o(&opts)
		_, err := replayTrace(context.Background(), strings.NewReader(""), "x", &bytes.Buffer{}, &bytes.Buffer{}, opts)
		var bad cli.BadInputError
		if !errors.As(err, &bad) {
			t.Errorf("options %+v: err %v, want bad input", opts, err)
		}
	}
}

func TestReplayTraceExitStatus(t *testing.T) {
	dir := t.TempDir()
	clean := filepath.Join(dir, "clean.log")
	if err := os.WriteFile(clean, []byte("10.0.0.0/8 dev eth0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	long := filepath.Join(dir, "long.log")
	if err := os.WriteFile(long, bytes.Repeat([]byte("x"), 2<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"findings without --fail-on-finding", []string{"replay-trace", seedBad}, cli.ExitOK},
		{"findings with --fail-on-finding", []string{"replay-trace", "--fail-on-finding", seedBad}, cli.ExitMismatch},
		{"clean log with --fail-on-finding", []string{"replay-trace", "--fail-on-finding", clean}, cli.ExitOK},
		{"missing file", []string{"replay-trace", filepath.Join(dir, "nope.log")}, cli.ExitBadInput},
		{"a directory", []string{"replay-trace", dir}, cli.ExitBadInput},
		{"a line too long to read", []string{"replay-trace", long}, cli.ExitBadInput},
		{"no file", []string{"replay-trace"}, cli.ExitBadInput},
		{"bad flag", []string{"replay-trace", "--window", "soon", seedBad}, cli.ExitBadInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if got := run(context.Background(), tt.args, &out, &errb); got != tt.want {
				t.Errorf("exit %d, want %d; stderr %s", got, tt.want, errb.String())
			}
		})
	}
}

func TestReplayTraceStdin(t *testing.T) {
	cmd := newRootCmd()
	in, err := os.ReadFile(seedBad)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	cmd.SetIn(bytes.NewReader(in))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs([]string{"replay-trace", "--json", "-"})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(out.String(), "\n"); lines != 3 {
		t.Errorf("%d JSON lines, want 3:\n%s", lines, out.String())
	}
	if !strings.Contains(errb.String(), "replay-trace: stdin:") {
		t.Errorf("stderr %q", errb.String())
	}
}

// A file without any record is bad input, told in one message that
// quotes, escaped, what was there instead.
func TestReplayTraceNoRecord(t *testing.T) {
	dir := t.TempDir()
	var binary []byte
	for i := range 4096 {
		binary = append(binary, byte(i*7), byte(i))
	}
	tests := []struct {
		name    string
		content []byte
		want    string
	}{
		{"empty", nil, "is empty: no ip monitor or raceroute watch record to replay"},
		{"blank lines", []byte("\n\n   \n"), "none of its 3 lines is a route"},
		{"binary", binary, "no ip monitor or raceroute watch record in it: "},
		{"only messages without records", []byte("[NETCONF]ipv4 dev eth0 forwarding on\nnsid 1 (iproute2 netns name: blue)\n"), "none of its 2 lines is a route, neighbour, link, address, frame or overflow record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".log")
			if err := os.WriteFile(p, tt.content, 0o644); err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			if got := run(context.Background(), []string{"replay-trace", p}, &out, &errb); got != cli.ExitBadInput {
				t.Errorf("exit %d, want %d", got, cli.ExitBadInput)
			}
			msg := errb.String()
			if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, tt.want) || out.Len() != 0 {
				t.Errorf("stderr %q (stdout %q): want one line saying %q", msg, out.String(), tt.want)
			}
			if i := strings.IndexFunc(strings.TrimSuffix(msg, "\n"), func(r rune) bool { return r < 0x20 || r == 0x7f || r == utf8.RuneError }); i >= 0 {
				t.Errorf("stderr carries a raw control byte at %d: %q", i, msg)
			}
		})
	}
}

// Malformed lines are quoted with their control bytes escaped, the first
// 20 of them; the rest are only counted.
func TestReplayTraceMalformedQuoted(t *testing.T) {
	lines := []string{"10.0.0.0/8 dev eth0", "10.1.0.0/16 dev \x1b[2Jeth0"}
	for i := range 30 {
		lines = append(lines, fmt.Sprintf("junk %d", i))
	}
	var out, errb bytes.Buffer
	n, err := replayTrace(context.Background(), strings.NewReader(strings.Join(lines, "\n")), "t.log", &out, &errb, defaultReplayTraceOptions())
	if err != nil || n != 0 {
		t.Fatalf("findings %d, err %v", n, err)
	}
	msg := errb.String()
	if strings.ContainsRune(msg, 0x1b) || !strings.Contains(msg, `t.log:2: expected a line of printable text, got "byte 0x1b at column 17" in: "10.1.0.0/16 dev \x1b[2Jeth0"`) {
		t.Errorf("stderr does not quote line 2 escaped:\n%s", msg)
	}
	shown := 0
	for _, l := range strings.Split(msg, "\n") {
		if strings.HasPrefix(l, "t.log:") {
			shown++
		}
	}
	if shown != 20 {
		t.Errorf("%d malformed lines shown, want 20:\n%s", shown, msg)
	}
	if !strings.Contains(msg, "1 records, 31 malformed lines skipped (the first 20 shown), 0 finding(s)") {
		t.Errorf("summary: %q", msg)
	}
}

// iproute2's own overflow line is a gap in the evidence: a finding, a
// caution on what came after, and at the end the conclusions that may be
// wrong.
func TestReplayTraceIPMonitorOverflow(t *testing.T) {
	f, err := os.Open("../../watch/testdata/ip-monitor-overflow.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	opts := defaultReplayTraceOptions()
	opts.json = true
	var out, errb bytes.Buffer
	n, err := replayTrace(context.Background(), f, "ip-monitor-overflow.log", &out, &errb, opts)
	if err != nil || n != 3 {
		t.Fatalf("findings %d, err %v:\n%s%s", n, err, out.String(), errb.String())
	}
	var fs []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		fs = append(fs, m)
	}
	if fs[0]["detector"] != "receive-overflow" || fs[1]["detector"] != "non-atomic-route-change" || fs[2]["detector"] != "receive-overflow" ||
		!strings.Contains(fs[1]["evidence"].(string), "Caution: events were lost at line 1") ||
		!strings.Contains(fs[2]["evidence"].(string), "this later finding may be wrong: non-atomic-route-change 10.1.7.0/24") {
		t.Errorf("findings:\n%s", out.String())
	}
	if !strings.Contains(errb.String(), "12 records, 0 malformed lines skipped, 3 finding(s)") {
		t.Errorf("stderr %q", errb.String())
	}
}
