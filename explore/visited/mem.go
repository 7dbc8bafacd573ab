package visited

import (
	"fmt"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// regions are the anonymous mappings of one Set's segments, with the
// memory they hold now and at most.
type regions struct {
	mu          sync.Mutex
	m           map[*byte]int // first byte -> length
	bytes, peak int64
	huge        bool
}

// hugePage is the size of a transparent huge page on x86-64 and arm64
// (4 KiB base pages); smaller mappings are not worth the advice.
const hugePage = 2 << 20

// alloc maps n zeroed words. The table lives outside the Go heap: the
// garbage collector need not scan or move it, and its memory goes back to
// the kernel the moment a segment is replaced.
func (r *regions) alloc(n int) []uint64 {
	size := n * 8
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		// Out of address space or memory: as make would.
		panic(fmt.Sprintf("visited: mapping %d bytes for the state table: %v", size, err))
	}
	huge := size >= hugePage && unix.Madvise(b, unix.MADV_HUGEPAGE) == nil
	r.mu.Lock()
	r.m[&b[0]] = size
	r.bytes += int64(size)
	r.peak = max(r.peak, r.bytes)
	r.huge = r.huge || huge
	r.mu.Unlock()
	return unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), n)
}

// free unmaps the words alloc returned.
func (r *regions) free(w []uint64) {
	p := (*byte)(unsafe.Pointer(&w[0]))
	r.mu.Lock()
	size, ok := r.m[p]
	delete(r.m, p)
	if ok {
		r.bytes -= int64(size)
	}
	r.mu.Unlock()
	if ok {
		_ = unix.Munmap(unsafe.Slice(p, size))
	}
}

func (r *regions) freeAll() {
	r.mu.Lock()
	m := r.m
	r.m = map[*byte]int{}
	r.bytes = 0
	r.mu.Unlock()
	for p, size := range m {
		_ = unix.Munmap(unsafe.Slice(p, size))
	}
}
