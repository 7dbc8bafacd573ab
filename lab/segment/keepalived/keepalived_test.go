package keepalived

import "testing"

// TestNames: what goes into keepalived's configuration is refused when
// keepalived's parser would split it or take part of it for a comment.
func TestNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"qg-b", true}, {"eth0.100", true}, {"re6st_net", true},
		{"", false}, {"a{b", false}, {"a}b", false}, {"a#b", false}, {"a!b", false}, {"a\"b", false}, {"a\tb", false},
	} {
		if got := ValidName(tc.name); got != tc.ok {
			t.Errorf("ValidName(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
	if !validPath("/tmp/raceroute-keepalived-123/gate") || validPath("/tmp/my dir/gate") {
		t.Error("validPath: want /tmp/raceroute-keepalived-123/gate accepted, a path with a space refused")
	}
}

// TestDown: the master-down interval of advert_int 0.1 s at priority
// 254 is 3 x 100 ms plus a skew of (256-254) x 10 cs / 256, 0 whole
// centiseconds.
func TestDown(t *testing.T) {
	if Down.Milliseconds() != 300 {
		t.Errorf("Down = %v, want 300ms", Down)
	}
}
