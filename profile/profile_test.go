package profile

import (
	"strings"
	"testing"
)

func TestProfiles(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range All() {
		if seen[p.Name] {
			t.Errorf("profile %s twice", p.Name)
		}
		seen[p.Name] = true
		if p.IPv6Cache == 0 || p.IPv6Replace == 0 || p.Updated == 0 || p.GARP == 0 || p.Confirmation == 0 || p.UnreachableErr == 0 {
			t.Errorf("profile %s leaves a switch unset: %+v", p.Name, p)
		}
		for _, s := range []string{p.IPv6Cache.String(), p.IPv6Replace.String(), p.Updated.String(), p.GARP.String(), p.Confirmation.String()} {
			if s == "unknown" {
				t.Errorf("profile %s: a switch has no name", p.Name)
			}
		}
		got, err := Lookup(p.Name)
		if err != nil || got.Name != p.Name {
			t.Errorf("Lookup(%s): %v", p.Name, err)
		}
	}
	// The profile facts (docs/kernel-notes-*.md), spot-checked.
	p316, _ := Lookup("linux-3.16")
	p42, _ := Lookup("linux-4.2")
	p56, _ := Lookup("linux-5.6")
	if !p316.ClonesOnLookup() || p42.ClonesOnLookup() || p42.IPv6Replace != ReplaceECMPQuirk || p56.IPv6Replace != ReplaceFixed {
		t.Error("IPv6 switches do not follow the kernel history")
	}
	if _, err := Lookup("linux-2.6"); err == nil || !strings.Contains(err.Error(), "linux-3.16") {
		t.Errorf("Lookup of an unknown profile: %v (want the known ones listed)", err)
	}
	// Callers cannot change another caller's profiles.
	a := All()
	a[0].Name = "changed"
	if All()[0].Name == "changed" {
		t.Error("All shares its slice")
	}
}
