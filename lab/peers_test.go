package lab

import "testing"

// TestKaNames: what goes into keepalived's configuration is refused
// when keepalived's parser would split it or take part of it for a
// comment.
func TestKaNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"qg-b", true}, {"eth0.100", true}, {"re6st_net", true},
		{"", false}, {"a{b", false}, {"a}b", false}, {"a#b", false}, {"a!b", false}, {"a\"b", false}, {"a\tb", false},
	} {
		if got := kaIfName(tc.name); got != tc.ok {
			t.Errorf("kaIfName(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
	if !kaPath("/tmp/raceroute-keepalived-123/gate") || kaPath("/tmp/my dir/gate") {
		t.Error("kaPath: want /tmp/raceroute-keepalived-123/gate accepted, a path with a space refused")
	}
}
