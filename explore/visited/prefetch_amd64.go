package visited

// prefetch asks the CPU to bring the cache line at p in (PREFETCHT0),
// without waiting for it and without faulting.
//
//go:noescape
func prefetch(p *uint64)
