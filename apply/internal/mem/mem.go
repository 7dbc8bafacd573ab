// Package mem holds what the route writer (package apply) does to spread
// the work of a large apply over the CPUs and to take its page faults
// where a CPU is idle: chunks run concurrently, and pages mapped ahead
// of the code that fills them.
package mem

import (
	"runtime"
	"sync"
	"unsafe"
)

// pageSize is the smallest page the kernel maps on a first touch.
const pageSize = 4096

// Touch writes the zero value to an element of every page that s[lo:hi]
// spans, so that the kernel maps them now: new memory's first write is a
// fault that maps and clears a page (do_anonymous_page(), mm/memory.c),
// and under a VM the host's fault behind it, about a millisecond a
// megabyte on the 2-core VM the apply benchmarks run on. Touch does not
// change s: every element it writes holds the zero value already (s is
// newly made).
func Touch[T any](s []T, lo, hi int) {
	var zero T
	step := max(1, pageSize/int(unsafe.Sizeof(zero)))
	for i := lo; i < hi; i += step {
		s[i] = zero
	}
	if hi > lo {
		s[hi-1] = zero
	}
}

// Chunks calls fn on [0, n) cut into chunks, one a CPU (at most 8), each
// of at least least elements, concurrently; fn must write only what
// belongs to its indices. One call when n is below 2*least.
func Chunks(n, least int, fn func(lo, hi int)) {
	k := min(runtime.GOMAXPROCS(0), n/max(least, 1), 8)
	if k < 2 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for c := 0; c < k; c++ {
		lo, hi := n*c/k, n*(c+1)/k
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}
