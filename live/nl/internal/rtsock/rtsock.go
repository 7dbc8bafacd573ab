// Package rtsock opens the rtnetlink sockets of live/nl's dumps, writes
// and subscriptions, in the network namespace they are asked for.
package rtsock

import (
	"fmt"
	"os"
	"strings"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Namespace resolves a namespace selection to a descriptor: netns is a
// name under /run/netns or a path (anything with a '/'); when it is
// empty, netnsFD is used if positive, else fd is 0, the caller's
// namespace. name says which namespace it is, for errors; release must
// be called once the sockets are open or no longer needed.
func Namespace(netns string, netnsFD int) (fd int, name string, release func(), err error) {
	if netns == "" {
		if netnsFD > 0 {
			return netnsFD, fmt.Sprintf("fd %d", netnsFD), func() {}, nil
		}
		return 0, "", func() {}, nil
	}
	path := netns
	if !strings.Contains(path, "/") {
		path = "/run/netns/" + path
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, "", nil, fmt.Errorf("netns %q: %w", netns, err)
	}
	return int(f.Fd()), netns, func() { f.Close() }, nil
}

// Dial opens an rtnetlink socket in namespace fd (0: the caller's).
func Dial(fd int) (*netlink.Conn, error) {
	c, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{
		NetNS:             fd,
		Strict:            true,
		MessageBufferSize: 1 << 16,
	})
	if err != nil {
		return nil, fmt.Errorf("rtnetlink dial: %w", err)
	}
	return c, nil
}

// SetRcvBuf sets the socket's receive buffer, forced when permitted,
// and returns the size the kernel reports (twice the request, for its
// bookkeeping) and whether the force worked.
func SetRcvBuf(c *netlink.Conn, size int) (got int, forced bool, err error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, false, fmt.Errorf("receive buffer: %w", err)
	}
	var serr error
	cerr := rc.Control(func(fd uintptr) {
		if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size); e == nil {
			forced = true
			return
		}
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, size)
	})
	if cerr != nil {
		return 0, false, fmt.Errorf("receive buffer: %w", cerr)
	}
	if serr != nil {
		return 0, false, fmt.Errorf("receive buffer: SO_RCVBUF %d: %w", size, serr)
	}
	got, err = c.ReadBuffer()
	if err != nil {
		return 0, forced, fmt.Errorf("receive buffer: read back: %w", err)
	}
	return got, forced, nil
}
