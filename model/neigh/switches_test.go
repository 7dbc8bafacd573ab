package neigh_test

import (
	"slices"
	"testing"

	"raceroute/model/neigh"
	"raceroute/profile/profiletest"
)

// The model reads only the profile switches it declares.
func TestReadsOnlyDeclaredSwitches(t *testing.T) {
	read := profiletest.SwitchesRead(t, ".", "nud", "arp", "ndisc")
	for _, sw := range read {
		if !slices.Contains(neigh.Switches(), sw) {
			t.Errorf("model/neigh reads switch %s, which Switches() does not declare", sw)
		}
	}
	if len(read) < 5 {
		t.Fatalf("only %v found: the walk is broken", read)
	}
}
