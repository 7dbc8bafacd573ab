package cases

import (
	"testing"

	"raceroute/profile"
)

func lookup(t *testing.T, name string) profile.Profile {
	t.Helper()
	p, err := profile.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLineOf(t *testing.T) {
	for name, want := range map[string]string{"rhel-8.1": "4.18", "rhel-9": "5.14", "debian-12": "6.1", "ubuntu-24.04": "6.8", "linux-4.14.336": "4.14"} {
		l, err := LineOf(lookup(t, name))
		if err != nil || l.String() != want {
			t.Errorf("%s: line %s, %v; want %s", name, l, err, want)
		}
	}
}
