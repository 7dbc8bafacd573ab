package lab

import (
	"strings"
	"testing"

	"raceroute/scenario"
)

// The lab refuses the library's ICMP scenarios with the reason (it sends
// no ICMPv6 messages yet), and TestLibraryFib6Live skips exactly those.
func TestPrepareRefusesICMPActors(t *testing.T) {
	lib, err := scenario.Library()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, sc := range lib {
		if !strings.HasPrefix(sc.Name, "pmtu-") && !strings.HasPrefix(sc.Name, "redirect-") {
			continue
		}
		_, err := Prepare(sc, sc.Variants[0], testHost(t, "linux-6.12"))
		if !IsRefused(err) || !strings.Contains(err.Error(), "the lab sends no ICMPv6 messages") {
			t.Errorf("%s: Prepare: %v, want a refusal naming the ICMPv6 messages", sc.Name, err)
		}
		n++
	}
	if n < 6 {
		t.Errorf("only %d ICMP scenarios in the library", n)
	}
}
