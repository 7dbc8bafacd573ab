// Package nexthop is a nexthop object as a user writes it (`ip nexthop`
// syntax, RTM_NEWNEXTHOP, net/ipv4/nexthop.c from 5.3): an id with one
// next hop (a gateway and device, a device, or blackhole) or a group of
// other objects' ids. It knows nothing of the kernel's tables: model/fib6
// holds such objects and the routes that use them.
package nexthop

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// MaxGroup is the most members a group may list here (the kernel takes
// up to 256; the model's state keeps a group's members as a bit set of
// at most 8 objects).
const MaxGroup = 8

// Nexthop is one nexthop object.
type Nexthop struct {
	ID        uint32
	Gateway   netip.Addr // invalid when none
	Dev       string     // "" for a group or a blackhole
	Blackhole bool
	// Group lists the member ids of a group, in order (nil: not a group).
	Group []uint32
}

// IsGroup reports whether n is a group.
func (n Nexthop) IsGroup() bool { return len(n.Group) > 0 }

// Same reports whether a and b are the same object definition.
func (a Nexthop) Same(b Nexthop) bool {
	if a.ID != b.ID || a.Gateway != b.Gateway || a.Dev != b.Dev || a.Blackhole != b.Blackhole || len(a.Group) != len(b.Group) {
		return false
	}
	for i := range a.Group {
		if a.Group[i] != b.Group[i] {
			return false
		}
	}
	return true
}

// String renders n as `ip nexthop` prints it.
func (n Nexthop) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "id %d", n.ID)
	switch {
	case n.IsGroup():
		parts := make([]string, len(n.Group))
		for i, g := range n.Group {
			parts[i] = strconv.FormatUint(uint64(g), 10)
		}
		b.WriteString(" group " + strings.Join(parts, "/"))
	case n.Blackhole:
		b.WriteString(" blackhole")
	default:
		if n.Gateway.IsValid() {
			b.WriteString(" via " + n.Gateway.String())
		}
		b.WriteString(" dev " + n.Dev)
	}
	return b.String()
}

// Parse reads one nexthop object in `ip nexthop` syntax:
//
//	id N via GW dev DEV | id N dev DEV | id N blackhole | id N group A/B[/C...]
//
// A group member may carry a weight (`A,2`), which is accepted and
// ignored: the model's flows are not hashed over the paths.
func Parse(line string) (Nexthop, error) {
	f := strings.Fields(line)
	var n Nexthop
	want := "want id N followed by `via GW dev DEV`, `dev DEV`, `blackhole` or `group A/B`"
	if len(f) < 2 || f[0] != "id" {
		return n, fmt.Errorf("nexthop %q: %s", line, want)
	}
	id, err := parseID(f[1])
	if err != nil {
		return n, fmt.Errorf("nexthop %q: %w", line, err)
	}
	n.ID = id
	for i := 2; i < len(f); i++ {
		kw := f[i]
		switch kw {
		case "blackhole":
			n.Blackhole = true
			continue
		case "onlink", "fdb", "pervasive":
			continue // flags `ip nexthop show` may print: not read
		}
		if i+1 >= len(f) {
			return n, fmt.Errorf("nexthop %q: %q wants a value", line, kw)
		}
		i++
		v := f[i]
		switch kw {
		case "via":
			a, err := netip.ParseAddr(v)
			if err != nil || !a.Is6() || a.Is4In6() {
				return n, fmt.Errorf("nexthop %q: gateway %q is not an IPv6 address", line, v)
			}
			n.Gateway = a
		case "dev":
			n.Dev = v
		case "group":
			for _, m := range strings.Split(v, "/") {
				idText, _, _ := strings.Cut(m, ",")
				g, err := parseID(idText)
				if err != nil {
					return n, fmt.Errorf("nexthop %q: group member %q: %w", line, m, err)
				}
				for _, o := range n.Group {
					if o == g {
						return n, fmt.Errorf("nexthop %q: group lists id %d twice (the kernel refuses: \"Duplicate nexthop in group\")", line, g)
					}
				}
				n.Group = append(n.Group, g)
			}
		case "proto", "protocol", "scope":
			// accepted: the model does not read them
		default:
			return n, fmt.Errorf("nexthop %q: unexpected %q (%s)", line, kw, want)
		}
	}
	kinds := 0
	for _, k := range []bool{n.Blackhole, n.IsGroup(), n.Dev != "" || n.Gateway.IsValid()} {
		if k {
			kinds++
		}
	}
	switch {
	case kinds != 1:
		return n, fmt.Errorf("nexthop %q: %s (exactly one of them)", line, want)
	case n.Gateway.IsValid() && n.Dev == "":
		return n, fmt.Errorf("nexthop %q: a gateway needs `dev` (the model does not resolve a gateway through the table)", line)
	case len(n.Group) > MaxGroup:
		return n, fmt.Errorf("nexthop %q: %d members: the model holds groups of at most %d", line, len(n.Group), MaxGroup)
	}
	for _, g := range n.Group {
		if g == n.ID {
			return n, fmt.Errorf("nexthop %q: a group can not contain itself", line)
		}
	}
	return n, nil
}

func parseID(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil || v == 0 {
		return 0, fmt.Errorf("id %q is not a number from 1 to 4294967295", s)
	}
	return uint32(v), nil
}
