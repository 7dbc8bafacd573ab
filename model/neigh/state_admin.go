package neigh

import "encoding/binary"

// TableState is a garbage-collected table's state (config Table).
type TableState struct {
	// NextGC is when neigh_periodic_work() runs next; -1 before its
	// first run is placed (draw mode: drawn).
	NextGC int32
	// LastFlush is tbl->last_flush, the last forced GC.
	LastFlush int32
	// Stale is how many stale background entries are left.
	Stale int32
}

// encodeAdmin appends the encoding of the admin agents, the tables and
// the stuck streaks.
func (m *Model) encodeAdmin(s *State, b []byte) []byte {
	le := binary.LittleEndian
	for i := range m.cfg.Admins {
		b = append(b, s.AdminIdx[i])
		b = le.AppendUint32(b, uint32(s.AdminAt[i]))
	}
	for i := range m.cfg.Tables {
		t := &s.Tables[i]
		b = le.AppendUint32(b, uint32(t.NextGC))
		b = le.AppendUint32(b, uint32(t.LastFlush))
		b = le.AppendUint32(b, uint32(t.Stale))
	}
	if m.cfg.Managed != nil {
		b = le.AppendUint16(b, uint16(s.Managed))
	}
	for i, w := range m.cfg.Watches {
		if w.Kind == WatchStuck {
			b = le.AppendUint32(b, uint32(s.Longest[i]))
		}
	}
	return b
}
