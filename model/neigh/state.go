package neigh

import "encoding/binary"

// IfState is the per-interface state: the drawn reachable_time of its
// neigh_parms and the pending-confirm flag of its on-link route's shared
// dst (struct dst_entry pending_confirm, before 4.11).
type IfState struct {
	Reach      int32
	DstPending uint8
	PendingBy  uint8 // flow index + 1 whose ACK set DstPending (stories)
	Drawn      uint8
}

// FlowState is a flow's progress and what the properties measure.
type FlowState struct {
	Next       int32 // next transmission (earliest)
	LastTx     int32
	AckAt      int32 // earliest arrival of the pending ACK
	LossSince  int32 // first undelivered packet of the current streak, or -1
	MaxLoss    int32 // longest closed streak
	Sent       int32
	K          uint8 // backoff exponent
	AckPending uint8
	SkPending  uint8 // sk->sk_dst_pending_confirm (4.11 on)
	Queued     uint8 // a packet waits in the entry's arp_queue
	// QueuedAt is when the oldest packet in the queue was sent (0 when
	// none is): a queue dropped, or sent to the wrong owner, loses every
	// packet from it on.
	QueuedAt int32
	Done     uint8
	Armed    uint8 // draw mode: the start time has been drawn
}

// SenderState is an ARP sender's progress.
type SenderState struct {
	Last  int32 // time of the previous packet
	Next  int32 // draw mode: exact time of the next packet
	Idx   uint8 // next packet
	Armed uint8 // draw mode: Next has been drawn
}

// State is the whole modelled segment at one instant. It is a flat value:
// copy it by assignment.
type State struct {
	Now     int32
	Entries [MaxEntries]Entry
	Ifs     [MaxIfaces]IfState
	Flows   [MaxFlows]FlowState
	Senders [MaxSenders]SenderState
	Owner   [MaxIPs]int8 // owning interface of each IP, -1 none
	MovedAt [MaxMoves]int32
	MoveAt  [MaxMoves]int32 // draw mode: the drawn time of each move, -1 before
	// GoodSince is, per converges watch, since when the entry has held
	// the owner's MAC (-1: it does not); per no-stuck-entry watch, since
	// when the entry has been stuck; per not-evicted-in-use watch, when
	// GC first removed the flow's entry in use (-1: never).
	GoodSince [MaxWatches]int32
	// The ip neigh agents, the garbage-collected tables and the
	// no-stuck-entry streaks (state_admin.go).
	AdminIdx [MaxAdmins]uint8
	AdminAt  [MaxAdmins]int32 // draw mode: the drawn time of the next command, -1 before
	Tables   [MaxTables]TableState
	Longest  [MaxWatches]int32
	// DstSlot has bit i set when the /128 route-cache clone of entry i's
	// address has a pending confirm: IPv6 before 4.2 clones a dst per
	// on-link destination (rt6_alloc_cow()), so a dst_confirm() there
	// confirms only that destination.
	DstSlot uint16
	// Announced is, per announced watch, what the entry held after the
	// last announcement that reached it (annNone, annTaken, annMissed,
	// annNoEntry), AnnAt when that was, and AnnLL the lladdr the entry
	// held then (0: none valid).
	Announced [MaxWatches]int8
	AnnLL     [MaxWatches]uint8
	// Managed is the managed work's schedule (managedSched), in what
	// was the padding before AnnAt.
	Managed managedSched
	AnnAt   [MaxWatches]int32
}

// encode appends the canonical encoding of the used part of s.
func (m *Model) encode(s *State, b []byte) []byte {
	le := binary.LittleEndian
	b = le.AppendUint32(b, uint32(s.Now))
	for i := range m.cfg.Slots {
		e := &s.Entries[i]
		b = le.AppendUint32(b, uint32(e.Confirmed))
		b = le.AppendUint32(b, uint32(e.Updated))
		b = le.AppendUint32(b, uint32(e.Used))
		b = le.AppendUint32(b, uint32(e.Timer))
		b = append(b, byte(e.State), e.LL, e.Probes, byte(e.UpdBy), e.HH, e.Flags, e.Born)
	}
	for i := range m.cfg.Ifaces {
		f := &s.Ifs[i]
		b = le.AppendUint32(b, uint32(f.Reach))
		b = append(b, f.DstPending, f.PendingBy, f.Drawn)
	}
	for i := range m.cfg.Flows {
		f := &s.Flows[i]
		for _, v := range [...]int32{f.Next, f.LastTx, f.AckAt, f.LossSince, f.MaxLoss, f.Sent, f.QueuedAt} {
			b = le.AppendUint32(b, uint32(v))
		}
		b = append(b, f.K, f.AckPending, f.SkPending, f.Queued, f.Done, f.Armed)
	}
	for i := range m.cfg.Senders {
		b = le.AppendUint32(b, uint32(s.Senders[i].Last))
		b = le.AppendUint32(b, uint32(s.Senders[i].Next))
		b = append(b, s.Senders[i].Idx, s.Senders[i].Armed)
	}
	for i := range m.cfg.IPs {
		b = append(b, byte(s.Owner[i]))
	}
	for i := range m.cfg.Moves {
		b = le.AppendUint32(b, uint32(s.MovedAt[i]))
		b = le.AppendUint32(b, uint32(s.MoveAt[i]))
	}
	for i := range m.cfg.Watches {
		b = le.AppendUint32(b, uint32(s.GoodSince[i]))
		b = le.AppendUint32(b, uint32(s.AnnAt[i]))
		b = append(b, byte(s.Announced[i]), s.AnnLL[i])
	}
	b = le.AppendUint16(b, s.DstSlot)
	return m.encodeAdmin(s, b)
}
