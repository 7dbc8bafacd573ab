package livewatch_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"raceroute/live/netns"
	"raceroute/live/netns/nstest"
)

// record, when set, is a directory where the live tests that watch a
// real daemon or a real link flap write what `ip -ts monitor label`
// printed meanwhile (watch/testdata holds such recordings):
//
//	go test ./live/livewatch -run 'TestBabeldRetraction|TestLinkFlap' -args -record ../../watch/testdata
var record = flag.String("record", "", "write the ip monitor recordings of the live tests to this directory")

// monitor runs `ip -ts monitor label` in ns for the rest of the test.
func monitor(t *testing.T, ns *netns.NS) *nstest.Output {
	t.Helper()
	return nstest.Start(t, ns, nstest.RequireBinary(t, "ip"), "-ts", "monitor", "label")
}

// saveRecording writes out to name in the -record directory, if any.
func saveRecording(t *testing.T, name string, out *nstest.Output) {
	t.Helper()
	if *record == "" {
		return
	}
	p := filepath.Join(*record, name)
	if err := os.WriteFile(p, []byte(out.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recording written to %s", p)
}
