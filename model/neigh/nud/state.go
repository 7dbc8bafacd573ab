// Package nud is the neighbour-table state machine of net/core/neighbour.c,
// shared by ARP (net/ipv4/arp.c) and IPv6 neighbour discovery
// (net/ipv6/ndisc.c): an entry's NUD state, its timestamps and timer, and
// the kernel steps that move it, as pure decision functions:
//
//   - Create: neigh_alloc()
//   - Update: neigh_update() / __neigh_update()
//   - Timer: neigh_timer_handler()
//   - EventSend: __neigh_event_send()
//   - ProbeNext: neigh_probe() and the probe choice arp_solicit() and
//     ndisc_solicit() share
//   - Confirm: neigh_confirm() and the upper-layer confirmations
//
// Each step changes the entry it is given and returns a small value that
// says what it decided and why. It never formats text: the words of a
// story are made from that value by the caller, and only when a story is
// recorded (as porcupine keeps a model's Step apart from its Describe).
//
// Times are integer milliseconds (jiffies at HZ=1000); comparisons follow
// the kernel's time_after(a, b), strictly after.
package nud

import "raceroute/kernel"

// State is a NUD state, or a set of them: the kernel value type, named
// here as the state machine's.
type State = kernel.NUD

// NUD states (include/uapi/linux/neighbour.h).
const (
	None       = kernel.NUDNone
	Incomplete = kernel.NUDIncomplete
	Reachable  = kernel.NUDReachable
	Stale      = kernel.NUDStale
	Delay      = kernel.NUDDelay
	Probe      = kernel.NUDProbe
	Failed     = kernel.NUDFailed
	NoARP      = kernel.NUDNoARP
	Permanent  = kernel.NUDPermanent

	// InTimer, Valid and Connected are the kernel's state sets
	// (include/net/neighbour.h NUD_IN_TIMER, NUD_VALID, NUD_CONNECTED).
	InTimer   = kernel.NUDInTimer
	Valid     = kernel.NUDValid
	Connected = kernel.NUDConnected
)

// Parse reads iproute2's name of a single state.
func Parse(name string) (State, bool) { return kernel.ParseNUD(name) }

// NoTimer is the Timer of an entry whose timer is not armed.
const NoTimer int32 = -1 << 31

// Entry is one neighbour entry (struct neighbour): its NUD state, cached
// lladdr and the timestamps the kernel keeps.
type Entry struct {
	Confirmed int32 // last proof of reachability (n->confirmed)
	Updated   int32 // last change (n->updated), the locktime reference
	Used      int32 // last use on the slow path (n->used)
	Timer     int32 // expiry of the entry's timer, or NoTimer
	State     State
	LL        uint8 // the cached lladdr as the model interns it, 0 = none
	Probes    uint8 // n->probes
	UpdBy     Cause // what last moved Updated (for stories)
	// HH is 1 once the entry's cached hardware header is filled
	// (n->hh.hh_len != 0): neigh_resolve_output() fills it with
	// neigh_hh_init() after neigh_event_send() let a packet go, and it
	// stays (neigh_update_hhs() rewrites it on a new lladdr). Until then
	// even a CONNECTED entry's packets take neigh_resolve_output(), which
	// sets used: neigh_output() takes the fast path only for a CONNECTED
	// entry with hh_len set (dst_neigh_output(), include/net/dst.h, read at
	// 3.10.108; neigh_output(), include/net/neighbour.h, read at 6.12).
	HH uint8
	// Flags are what the model keeps of n->flags and of the entry's
	// existence (FlagLive, FlagExtLearned, FlagManaged).
	Flags uint8
	// Born is the entry's rank in its table's creation order (1 the
	// oldest of the scenario's entries, dense), which is the order of
	// the gc list that 5.0's forced GC walks; 0 when the table is not
	// modelled (no neigh-table).
	Born uint8
}

// Entry flags.
const (
	// FlagLive: the entry exists in the table, a NONE one included (an
	// entry with State None and no FlagLive is no entry).
	FlagLive uint8 = 1 << iota
	// FlagExtLearned: NTF_EXT_LEARNED (ip neigh ... extern_learn), where
	// the kernel has it (the neigh-ext-learned switch).
	FlagExtLearned
	// FlagManaged: NTF_MANAGED (ip neigh ... managed), where the kernel
	// has it (the neigh-managed switch): on the table's managed list.
	FlagManaged
)

// Exists reports whether e is an entry of the table.
func (e *Entry) Exists() bool { return e.State != None || e.Flags&FlagLive != 0 }

// Cause is what last moved an entry's Updated; stories use it to say why
// a locktime window is where it is.
type Cause uint8

// Causes.
const (
	ByInit           Cause = iota // the initial table
	ByCreate                      // neigh_alloc()
	ByUpdate                      // an effective neigh_update()
	ByIgnoredUpdate               // an ignored neigh_update() (up to 4.11 it still moves updated)
	ByStaleDelay                  // STALE -> DELAY on transmit
	ByDelayReachable              // the DELAY timer, confirmed
	ByDelayProbe                  // the DELAY timer, unconfirmed
	ByReachableDelay              // the REACHABLE timer, recently used
	ByReachableStale              // the REACHABLE timer, unused
	ByIncomplete                  // NONE/FAILED -> INCOMPLETE on transmit
	ByFailed                      // probes exhausted
	ByAdmin                       // an administrative change (ip neigh)
)

// Parms are a device's neigh_parms (/proc/sys/net/ipv4/neigh/DEV/*; the
// same fields for IPv6 under net/ipv6/neigh/DEV/*).
type Parms struct {
	Locktime        int32 // locktime, default 1 s
	BaseReachable   int32 // base_reachable_time_ms, default 30 s
	DelayFirstProbe int32 // delay_first_probe_time, default 5 s
	Retrans         int32 // retrans_time_ms, default 1 s
	GcStale         int32 // gc_stale_time, default 60 s
	UcastSolicit    uint8 // ucast_solicit, default 3
	McastSolicit    uint8 // mcast_solicit, default 3
	AppSolicit      uint8 // app_solicit, default 0
	McastReprobes   uint8 // mcast_resolicit (4.4 on), default 0
}
