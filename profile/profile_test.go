package profile

import (
	"os"
	"strings"
	"testing"
)

// Every profile's every switch has a value (or candidates) and cites
// where it was read; every switch value names its commit or title and its
// source (validate() refuses facts.yaml otherwise).
func TestEverySettingIsCited(t *testing.T) {
	f, err := LoadFacts()
	if err != nil {
		t.Fatal(err)
	}
	for _, sw := range f.Switches {
		for _, v := range sw.Values[1:] {
			if v.Commit == "" && !strings.Contains(v.Title, "not verified") && !strings.Contains(v.Title, "not identified") && !strings.Contains(v.Title, "series") {
				t.Errorf("%s=%s: no commit, and the title does not say why", sw.Name, v.Value)
			}
		}
	}
	seen := map[string]bool{}
	for _, p := range All() {
		if seen[p.Name] {
			t.Errorf("profile %s twice", p.Name)
		}
		seen[p.Name] = true
		if len(p.Settings) != len(Switches()) {
			t.Fatalf("profile %s: %d settings", p.Name, len(p.Settings))
		}
		for i, s := range p.Settings {
			if s.Source == "" {
				t.Errorf("profile %s: %s has no source", p.Name, Switches()[i])
			}
			if !s.Known() && len(s.Unknown) < 2 {
				t.Errorf("profile %s: %s is unknown with %v", p.Name, Switches()[i], s.Unknown)
			}
		}
		for _, q := range p.Resolve(nil) {
			if q.IPv6Cache == 0 || q.IPv6Replace == 0 || q.Updated == 0 || q.GARP == 0 || q.Confirmation == 0 ||
				q.UnreachableErr == 0 || q.SameLLStale == 0 || q.ExceptionGuard == 0 || q.ExceptionsInDump == 0 || q.TimerMinRearm == 0 {
				t.Errorf("resolved profile %s leaves a switch unset", q.Name)
			}
		}
		got, err := Lookup(p.Name)
		if err != nil || got.Name != p.Name {
			t.Errorf("Lookup(%s): %v", p.Name, err)
		}
	}
	if len(seen) < 30 {
		t.Errorf("%d profiles: the issue asks for the kernels people run", len(seen))
	}
}

// Real release strings select the right profile, with the values their
// sources were read with.
func TestMatchReleases(t *testing.T) {
	tests := []struct {
		release, profile string
		want             map[string]string // switch -> value, "?" for unknown
		note             string
	}{
		{"3.10.0-514.el7.x86_64", "rhel-7.3", map[string]string{"ipv6-cache": "per-cpu", "garp": "never", "unreachable-error": "EHOSTUNREACH", "confirmation": "shared-dst"}, "el7 build 514"},
		{"3.10.0-514.22.1.el7.x86_64", "rhel-7.3", map[string]string{"neigh-updated": "always"}, ""},
		{"3.10.0-693.el7.x86_64", "rhel-7.4", map[string]string{"garp": "?", "confirmation": "?", "ipv6-cache": "per-cpu"}, ""},
		{"3.10.0-1062.el7.x86_64", "rhel-7.9", map[string]string{"garp": "always", "neigh-updated": "if-effective"}, ""},
		{"3.10.0-1160.119.1.el7.x86_64", "rhel-7.9", map[string]string{"ipv6-replace": "ecmp-quirk", "confirmation": "per-skb"}, ""},
		{"4.18.0-147.5.1.el8_1.x86_64", "rhel-8.1", map[string]string{"ipv6-replace": "ecmp-quirk", "exception-guard": "per-route"}, ""},
		{"4.18.0-513.el8.x86_64", "rhel-8.3", map[string]string{"ipv6-replace": "fixed", "timer-min-rearm": "hz/100"}, ""},
		{"5.14.0-427.el9.x86_64", "rhel-9", map[string]string{"arp-accept-subnet": "?", "ipv6-replace": "fixed"}, ""},
		{"4.4.0-21-generic", "ubuntu-16.04", map[string]string{"confirmation": "shared-dst", "ipv6-replace": "ecmp-quirk", "garp": "request-with-accept"}, "built from 4.4.6"},
		{"4.4.0-97-generic", "ubuntu-16.04", map[string]string{"confirmation": "per-skb"}, "4.4.87"},
		{"4.4.0-139-generic", "ubuntu-16.04", map[string]string{"neigh-updated": "if-effective-confirmed-always", "garp": "request-or-reply-with-accept", "ipv6-replace": "ecmp-quirk"}, ""},
		{"4.4.0-186-generic", "ubuntu-16.04", map[string]string{"ipv6-replace": "fixed"}, ""},
		{"4.15.0-20-generic", "ubuntu-18.04", map[string]string{"ipv6-replace": "ecmp-quirk", "exceptions-in-dump": "hidden"}, ""},
		{"4.15.0-213-generic", "ubuntu-18.04", map[string]string{"ipv6-replace": "?", "neigh-updated": "?"}, "after the last one read"},
		{"5.4.0-26-generic", "ubuntu-20.04", map[string]string{"ipv6-replace": "fixed", "exception-flush-on-replace": "no"}, "5.4.30"},
		{"5.19.0-50-generic", "linux-5.19", map[string]string{"ipv6-replace": "fixed", "ipv6-del-siblings": "yes"}, "point release unknown"},
		{"4.9.0-8-amd64", "debian-9", map[string]string{"ipv6-del-siblings": "no"}, ""},
		{"4.11.0", "linux-4.11.0", map[string]string{"ipv6-del-siblings": "yes"}, ""},
		{"5.4.0-190-generic", "ubuntu-20.04", map[string]string{"exception-flush-on-replace": "yes"}, "built from 5.4.275"},
		{"5.15.0-100-generic", "ubuntu-22.04", map[string]string{"arp-accept-subnet": "no", "timer-min-rearm": "hz/100"}, ""},
		{"6.8.0-45-generic", "ubuntu-24.04", map[string]string{"arp-accept-subnet": "yes"}, ""},
		{"3.16.0-4-amd64", "debian-8", map[string]string{"ipv6-cache": "clone-on-lookup", "garp": "?"}, "not known"},
		{"4.19.0-27-amd64", "debian-10", map[string]string{"ipv6-replace": "?"}, ""},
		{"5.10.0-8-amd64", "debian-11", map[string]string{"exception-flush-on-replace": "yes"}, "built from 5.10.46"},
		{"6.1.0-28-amd64", "debian-12", map[string]string{"arp-accept-subnet": "yes"}, "built from 6.1.119"},
		{"4.14.0", "linux-4.14.0", map[string]string{"ipv6-replace": "ecmp-quirk"}, ""},
		{"4.14.172", "linux-4.14.172", map[string]string{"ipv6-replace": "ecmp-quirk"}, ""},
		{"4.14.173", "linux-4.14.173", map[string]string{"ipv6-replace": "fixed"}, ""},
		{"4.14.100", "linux-4.14.100", map[string]string{"neigh-updated": "?"}, ""},
		{"5.4.23", "linux-5.4.23", map[string]string{"ipv6-replace": "ecmp-quirk"}, ""},
		{"5.4.24", "linux-5.4.24", map[string]string{"ipv6-replace": "fixed", "exception-flush-on-replace": "no"}, ""},
		{"5.4.90", "linux-5.4.90", map[string]string{"exception-flush-on-replace": "?"}, ""},
		{"4.9.100", "linux-4.9.100", map[string]string{"garp": "?", "ipv6-replace": "ecmp-quirk"}, ""},
		{"4.9.250", "linux-4.9.250", map[string]string{"garp": "request-or-reply-with-accept", "ipv6-replace": "fixed", "confirmation": "shared-dst"}, ""},
		{"4.3.0", "linux-4.3.0", map[string]string{"unreachable-error": "?"}, ""},
		{"6.18.44-fc-v1045", "linux-6.18.44", map[string]string{"arp-accept-subnet": "yes", "ipv6-replace": "fixed"}, "no vendor suffix"},
		{"5.14.21-150500.55.19-default", "linux-5.14.21", map[string]string{"ipv6-replace": "fixed"}, "could not be confirmed"},
	}
	if len(tests) < 20 {
		t.Fatal("the issue asks for at least 20 real release strings")
	}
	for _, tt := range tests {
		p, err := Match(tt.release)
		if err != nil {
			t.Errorf("%s: %v", tt.release, err)
			continue
		}
		if p.Name != tt.profile {
			t.Errorf("%s: profile %s, want %s", tt.release, p.Name, tt.profile)
		}
		for sw, want := range tt.want {
			s, ok := p.Setting(sw)
			got := s.Value
			if !s.Known() {
				got = "?"
			}
			if !ok || got != want {
				t.Errorf("%s: %s = %s, want %s (%s)", tt.release, sw, s, want, s.Source)
			}
		}
		if tt.note != "" && !strings.Contains(strings.Join(p.Notes, "\n"), tt.note) {
			t.Errorf("%s: notes %q lack %q", tt.release, p.Notes, tt.note)
		}
	}
	for _, bad := range []string{"", "banana", "v", "latest"} {
		if _, err := Match(bad); err == nil {
			t.Errorf("Match(%q) accepted", bad)
		}
	}
	if _, err := Match("3.10.0-9.el7.x86_64"); err == nil {
		t.Error("an el7 build before 7.3 has no profile: want an error")
	}
}

// Debian's uname -v and Ubuntu's version signature pin the point release.
func TestVersionText(t *testing.T) {
	r, err := ParseRelease("4.9.0-8-amd64")
	if err != nil {
		t.Fatal(err)
	}
	r = r.WithVersionText("#1 SMP Debian 4.9.250-1 (2021-02-12)")
	p, err := MatchRelease(r)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := p.Setting("ipv6-replace"); s.Value != "fixed" || p.Name != "debian-9" {
		t.Fatalf("Debian 4.9.250: %s %s", p.Name, s)
	}
	u, _ := ParseRelease("5.4.0-12-generic")
	if u = u.WithVersionText("Ubuntu 5.4.0-12.15-generic 5.4.8"); u.Point != 8 {
		t.Fatalf("version signature: point %d", u.Point)
	}
}

func TestResolve(t *testing.T) {
	p, err := Lookup("rhel-7.4")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(p.Resolve(nil)); got != 32 {
		t.Fatalf("rhel-7.4 has five unknown switches of two candidates: %d profiles", got)
	}
	rs := p.Resolve([]string{"garp", "ipv6-cache"})
	if len(rs) != 2 || rs[0].Name != "rhel-7.4[garp=never]" || rs[1].GARP != GARPAlways || rs[1].Name != "rhel-7.4[garp=always]" {
		t.Fatalf("resolved: %v", []string{rs[0].Name, rs[1].Name})
	}
	if ok, err := rs[1].Is("garp", "always"); !ok || err != nil {
		t.Fatalf("Is: %v %v", ok, err)
	}
	if _, err := p.Is("garp", "always"); err == nil {
		t.Fatal("Is on an unknown setting: want an error")
	}
	if _, err := rs[0].Is("garp", "sometimes"); err == nil {
		t.Fatal("Is with an unknown value: want an error")
	}
	if q, _ := Lookup("linux-3.16"); len(q.Resolve(nil)) != 1 {
		t.Fatal("a known profile resolves to itself")
	}
}

func TestLookup(t *testing.T) {
	if _, err := Lookup("linux-3.10-rhel7.3"); err == nil || !strings.Contains(err.Error(), "renamed") {
		t.Errorf("old name: %v", err)
	}
	if _, err := Lookup("linux-2.6-nope"); err == nil || !strings.Contains(err.Error(), "linux-3.16") {
		t.Errorf("unknown: %v", err)
	}
	if p, err := Lookup("5.15.0-100-generic"); err != nil || p.Name != "ubuntu-22.04" {
		t.Errorf("a release string: %v %v", p.Name, err)
	}
	// Callers cannot change another caller's profiles.
	a := All()
	a[0].Name = "changed"
	a[1].Settings[0].Value = "changed"
	if b := All(); b[0].Name == "changed" || b[1].Settings[0].Value == "changed" {
		t.Error("All shares its values")
	}
}

// docs/kernels.md is generated from the profiles: regenerate it with
// `go run ./cmd/raceroute kernels --format markdown > docs/kernels.md`.
func TestKernelsDocIsCurrent(t *testing.T) {
	want, err := Markdown()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../docs/kernels.md")
	if err != nil {
		t.Fatalf("%v: generate it with go run ./cmd/raceroute kernels --format markdown > docs/kernels.md", err)
	}
	if string(got) != want {
		t.Fatal("docs/kernels.md differs from the profiles: regenerate it with go run ./cmd/raceroute kernels --format markdown > docs/kernels.md")
	}
}

// A resolved profile's ID finds it again, for replay tokens.
func TestIDRoundTrip(t *testing.T) {
	for _, name := range []string{"rhel-7.4", "debian-9", "linux-3.16"} {
		p, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range p.Resolve(nil) {
			back, err := Lookup(q.ID())
			if err != nil || back.Name != q.Name || back.GARP != q.GARP || back.Updated != q.Updated {
				t.Fatalf("%s: Lookup(%q) = %s, %v", q.Name, q.ID(), back.Name, err)
			}
		}
	}
	p, _ := Lookup("4.9.100")
	q := p.Resolve([]string{"garp"})[1]
	if q.ID() != "4.9.100[garp=request-or-reply-with-accept]" {
		t.Fatalf("a release's resolved ID: %s", q.ID())
	}
	if _, err := Lookup("rhel-7.4[garp=sometimes]"); err == nil {
		t.Fatal("an assumption that is no candidate: want an error")
	}
	if _, err := Lookup("linux-3.16[garp=always]"); err == nil {
		t.Fatal("an assumption on a known setting: want an error")
	}
}
