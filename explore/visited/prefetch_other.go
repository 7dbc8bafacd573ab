//go:build !amd64

package visited

// prefetch does nothing where there is no prefetch instruction wired up.
func prefetch(*uint64) {}
