package kernel

import (
	"fmt"
	"strings"
)

// NUD is a neighbour entry's NUD state (include/uapi/linux/neighbour.h),
// or a set of them: the kernel's states are bits.
type NUD uint8

// NUD states.
const (
	NUDNone       NUD = 0x00 // NUD_NONE
	NUDIncomplete NUD = 0x01 // NUD_INCOMPLETE
	NUDReachable  NUD = 0x02 // NUD_REACHABLE
	NUDStale      NUD = 0x04 // NUD_STALE
	NUDDelay      NUD = 0x08 // NUD_DELAY
	NUDProbe      NUD = 0x10 // NUD_PROBE
	NUDFailed     NUD = 0x20 // NUD_FAILED
	NUDNoARP      NUD = 0x40 // NUD_NOARP
	NUDPermanent  NUD = 0x80 // NUD_PERMANENT

	// NUDInTimer, NUDValid and NUDConnected are the kernel's sets of
	// states (include/net/neighbour.h NUD_IN_TIMER, NUD_VALID,
	// NUD_CONNECTED).
	NUDInTimer   = NUDIncomplete | NUDReachable | NUDDelay | NUDProbe
	NUDValid     = NUDPermanent | NUDNoARP | NUDReachable | NUDProbe | NUDStale | NUDDelay
	NUDConnected = NUDPermanent | NUDNoARP | NUDReachable
)

var nudNames = [...]struct {
	s    NUD
	name string
}{
	{NUDIncomplete, "INCOMPLETE"}, {NUDReachable, "REACHABLE"}, {NUDStale, "STALE"},
	{NUDDelay, "DELAY"}, {NUDProbe, "PROBE"}, {NUDFailed, "FAILED"}, {NUDNoARP, "NOARP"},
	{NUDPermanent, "PERMANENT"},
}

// String is the state as `ip neigh` prints it: "REACHABLE", "STALE", ...,
// "NONE" for 0, and the names of every bit, space-separated, for a set.
func (s NUD) String() string {
	if s == NUDNone {
		return "NONE"
	}
	var parts []string
	for _, n := range nudNames {
		if s&n.s != 0 {
			parts = append(parts, n.name)
		}
	}
	return strings.Join(parts, " ")
}

// ParseNUD reads the name of one state, as `ip neigh` prints it ("NONE"
// included); names are case-insensitive, as iproute2 takes them.
func ParseNUD(name string) (NUD, bool) {
	if strings.EqualFold(name, "NONE") {
		return NUDNone, true
	}
	for _, n := range nudNames {
		if strings.EqualFold(n.name, name) {
			return n.s, true
		}
	}
	return 0, false
}

// GoString shows the state in Go syntax, for test failures.
func (s NUD) GoString() string { return fmt.Sprintf("kernel.NUD(0x%02x /* %s */)", uint8(s), s) }
