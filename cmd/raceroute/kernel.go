package main

import (
	"fmt"
	"os"
	"strings"

	"raceroute/profile"
)

// runningRelease reads the running kernel's release, refined by what
// /proc/version (Debian's uname -v) and /proc/version_signature (Ubuntu)
// say of its upstream point release.
func runningRelease() (profile.Release, error) {
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

// resolveKernel takes a profile name, a release string, or auto (the
// running kernel).
func resolveKernel(s string) (profile.Profile, error) {
	if s != "auto" {
		return profile.Lookup(s)
	}
	r, err := runningRelease()
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

// resolveKernels reads --kernel: comma-separated profile names and
// release strings, auto, or all (the default).
func resolveKernels(list []string) ([]profile.Profile, error) {
	if len(list) == 0 || len(list) == 1 && strings.TrimSpace(list[0]) == "all" {
		return profile.All(), nil
	}
	var out []profile.Profile
	for _, k := range list {
		p, err := resolveKernel(strings.TrimSpace(k))
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// splitKernels splits --kernel at commas outside brackets, so that
// "rhel-7.4[garp=never,confirmation=per-skb],linux-3.16" names two kernels.
func splitKernels(s string) []string {
	var out []string
	depth, from := 0, 0
	for i, c := range s {
		switch c {
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[from:i])
				from = i + 1
			}
		}
	}
	return append(out, s[from:])
}
