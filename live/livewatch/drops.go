package livewatch

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"raceroute/live/netns"
	"raceroute/watch/nldrops"
)

// DefaultDropsPoll is how often /proc/net/netlink is read for other
// processes' dropping sockets.
const DefaultDropsPoll = time.Second

// netlinkSockets reads /proc/net/netlink as the watched namespace sees
// it: the file lists the sockets of the reader's namespace, so for
// another one it is read from a thread inside it.
func netlinkSockets(ns *netns.NS) ([]nldrops.Socket, error) {
	var b []byte
	read := func() error {
		var err error
		b, err = os.ReadFile("/proc/thread-self/net/netlink")
		return err
	}
	var err error
	if ns == nil {
		err = read()
	} else {
		err = ns.Do(read)
	}
	if err != nil {
		return nil, fmt.Errorf("read netlink sockets: %w", err)
	}
	return nldrops.Parse(bytes.NewReader(b))
}

// socketInodes returns the inodes of the sockets the process of dir
// (/proc/PID) holds open.
func socketInodes(dir string, each func(ino uint64)) {
	fds, err := os.ReadDir(filepath.Join(dir, "fd"))
	if err != nil {
		return // gone, or not ours to read
	}
	for _, fd := range fds {
		l, err := os.Readlink(filepath.Join(dir, "fd", fd.Name()))
		if err != nil || !strings.HasPrefix(l, "socket:[") {
			continue
		}
		if ino, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]"), 10, 64); err == nil {
			each(ino)
		}
	}
}

// socketOwners finds the processes holding the sockets of inodes
// wanted, from /proc/*/fd (a process in any namespace holds its sockets
// there).
func socketOwners(wanted []nldrops.Socket) map[uint64]nldrops.Owner {
	want := map[uint64]bool{}
	for _, s := range wanted {
		want[s.Inode] = true
	}
	out := map[uint64]nldrops.Owner{}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		dir := filepath.Join("/proc", p.Name())
		socketInodes(dir, func(ino uint64) {
			if !want[ino] {
				return
			}
			if _, ok := out[ino]; ok {
				return // the first holder names it (a fork shares it)
			}
			comm, _ := os.ReadFile(filepath.Join(dir, "comm"))
			out[ino] = nldrops.Owner{PID: pid, Comm: strings.TrimSpace(string(comm))}
		})
	}
	return out
}

// pollDrops reads the namespace's netlink sockets every interval and
// hands the findings of the drops detector to w, until ctx is done.
// The watch's own sockets are left out: it reports its own overflows.
func (w *watcher) pollDrops(ctx context.Context, ns *netns.NS, interval time.Duration) {
	d := nldrops.New()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		socks, err := netlinkSockets(ns)
		if err != nil {
			w.log.Warn("netlink drops poll", "err", err)
		} else {
			now := time.Now().Round(0)
			var owners map[uint64]nldrops.Owner
			if rising := d.Rising(now, socks); len(rising) > 0 {
				owners = socketOwners(rising)
			}
			own := map[uint64]bool{}
			socketInodes("/proc/self", func(ino uint64) { own[ino] = true })
			if fs := d.Observe(now, socks, owners, own); len(fs) > 0 {
				w.mu.Lock()
				if w.err == nil {
					w.err = w.findings(ctx, fs)
				}
				w.mu.Unlock()
				w.flush()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
