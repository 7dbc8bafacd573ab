// Package announce tells the hosts of a link that an address moved to an
// interface: IPv4 gratuitous ARP requests and replies (sender IP = target
// IP, the target MAC as each peer sets it), IPv6 unsolicited neighbour
// advertisements to ff02::1 (Override set, Solicited clear, the target
// link-layer address option, from the interface's link-local address, hop
// limit 255). The frames are built by hand (live/frame) and sent on an
// AF_PACKET socket, on the schedule of a preset: the announcement of
// Neutron, keepalived, MetalLB or kube-vip, or Safe, whose spacing is
// derived from the receivers' locktime and which the neigh model shows
// converging on every kernel profile (the library scenario
// announce-safe).
package announce

import (
	"fmt"
	"strings"
	"time"
)

// Op is what one IPv4 frame is; IPv6 sends an unsolicited NA for each.
type Op uint8

// The ARP operations.
const (
	Request Op = iota + 1 // gratuitous request (arping -U, keepalived)
	Reply                 // gratuitous reply (arping -A)
)

func (o Op) String() string {
	switch o {
	case Request:
		return "request"
	case Reply:
		return "reply"
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// THA is a gratuitous frame's target hardware address.
type THA uint8

// Target hardware addresses.
const (
	// THADefault: a request's is ff:ff:ff:ff:ff:ff, as iputils arping -U
	// (20221126) and keepalived (2.2.7) set it (their frames, captured:
	// TestFramesMatchArpingAndKeepalived); a reply's is the sender's MAC
	// (arping -A), which arp_is_garp() (4.12+) requires of a reply.
	THADefault THA = iota
	// THABroadcast: ff:ff:ff:ff:ff:ff; MetalLB sets it in its replies.
	THABroadcast
	// THAZero: 00:00:00:00:00:00, RFC 5227's ARP announcement.
	THAZero
)

// Frame is one frame of a schedule.
type Frame struct {
	// After is the wait since the previous frame (the first: since the
	// start).
	After time.Duration
	Op    Op
	THA   THA
}

// DefaultLocktime is net.ipv4.neigh.*.locktime's default on every kernel
// (100 jiffies in USER_HZ: 1 s): within it of an entry's last update,
// arp_process() does not override the entry unless it recognises the
// frame as gratuitous (arp_is_garp(), 4.12 on).
const DefaultLocktime = time.Second

// Preset is a named announcement pattern: Count rounds of Round's
// frames, Interval apart.
type Preset struct {
	Name string
	// Doc says whose pattern it is and what it sends.
	Doc      string
	Round    []Frame
	Count    int
	Interval time.Duration
	// Evidence names the library scenario that checks the preset with the
	// neigh model against the receivers' traffic of the library.
	Evidence string
}

// Safe is the preset the neigh model shows converging on every profile
// with default sysctls, the library's receiver traffic included: a
// request and a reply (target MAC = sender's) at once, so that a 4.12+
// receiver overrides within locktime (arp_is_garp() accepts both), then
// twice more, 2 x locktime apart, so that an older receiver whose first
// update was ignored within locktime, and whose window that update slid
// (neigh_update() sets updated before the override check up to 4.11),
// takes the next round after its locktime.
func Safe(locktime time.Duration) Preset {
	if locktime <= 0 {
		locktime = DefaultLocktime
	}
	return Preset{
		Name:     "safe",
		Doc:      fmt.Sprintf("request + reply (target MAC = sender's), 3 rounds %v (2 x locktime) apart", 2*locktime),
		Round:    []Frame{{Op: Request}, {Op: Reply, THA: THADefault}},
		Count:    3,
		Interval: 2 * locktime,
		Evidence: "announce-safe",
	}
}

// Presets are the peers' announcement patterns (docs/agents.md) and Safe
// for the given locktime; the evidence of each is its library scenario.
func Presets(locktime time.Duration) []Preset {
	return []Preset{
		{Name: "neutron", Doc: "Neutron L3 agent: arping -U then arping -A, 3 rounds 2 s apart",
			Round: []Frame{{Op: Request}, {Op: Reply, THA: THADefault}}, Count: 3, Interval: 2 * time.Second, Evidence: "neutron-garp-now"},
		{Name: "keepalived", Doc: "keepalived: 5 requests on becoming master, 5 more after 5 s",
			Round: []Frame{{Op: Request}, {Op: Request}, {Op: Request}, {Op: Request}, {Op: Request}}, Count: 2, Interval: 5 * time.Second, Evidence: "keepalived-failover"},
		{Name: "metallb", Doc: "MetalLB: a request and a reply (target MAC broadcast) every 1.1 s for 5 s",
			Round: []Frame{{Op: Request}, {Op: Reply, THA: THABroadcast}}, Count: 5, Interval: 1100 * time.Millisecond, Evidence: "metallb-failover"},
		{Name: "kube-vip", Doc: "kube-vip: a request and a reply alternating every 3 s (it goes on while leader; 2 rounds here)",
			Round: []Frame{{Op: Request}, {After: 3 * time.Second, Op: Reply, THA: THADefault}}, Count: 2, Interval: 3 * time.Second, Evidence: "kube-vip-failover"},
		Safe(locktime),
	}
}

// Lookup returns the preset called name.
func Lookup(name string, locktime time.Duration) (Preset, error) {
	var names []string
	for _, p := range Presets(locktime) {
		if p.Name == name {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return Preset{}, fmt.Errorf("unknown preset %q (want one of %s)", name, strings.Join(names, ", "))
}

// Schedule is the preset's frames with count rounds interval apart
// (count or interval 0: the preset's own).
func (p Preset) Schedule(count int, interval time.Duration) []Frame {
	if count <= 0 {
		count = p.Count
	}
	if interval <= 0 {
		interval = p.Interval
	}
	var out []Frame
	for i := 0; i < count; i++ {
		for j, f := range p.Round {
			if j == 0 && i > 0 {
				f.After = interval
			}
			out = append(out, f)
		}
	}
	return out
}
