package neigh

import (
	"fmt"

	"raceroute/explore"
	"raceroute/model/profile"
	"raceroute/trace"
)

// Actor kinds.
const (
	actDraw uint8 = iota + 1
	actMove
	actSender
	actFlow
	actTimer
)

type actor struct {
	kind uint8
	idx  int
	name string
}

// Model is the executable neighbour model of one compiled scenario on one
// kernel profile. It implements explore.Model[State].
type Model struct {
	cfg      *Config
	actors   []actor
	names    []string
	slotOf   [MaxIfaces][MaxIPs]int8
	flowSlot [MaxFlows]int
	ifaceIP  [MaxIfaces]int // an own address of each interface (ARP source), -1
	draws    [MaxIfaces]int // outcomes of each interface's reachable_time draw
}

// New builds the model of cfg; cfg must not change afterwards.
func New(cfg *Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("neigh model: %w", err)
	}
	m := &Model{cfg: cfg}
	for i := range m.slotOf {
		for j := range m.slotOf[i] {
			m.slotOf[i][j] = -1
		}
	}
	for i, s := range cfg.Slots {
		m.slotOf[s.Iface][s.IP] = int8(i)
	}
	for i := range m.ifaceIP {
		m.ifaceIP[i] = -1
	}
	for ip, own := range cfg.Owner {
		if own >= 0 && m.ifaceIP[own] < 0 {
			m.ifaceIP[own] = ip
		}
	}
	for fi, f := range cfg.Flows {
		m.flowSlot[fi] = cfg.slot(f.Iface, f.IP)
	}
	add := func(k uint8, i int, name string) {
		m.actors = append(m.actors, actor{k, i, name})
		m.names = append(m.names, name)
	}
	for i, f := range cfg.Ifaces {
		if f.Draw {
			add(actDraw, i, fmt.Sprintf("kernel:%s/%s neigh_parms", cfg.Hosts[f.Host].Name, f.Name))
			n := cfg.Draws
			if n <= 0 || n > int(f.Sysctl.BaseReachable) {
				n = int(f.Sysctl.BaseReachable)
			}
			m.draws[i] = max(n, 1)
		}
	}
	for i, mv := range cfg.Moves {
		add(actMove, i, "move:"+cfg.IPs[mv.IP].String())
	}
	for i, s := range cfg.Senders {
		add(actSender, i, "arp:"+s.Name)
	}
	for i, f := range cfg.Flows {
		add(actFlow, i, "flow:"+f.Name)
	}
	for i, s := range cfg.Slots {
		add(actTimer, i, fmt.Sprintf("timer:%s/%s", cfg.Hosts[cfg.Ifaces[s.Iface].Host].Name, cfg.IPs[s.IP]))
	}
	if len(m.actors) > 64 {
		return nil, fmt.Errorf("neigh model: %d actors, at most 64", len(m.actors))
	}
	return m, nil
}

// Config returns the model's configuration.
func (m *Model) Config() *Config { return m.cfg }

// Init returns the state at t=0.
func (m *Model) Init() State {
	var s State
	for i := range s.Entries {
		s.Entries[i].Timer = noTimer
	}
	for i, sl := range m.cfg.Slots {
		e := &s.Entries[i]
		if sl.Init == nil {
			continue
		}
		t := -sl.Init.Age
		e.State, e.Confirmed, e.Updated, e.Used = sl.Init.State, t, t, t
		e.UpdBy = byInit
		if sl.Init.LL >= 0 {
			e.LL = uint8(sl.Init.LL + 1)
		}
		if e.State&NUDInTimer != 0 && e.State != NUDReachable {
			e.Timer = 0 // re-evaluated at once
		}
	}
	for i := range m.cfg.Ifaces {
		s.Ifs[i].Reach = m.cfg.Ifaces[i].Sysctl.BaseReachable
		if !m.cfg.Ifaces[i].Draw {
			s.Ifs[i].Drawn = 1
			m.armReachable(&s, i)
		}
	}
	for i, f := range m.cfg.Flows {
		s.Flows[i] = FlowState{Next: f.Start.Min, LastTx: -1, LossSince: -1}
	}
	for i := range s.MoveAt {
		s.MoveAt[i] = -1
	}
	for i := range m.cfg.Owner {
		s.Owner[i] = int8(m.cfg.Owner[i])
	}
	for i := range s.MovedAt {
		s.MovedAt[i] = -1
	}
	for i := range s.GoodSince {
		s.GoodSince[i] = -1
	}
	m.watch(&s)
	return s
}

// armReachable arms the timers of the initial REACHABLE entries of iface
// once its reachable_time is known.
func (m *Model) armReachable(s *State, iface int) {
	for i, sl := range m.cfg.Slots {
		e := &s.Entries[i]
		if sl.Iface == iface && e.State == NUDReachable && e.Timer == noTimer {
			e.Timer = max(e.Confirmed+s.Ifs[iface].Reach, 0)
		}
	}
}

// Actors names the actors.
func (m *Model) Actors() []string { return m.names }

// Clock returns the time of s.
func (m *Model) Clock(s *State) explore.Time { return explore.Time(s.Now) }

var allFootprint = explore.Footprint{Read: ^uint64(0), Write: ^uint64(0)}

// Pending appends the next step of every actor that has one.
func (m *Model) Pending(s *State, buf []explore.Step) []explore.Step {
	for a := range m.actors {
		ac := &m.actors[a]
		st := explore.Step{Actor: a, Footprint: allFootprint}
		switch ac.kind {
		case actDraw:
			if s.Ifs[ac.idx].Drawn != 0 {
				continue
			}
			st.Earliest, st.Latest, st.Outcomes = 0, 0, m.draws[ac.idx]
			st.Footprint = explore.Footprint{Write: 1 << 63}
		case actMove:
			if s.MovedAt[ac.idx] >= 0 {
				continue
			}
			w := m.cfg.Moves[ac.idx].At
			if m.cfg.DrawTimes {
				if at := s.MoveAt[ac.idx]; at >= 0 {
					w = Window{at, at}
				} else {
					w.Max, st.Outcomes = w.Min, int(w.Max-w.Min)+1
				}
			}
			st.Earliest, st.Latest = explore.Time(w.Min), explore.Time(w.Max)
		case actSender:
			ss := &s.Senders[ac.idx]
			pk := m.cfg.Senders[ac.idx].Packets
			if int(ss.Idx) >= len(pk) {
				continue
			}
			w := pk[ss.Idx].After
			if m.cfg.DrawTimes {
				if ss.Armed == 0 {
					st.Outcomes = int(w.Max-w.Min) + 1
					st.Earliest, st.Latest = explore.Time(w.Min), explore.Time(w.Min)
				} else {
					st.Earliest, st.Latest = explore.Time(ss.Next), explore.Time(ss.Next)
					if int(ss.Idx)+1 < len(pk) {
						nw := pk[ss.Idx+1].After
						st.Outcomes = int(nw.Max-nw.Min) + 1
					}
				}
				break
			}
			st.Earliest, st.Latest = explore.Time(ss.Last+w.Min), explore.Time(ss.Last+w.Max)
		case actFlow:
			fs := &s.Flows[ac.idx]
			f := &m.cfg.Flows[ac.idx]
			switch {
			case fs.AckPending != 0:
				if m.cfg.DrawTimes {
					st.Earliest, st.Latest = explore.Time(fs.AckAt), explore.Time(fs.AckAt)
				} else {
					st.Earliest, st.Latest = explore.Time(fs.AckAt), explore.Time(fs.AckAt+f.RTT.Max-f.RTT.Min)
				}
			case fs.Done != 0:
				continue
			case m.cfg.DrawTimes && fs.Armed == 0:
				st.Earliest, st.Latest = explore.Time(f.Start.Min), explore.Time(f.Start.Min)
				st.Outcomes = int(f.Start.Max-f.Start.Min) + 1
			case m.cfg.DrawTimes:
				st.Earliest, st.Latest = explore.Time(fs.Next), explore.Time(fs.Next)
				st.Outcomes = int(f.Jitter+1) * int(f.RTT.Max-f.RTT.Min+1)
			default:
				j := f.Jitter
				if fs.Sent == 0 {
					j = f.Start.Max - f.Start.Min
				}
				st.Earliest, st.Latest = explore.Time(fs.Next), explore.Time(fs.Next+j)
			}
		case actTimer:
			t := s.Entries[ac.idx].Timer
			if t == noTimer {
				continue
			}
			st.Earliest, st.Latest = explore.Time(t), explore.Time(t)
		}
		buf = append(buf, st)
	}
	return buf
}

// Fire executes st at time at with outcome.
func (m *Model) Fire(s *State, st explore.Step, at explore.Time, outcome int, rec trace.Recorder) {
	s.Now = int32(at)
	ac := &m.actors[st.Actor]
	v := env{s: s, now: s.Now, rec: rec}
	if rec != nil {
		v.actor = ac.name
	}
	switch ac.kind {
	case actDraw:
		m.fireDraw(&v, ac.idx, outcome)
	case actMove:
		if m.cfg.DrawTimes && s.MoveAt[ac.idx] < 0 {
			s.MoveAt[ac.idx] = s.Now + int32(outcome)
			break
		}
		m.fireMove(&v, ac.idx)
	case actSender:
		if ss := &s.Senders[ac.idx]; m.cfg.DrawTimes && ss.Armed == 0 {
			ss.Armed, ss.Next = 1, s.Now+int32(outcome)
			break
		}
		m.fireSender(&v, ac.idx, outcome)
	case actFlow:
		if fs := &s.Flows[ac.idx]; m.cfg.DrawTimes && fs.Armed == 0 && fs.AckPending == 0 {
			fs.Armed, fs.Next = 1, s.Now+int32(outcome)
			break
		}
		m.fireFlow(&v, ac.idx, outcome)
	case actTimer:
		m.timer(&v, ac.idx)
	}
	m.watch(s)
}

// Encode appends the canonical encoding of s.
func (m *Model) Encode(s *State, buf []byte) []byte { return m.encode(s, buf) }

// fireDraw is neigh_parms_alloc() (net/core/neighbour.c, 3.10 to 6.x):
// reachable_time = neigh_rand_reach_time(base) = base/2 + prandom % base;
// with Draws = N the explorer chooses among N evenly spaced values. The
// 300 s re-draw of neigh_periodic_work() is skipped in tables smaller than
// gc_thresh1 (3.10), so one draw per interface is the whole story.
func (m *Model) fireDraw(v *env, iface, outcome int) {
	base := m.cfg.Ifaces[iface].Sysctl.BaseReachable
	n := m.draws[iface]
	var r int32
	switch {
	case n == 1:
		r = base
	case n >= int(base):
		r = base/2 + int32(outcome)
	default:
		r = base/2 + int32(int64(outcome)*int64(base-1)/int64(n-1))
	}
	v.s.Ifs[iface].Reach, v.s.Ifs[iface].Drawn = r, 1
	m.armReachable(v.s, iface)
	if v.rec != nil {
		m.record(v, iface, trace.LabelNeigh, trace.OpNone,
			fmt.Sprintf("dev %s reachable_time %s", m.cfg.Ifaces[iface].Name, dur(r)),
			fmt.Sprintf("neigh_rand_reach_time(): drawn in [%s, %s)", dur(base/2), dur(base+base/2)))
	}
}

func (m *Model) fireMove(v *env, i int) {
	mv := &m.cfg.Moves[i]
	v.s.Owner[mv.IP] = int8(mv.To)
	v.s.MovedAt[i] = v.now
	if v.rec != nil {
		m.record(v, mv.To, trace.LabelNote, trace.OpNone,
			fmt.Sprintf("ip move %s: %s (%s) -> %s (%s)", m.ipStr(mv.IP), m.hostName(mv.From), m.macStr(uint8(mv.From+1)), m.hostName(mv.To), m.macStr(uint8(mv.To+1))),
			"from now on only "+m.hostName(mv.To)+" answers for it")
	}
}

func (m *Model) fireSender(v *env, i int, outcome int) {
	sd := &m.cfg.Senders[i]
	ss := &v.s.Senders[i]
	pk := sd.Packets[ss.Idx]
	ss.Idx++
	ss.Last = v.now
	if m.cfg.DrawTimes && int(ss.Idx) < len(sd.Packets) {
		ss.Next = v.now + sd.Packets[ss.Idx].After.Min + int32(outcome)
	}
	f := frame{op: pk.Op, sha: uint8(sd.Iface + 1), sip: sd.IP, tip: sd.IP, tha: pk.THA, thaIface: uint8(sd.Iface + 1)}
	if v.rec != nil {
		dst := "broadcast"
		if sd.Unicast >= 0 {
			dst = "to " + m.macStr(uint8(sd.Unicast+1))
		}
		what := "arping -U (gratuitous request)"
		if pk.Op == OpReply {
			what = "arping -A (gratuitous reply)"
			if pk.THA != THASelf {
				what = "gratuitous reply, target MAC not the sender's"
			}
		}
		m.record(v, sd.Iface, trace.LabelARP, trace.OpNone,
			fmt.Sprintf("%s tx %s %s is-at %s %s", m.cfg.Ifaces[sd.Iface].Name, opName(pk.Op), m.ipStr(sd.IP), m.macStr(uint8(sd.Iface+1)), dst),
			fmt.Sprintf("%s, %d of %d", what, ss.Idx, len(sd.Packets)))
	}
	if sd.Unicast >= 0 {
		m.arpProcess(v, sd.Unicast, f, true)
		return
	}
	for rx := range m.cfg.Ifaces {
		if rx != sd.Iface {
			m.arpProcess(v, rx, f, false)
		}
	}
}

// interval is the flow's gap after k unanswered transmissions.
func (f *Flow) interval(k uint8) int32 {
	const day = 86400000
	iv := f.Every
	for j := uint8(0); j < k && f.Backoff > 1; j++ {
		iv = min(iv*f.Backoff, day) // both <= 1 day: no overflow
		if f.MaxEvery > 0 && iv >= f.MaxEvery {
			return f.MaxEvery
		}
	}
	return iv
}

func (m *Model) fireFlow(v *env, fi int, outcome int) {
	f := &m.cfg.Flows[fi]
	fs := &v.s.Flows[fi]
	if fs.AckPending != 0 {
		fs.AckPending = 0
		// tcp_ack() (net/ipv4/tcp_input.c): on FLAG_FORWARD_PROGRESS,
		// dst_confirm() before 4.11, sk_dst_confirm() from 4.11.
		if m.cfg.Profile.Confirmation == profile.ConfirmSharedDst {
			v.s.Ifs[f.Iface].DstPending = 1
			v.s.Ifs[f.Iface].PendingBy = uint8(fi + 1)
		} else {
			fs.SkPending = 1
		}
		if v.rec != nil {
			r := fmt.Sprintf("tcp_ack() -> dst_confirm(): pending confirm set on the shared dst of %s (any next packet through it confirms its own neighbour)", m.cfg.Ifaces[f.Iface].Prefix.Masked())
			if m.cfg.Profile.Confirmation == profile.ConfirmPerSkb {
				r = "tcp_ack() -> sk_dst_confirm(): the socket's next segment confirms " + m.ipStr(f.IP)
			}
			m.record(v, f.Iface, trace.LabelTCP, trace.OpNone,
				fmt.Sprintf("%s rx ACK from %s (%s)", m.cfg.Ifaces[f.Iface].Name, m.ipStr(f.IP), f.Name), r)
		}
		return
	}
	fs.Sent++
	fs.LastTx = v.now
	jit, rtt := int32(0), int32(0)
	if m.cfg.DrawTimes {
		jit, rtt = int32(outcome%int(f.Jitter+1)), int32(outcome/int(f.Jitter+1))
	}
	delivered, queued := m.transmit(v, fi)
	if !queued {
		m.account(v, fi, v.now, delivered)
	}
	if delivered && fs.AckPending != 0 {
		fs.AckAt += rtt
	}
	// The next transmission: every, or the retransmission timeout doubled
	// per unanswered try (tcp_retransmit_timer()'s backoff, as SYNs do).
	fs.Next = v.now + f.interval(fs.K) + jit
	if delivered {
		fs.K = 0
		fs.Next = v.now + f.Every + jit
	} else if fs.K < 30 {
		fs.K++
	}
	if f.Count > 0 && fs.Sent >= f.Count {
		fs.Done = 1
	}
}

// transmit is ip_finish_output2() for one packet of flow fi: the
// confirmation (dst_neigh_output() before 4.11: the shared dst's pending
// flag confirms whatever neighbour this packet uses; 4.11 on:
// sock_confirm_neigh() confirms with the socket's own flag), then the
// CONNECTED fast path or neigh_resolve_output().
func (m *Model) transmit(v *env, fi int) (delivered, queued bool) {
	f := &m.cfg.Flows[fi]
	fs := &v.s.Flows[fi]
	sl := m.flowSlot[fi]
	e := &v.s.Entries[sl]
	if e.State == NUDNone {
		m.create(v, sl)
	}
	confirmNote := ""
	if m.cfg.Profile.Confirmation == profile.ConfirmSharedDst {
		if ifs := &v.s.Ifs[f.Iface]; ifs.DstPending != 0 {
			by := int(ifs.PendingBy) - 1
			ifs.DstPending, ifs.PendingBy = 0, 0
			e.Confirmed = v.now
			if v.rec != nil {
				confirmNote = fmt.Sprintf("dst_neigh_output(): the shared dst's pending confirm is consumed: confirmed %s", m.ipStr(f.IP))
				if by >= 0 && m.cfg.Flows[by].IP != f.IP {
					confirmNote += fmt.Sprintf(" (a wrong confirmation: the ACK came from %s)", m.ipStr(m.cfg.Flows[by].IP))
				}
			}
		}
	} else if fs.SkPending != 0 {
		fs.SkPending = 0
		e.Confirmed = v.now
		if v.rec != nil {
			confirmNote = "sock_confirm_neigh(): confirmed " + m.ipStr(f.IP) + " (its own ACK)"
		}
	}
	path := "fast path (REACHABLE)"
	if e.State&NUDConnected == 0 {
		path = ""
		queued = m.eventSend(v, sl, fi)
		if queued && fs.Queued == 0 {
			// resolved at once: the queued packet already left (or was
			// dropped) from neigh_update()
			return fs.LossSince < 0, true
		}
		if queued {
			if v.rec != nil {
				m.record(v, f.Iface, trace.LabelPacket, trace.OpNone,
					fmt.Sprintf("%s tx %s (%s) queued", m.cfg.Ifaces[f.Iface].Name, m.ipStr(f.IP), f.Name), joinReason(confirmNote, "waiting for ARP resolution"))
			}
			return false, true
		}
	}
	dst := int(e.LL) - 1
	if dst == f.Iface && e.State&NUDValid == 0 {
		dst = -1
	}
	delivered = dst >= 0 && int(v.s.Owner[f.IP]) == dst
	if delivered && f.Proto == ProtoTCP && fs.AckPending == 0 {
		fs.AckPending, fs.AckAt = 1, v.now+f.RTT.Min
	}
	if v.rec != nil {
		where := fmt.Sprintf("reached %s, the owner", m.hostName(dst))
		if !delivered {
			where = fmt.Sprintf("reached %s, which does not own %s: lost", m.hostName(dst), m.ipStr(f.IP))
		}
		if path != "" {
			where = path + "; " + where
		}
		m.record(v, f.Iface, trace.LabelPacket, trace.OpNone,
			fmt.Sprintf("%s tx %s via %s (%s)", m.cfg.Ifaces[f.Iface].Name, m.ipStr(f.IP), m.macStr(e.LL), f.Name), joinReason(confirmNote, where))
	}
	return delivered, false
}

func joinReason(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// deliver sends a queued packet of flow fi now.
func (m *Model) deliver(v *env, fi int, at int32, why string) {
	f := &m.cfg.Flows[fi]
	fs := &v.s.Flows[fi]
	e := &v.s.Entries[m.flowSlot[fi]]
	dst := int(e.LL) - 1
	ok := dst >= 0 && int(v.s.Owner[f.IP]) == dst
	m.account(v, fi, at, ok)
	if ok {
		fs.K = 0
		if f.Proto == ProtoTCP && fs.AckPending == 0 {
			fs.AckPending, fs.AckAt = 1, at+f.RTT.Min
		}
	}
	if v.rec != nil {
		m.record(v, f.Iface, trace.LabelPacket, trace.OpNone,
			fmt.Sprintf("%s tx %s via %s (%s)", m.cfg.Ifaces[f.Iface].Name, m.ipStr(f.IP), m.macStr(e.LL), f.Name), why)
	}
}

// account records a delivered or lost packet for the blackhole property.
func (m *Model) account(v *env, fi int, at int32, delivered bool) {
	fs := &v.s.Flows[fi]
	if delivered {
		if fs.LossSince >= 0 {
			fs.MaxLoss = max(fs.MaxLoss, at-fs.LossSince)
			fs.LossSince = -1
		}
		return
	}
	if fs.LossSince < 0 {
		fs.LossSince = at
	}
}

// watch updates the converges trackers.
func (m *Model) watch(s *State) {
	for i, w := range m.cfg.Watches {
		if w.Kind != WatchConverges {
			continue
		}
		e := &s.Entries[m.slotOf[w.Iface][w.IP]]
		good := e.State&NUDValid != 0 && int(e.LL)-1 == int(s.Owner[w.IP]) && s.Owner[w.IP] >= 0
		switch {
		case good && s.GoodSince[i] < 0:
			s.GoodSince[i] = s.Now
		case !good:
			s.GoodSince[i] = -1
		}
	}
}
