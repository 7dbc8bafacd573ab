package nl

// Options select what a dump reads: the namespace and the families. The
// subscription (live/nl/monitor) and the route writer (live/nl/write)
// take them too.
type Options struct {
	// Netns selects the network namespace: a name under /run/netns, or a
	// path (anything with a '/'); empty means the caller's namespace
	// unless NetnsFD is set.
	Netns string
	// NetnsFD is an open namespace descriptor, used when Netns is empty
	// and NetnsFD > 0.
	NetnsFD int
	// Families restricts routes, neighbours and addresses to IPv4 (4)
	// and/or IPv6 (6); empty means both. Links are always read.
	Families []int
	// OnDumpRetry, if set, is told each time a dump is retried because
	// the kernel marked it interrupted (NLM_F_DUMP_INTR).
	OnDumpRetry func(what string)
}

// Wants reports whether the options follow family fam (4 or 6).
func (o *Options) Wants(fam int) bool {
	if len(o.Families) == 0 {
		return true
	}
	for _, f := range o.Families {
		if f == fam {
			return true
		}
	}
	return false
}
