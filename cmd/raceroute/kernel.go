package main

import (
	"fmt"
	"strings"

	"raceroute/live/host"
	"raceroute/profile"
)

// resolveKernel takes a profile name, a release string, or auto (the
// running kernel).
func resolveKernel(s string) (profile.Profile, error) {
	if s == "auto" {
		return host.Profile()
	}
	return profile.Lookup(s)
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

// kernelRelease turns --kernel of watch and replay-trace (a profile name,
// a release string or auto) into the release string the detectors match.
func kernelRelease(s string) (string, error) {
	p, err := resolveKernel(s)
	if err != nil {
		return "", err
	}
	if len(p.Assumed) > 0 {
		return "", fmt.Errorf("%s: the detectors take a kernel, not assumptions about one", s)
	}
	return p.Release, nil
}
