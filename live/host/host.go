// Package host reads what raceroute needs to know of the machine it runs
// on: the running kernel's release, as the kernel profiles match it.
package host

import (
	"fmt"
	"os"
	"strings"

	"raceroute/profile"
)

// Release reads the running kernel's release (/proc/sys/kernel/osrelease),
// refined by what /proc/version (Debian's uname -v) and
// /proc/version_signature (Ubuntu) say of its upstream point release.
func Release() (profile.Release, error) {
	raw, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return profile.Release{}, fmt.Errorf("read the running kernel's release: %w", err)
	}
	r, err := profile.ParseRelease(strings.TrimSpace(string(raw)))
	if err != nil {
		return r, err
	}
	for _, f := range []string{"/proc/version", "/proc/version_signature"} {
		if b, err := os.ReadFile(f); err == nil {
			r = r.WithVersionText(string(b))
		}
	}
	return r, nil
}

// Profile is the running kernel's profile, with a note naming the
// release it was matched from.
func Profile() (profile.Profile, error) {
	r, err := Release()
	if err != nil {
		return profile.Profile{}, err
	}
	p, err := profile.MatchRelease(r)
	if err != nil {
		return p, err
	}
	p.Notes = append([]string{"auto: the running kernel is " + r.Raw}, p.Notes...)
	return p, nil
}
