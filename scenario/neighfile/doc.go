// Package neighfile is the neigh model's part of the scenario format: the
// keys of a `model: neigh` file (the hosts of one Ethernet segment with
// their interfaces, sysctls and initial neighbour entries, the moving
// addresses, the ARP and neighbour-discovery senders, the ICMP, TCP and
// UDP flows, the properties), their checks, and their compilation into a
// neigh.Config and an explore.Checker. docs/scenarios.md, "model neigh",
// is its reference.
//
// compile.go reads the document and the values every part uses, hosts.go
// the segment (hosts, interfaces, sysctls, initial entries, moves),
// actors.go the ARP and NA senders with their presets and the flows,
// props.go the properties.
package neighfile

import "raceroute/scenario/format"

// Doc is a neigh scenario file: the common header and the segment.
type Doc struct {
	format.Header `yaml:",inline"`
	// ReachableDraws is how many distinct reachable_time values the
	// explorer may choose per interface (0: every millisecond, as the
	// kernel's random draw).
	ReachableDraws format.Line `yaml:"reachable-draws"`
	Hosts          []Host      `yaml:"hosts"`
	Moves          []Move      `yaml:"moves"`
	ARP            []Sender    `yaml:"arp"`
	NDisc          []Sender    `yaml:"ndisc"`
	Flows          []Flow      `yaml:"flows"`
	Admin          []Agent     `yaml:"admin"`
	Properties     []Property  `yaml:"properties"`
}

// Host is a host on the segment: its interfaces and its initial
// neighbour entries.
type Host struct {
	At         format.Pos  `yaml:"-"`
	Name       format.Line `yaml:"name"`
	Interfaces []Iface     `yaml:"interfaces"`
	// Neigh are initial entries in `ip neigh` syntax:
	// "IP dev IFACE lladdr MAC STATE [age DURATION]".
	Neigh format.Lines `yaml:"neigh"`
	// Table is the host's neighbour table as garbage collection sees
	// it (admin.go): thresholds, period, background entries.
	Table format.Pairs `yaml:"neigh-table"`
}

// Iface is an interface of a host: its MAC, its IPv4 or IPv6 addresses
// (one subnet of one family) and its neighbour sysctls.
type Iface struct {
	At     format.Pos    `yaml:"-"`
	Name   format.Line   `yaml:"name"`
	MAC    format.Line   `yaml:"mac"`
	Addrs  []format.Line `yaml:"addrs"`
	Sysctl format.Pairs  `yaml:"sysctl"`
}

// Move moves address IP from one interface to another at a time (a
// failover of a floating or virtual IP).
type Move struct {
	At   format.Pos  `yaml:"-"`
	IP   format.Line `yaml:"ip"`
	From format.Line `yaml:"from"`
	To   format.Line `yaml:"to"`
	Time format.Line `yaml:"at"`
}

// Packet is one frame of an ARP sender that lists them (`packets:`).
type Packet struct {
	At    format.Pos  `yaml:"-"`
	Op    format.Line `yaml:"op"`
	After format.Line `yaml:"after"`
	THA   format.Line `yaml:"tha"`
}

// Sender announces IP from an interface: by a preset, by `packets:`, or
// as count frames of one op an interval apart.
type Sender struct {
	At       format.Pos  `yaml:"-"`
	Name     format.Line `yaml:"name"`
	From     format.Line `yaml:"from"`
	IP       format.Line `yaml:"ip"`
	Preset   format.Line `yaml:"preset"`
	Start    format.Line `yaml:"start"`
	To       format.Line `yaml:"to"`
	Op       format.Line `yaml:"op"`
	Count    format.Line `yaml:"count"`
	Interval format.Line `yaml:"interval"`
	Jitter   format.Line `yaml:"jitter"`
	THA      format.Line `yaml:"tha"`
	Packets  []Packet    `yaml:"packets"`
	// Override and Router are an ndisc sender's NA flags O (default
	// true) and R (default false).
	Override format.Line `yaml:"override"`
	Router   format.Line `yaml:"router"`
}

// Flow sends packets (icmp, or tcp with acknowledgements) from an
// interface to an address, which confirm or resolve the neighbour entry.
type Flow struct {
	At       format.Pos  `yaml:"-"`
	Name     format.Line `yaml:"name"`
	From     format.Line `yaml:"from"`
	To       format.Line `yaml:"to"`
	Proto    format.Line `yaml:"proto"`
	Start    format.Line `yaml:"start"`
	Every    format.Line `yaml:"every"`
	Jitter   format.Line `yaml:"jitter"`
	Backoff  format.Line `yaml:"backoff"`
	MaxEvery format.Line `yaml:"max-every"`
	Count    format.Line `yaml:"count"`
	RTT      format.Line `yaml:"rtt"`
	// Confirm: a udp flow sends with MSG_CONFIRM once answered.
	Confirm format.Line `yaml:"confirm"`
}

// Converges is the property that Host's entry of IP holds its owner's
// MAC within a time (of the move of IP, if there is one).
type Converges struct {
	At     format.Pos  `yaml:"-"`
	Host   format.Line `yaml:"host"`
	IP     format.Line `yaml:"ip"`
	Within format.Line `yaml:"within"`
}

// Blackhole is the property that Flow's packets are not lost to a wrong
// MAC for longer than Limit.
type Blackhole struct {
	At    format.Pos  `yaml:"-"`
	Flow  format.Line `yaml:"flow"`
	Limit format.Line `yaml:"limit"`
}

// Announced is the property that Host's entry of IP holds the announced
// MAC after the last announcement (gratuitous ARP or unsolicited NA) of
// IP that reached it.
type Announced struct {
	At   format.Pos  `yaml:"-"`
	Host format.Line `yaml:"host"`
	IP   format.Line `yaml:"ip"`
}

// Property is one of Converges, NoBlackhole, Announced, NoStuck or
// NotEvicted.
type Property struct {
	At          format.Pos `yaml:"-"`
	Converges   *Converges `yaml:"converges"`
	NoBlackhole *Blackhole `yaml:"no-blackhole-longer-than"`
	NoStuck     *Stuck     `yaml:"no-stuck-entry"`
	NotEvicted  *Evicted   `yaml:"not-evicted-in-use"`
	Announced   *Announced `yaml:"announcement-taken"`
}

// Agent runs ip neigh commands on a host, in order (admin.go).
type Agent struct {
	At       format.Pos  `yaml:"-"`
	Name     format.Line `yaml:"name"`
	Host     format.Line `yaml:"host"`
	Commands []Command   `yaml:"commands"`
}

// Command is one ip neigh command line and its time window.
type Command struct {
	At   format.Pos  `yaml:"-"`
	Time format.Line `yaml:"at"`
	Cmd  format.Line `yaml:"cmd"`
}

// Stuck is the property that Host's entry of IP is never stuck (a
// timer state with no timer armed, or FAILED and never retried) for
// longer than Limit.
type Stuck struct {
	At    format.Pos  `yaml:"-"`
	Host  format.Line `yaml:"host"`
	IP    format.Line `yaml:"ip"`
	Limit format.Line `yaml:"limit"`
}

// Evicted is the property that garbage collection never removes the
// entry Flow sends through while the flow runs.
type Evicted struct {
	At   format.Pos  `yaml:"-"`
	Flow format.Line `yaml:"flow"`
}
