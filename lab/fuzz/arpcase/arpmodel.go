package arpcase

import (
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"raceroute/explore"
	"raceroute/model/neigh"
	"raceroute/model/neigh/nud"
	"raceroute/profile"
)

// arpSender is one ARP sender of the model: the frames of one source.
type arpSender struct {
	mac, ip int
	unicast bool
	packets []neigh.Packet
	events  []int // the case's event index of each frame
}

// arpFlow is one packet: a flow of one packet.
type arpFlow struct {
	ip    int
	at    int32
	event int
}

// at is event i's time under perturbation pt.
func (c *arpCase) at(i int, pt perturbation) int32 {
	t := c.events[i].at
	if i == pt.event {
		t += pt.by
	}
	return t
}

// actors groups the case's frames into senders (one per source, in the
// order of their first frame) and its packets into one-packet flows.
func (c *arpCase) actors(pt perturbation) ([]arpSender, []arpFlow) {
	var senders []arpSender
	var flows []arpFlow
	last := map[int]int32{}
	for i, e := range c.events {
		switch e.kind {
		case evFrame:
			si := -1
			for j, s := range senders {
				if s.mac == e.mac && s.ip == e.ip && s.unicast == e.unicast {
					si = j
				}
			}
			if si < 0 {
				si = len(senders)
				senders = append(senders, arpSender{mac: e.mac, ip: e.ip, unicast: e.unicast})
			}
			t := c.at(i, pt)
			after := t - last[si]
			last[si] = t
			senders[si].packets = append(senders[si].packets, neigh.Packet{Op: e.op, After: neigh.Window{Min: after, Max: after}, THA: e.tha})
			senders[si].events = append(senders[si].events, i)
		case evPacket:
			flows = append(flows, arpFlow{ip: e.ip, at: c.at(i, pt), event: i})
		}
	}
	return senders, flows
}

// config builds the model's configuration of the case: what the
// reproducer's scenario compiles to (interfaces 0 recv, 1 old, 2 new).
func (c *arpCase) config(p *profile.Profile, pt perturbation) (*neigh.Config, error) {
	cfg := &neigh.Config{Profile: *p}
	cfg.Hosts = []neigh.Host{{Name: "recv", Ifaces: []int{0}}, {Name: macNames[0], Ifaces: []int{1}}, {Name: macNames[1], Ifaces: []int{2}}}
	cfg.Ifaces = []neigh.Iface{{Host: 0, Name: "eth0", MAC: recvMAC.As6(), Prefix: recvAddr.Masked(), Sysctl: c.sys, Draw: true}}
	for i, m := range arpMACs {
		cfg.Ifaces = append(cfg.Ifaces, neigh.Iface{Host: 1 + i, Name: "eth0", MAC: m.As6(), Prefix: arpHostAddrs[i].Masked(), Sysctl: neigh.DefaultSysctl()})
	}
	cfg.IPs = append(cfg.IPs, recvAddr.Addr(), arpHostAddrs[0].Addr(), arpHostAddrs[1].Addr())
	cfg.Owner = []int{0, 1, 2}
	for _, a := range arpIPs {
		cfg.IPs = append(cfg.IPs, a)
		cfg.Owner = append(cfg.Owner, -1)
	}
	for i := range arpIPs {
		cfg.Slots = append(cfg.Slots, neigh.Slot{Iface: 0, IP: 3 + i})
	}
	senders, flows := c.actors(pt)
	for i, s := range senders {
		uni := -1
		if s.unicast {
			uni = 0
		}
		cfg.Senders = append(cfg.Senders, neigh.Sender{Name: fmt.Sprintf("s%d", i+1), Iface: 1 + s.mac, IP: 3 + s.ip, Unicast: uni, Packets: s.packets})
	}
	for i, f := range flows {
		cfg.Flows = append(cfg.Flows, neigh.Flow{Name: fmt.Sprintf("p%d", i+1), Iface: 0, IP: 3 + f.ip, Proto: neigh.ProtoICMP,
			Start: neigh.Window{Min: f.at, Max: f.at}, Every: 1000, Backoff: 1, Count: 1})
	}
	return cfg, cfg.Validate()
}

// model runs the case in the model under pt and returns the observations
// at every checkpoint.
func (c *arpCase) model(p *profile.Profile, pt perturbation) ([]string, error) {
	cfg, err := c.config(p, pt)
	if err != nil {
		return nil, err
	}
	m, err := neigh.New(cfg)
	if err != nil {
		return nil, err
	}
	var checks []int
	for i, e := range c.events {
		if e.kind == evCheck {
			checks = append(checks, i)
		}
	}
	timerSlot := map[int]int{}
	for a, name := range m.Actors() {
		if strings.HasPrefix(name, "timer:") {
			timerSlot[a] = len(timerSlot)
		}
	}
	s := m.Init()
	armedAt := make([]int32, len(cfg.Slots))
	var out []string
	observe := func(ci int) {
		at := c.at(ci, pt)
		for sl := range arpIPs {
			e := &s.Entries[sl]
			var mac string
			if e.LL > 0 {
				mac = fmt.Sprint(arpMACOf(int(e.LL) - 1))
			}
			out = append(out, observation(c.events[ci].at, sl, modelClass(e.State, mac)))
		}
		_ = at
	}
	var buf []explore.Step
	for steps := 0; ; steps++ {
		if steps > 100000 {
			return nil, fmt.Errorf("arp model: more than 100000 steps")
		}
		buf = m.Pending(&s, buf[:0])
		best, bestT := -1, int64(0)
		for i, st := range buf {
			t := st.Earliest
			if sl, ok := timerSlot[st.Actor]; ok && pt.late {
				t += int64(timerLate(int32(t) - armedAt[sl]))
			}
			if best < 0 || t < bestT {
				best, bestT = i, t
			}
		}
		for len(checks) > 0 && (best < 0 || bestT > int64(c.at(checks[0], pt))) {
			observe(checks[0])
			checks = checks[1:]
		}
		if best < 0 || bestT > int64(c.horizon)+margin {
			break
		}
		st := buf[best]
		outcome := 0
		if st.Outcomes > 1 {
			outcome = int(math.Round(pt.reach * float64(st.Outcomes-1)))
		}
		var before [neigh.MaxEntries]int32
		for i := range cfg.Slots {
			before[i] = s.Entries[i].Timer
		}
		m.Fire(&s, st, bestT, outcome, nil)
		for i := range cfg.Slots {
			if s.Entries[i].Timer != before[i] && s.Entries[i].Timer != nud.NoTimer {
				armedAt[i] = int32(bestT)
			}
		}
	}
	for _, ci := range checks {
		observe(ci)
	}
	return out, nil
}

// arpMACOf is the MAC of the model's interface i (0 recv, 1 old, 2 new).
func arpMACOf(i int) string {
	if i == 0 {
		return recvMAC.String()
	}
	return arpMACs[i-1].String()
}

// modelClass is stateClass for the model's entry.
func modelClass(st nud.State, mac string) string {
	switch st {
	case nud.Reachable, nud.Stale, nud.Delay, nud.Probe:
		return st.String() + " " + mac
	case nud.Incomplete:
		return st.String()
	}
	return "none"
}

// hz is the running kernel's CONFIG_HZ (100 when it cannot be read: the
// coarsest timer wheel, so the most cautious lateness).
var hz = readHZ()

func readHZ() int32 {
	var data []byte
	if f, err := os.Open("/proc/config.gz"); err == nil {
		if z, err := gzip.NewReader(f); err == nil {
			data, _ = io.ReadAll(z)
		}
		f.Close()
	}
	if len(data) == 0 {
		if r, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
			data, _ = os.ReadFile("/boot/config-" + strings.TrimSpace(string(r)))
		}
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "CONFIG_HZ="); ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 100 {
				return int32(n)
			}
		}
	}
	return 100
}

// timerLate is how late a timer armed delta ms ahead may fire: the timer
// wheel (kernel/time/timer.c, 6.x: LVL_BITS 6, LVL_CLK_SHIFT 3) rounds
// an expiry up to its level's granularity, 8^level jiffies for a delta
// below 63 << 3*level jiffies, plus a jiffy, plus scheduling noise.
func timerLate(delta int32) int32 {
	jiffy := 1000 / hz
	j := delta / jiffy
	gran := int32(1)
	for lvl := int32(0); lvl < 8 && j >= 63<<(3*lvl); lvl++ {
		gran = 1 << (3 * (lvl + 1))
	}
	return gran*jiffy + jiffy + 20
}
