package rtnl

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"raceroute/live/netns"
)

// Dial opens an rtnetlink socket in the namespace netnsName (a name
// under /run/netns or a path; "" for the caller's), with
// acknowledgements that carry no copy of the request (NETLINK_CAP_ACK),
// the kernel's extended-ACK text (NETLINK_EXT_ACK), and buffers large
// enough for a batch's requests and acknowledgements.
func Dial(netnsName string) (*Conn, error) {
	var fd int
	open := func() error {
		var err error
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
		if err != nil {
			return fmt.Errorf("rtnetlink socket: %w", err)
		}
		return nil
	}
	if netnsName == "" {
		if err := open(); err != nil {
			return nil, err
		}
	} else {
		ns, err := netns.Open(netnsName)
		if err != nil {
			return nil, err
		}
		err = ns.Do(open)
		ns.Close()
		if err != nil {
			return nil, err
		}
	}
	s := &sysSocket{fd: fd}
	fail := func(err error) (*Conn, error) {
		unix.Close(fd)
		return nil, err
	}
	for _, o := range []struct {
		name string
		opt  int
	}{{"NETLINK_CAP_ACK", unix.NETLINK_CAP_ACK}, {"NETLINK_EXT_ACK", unix.NETLINK_EXT_ACK}} {
		if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, o.opt, 1); err != nil {
			return fail(fmt.Errorf("rtnetlink socket: %s: %w", o.name, err))
		}
	}
	rcv, err := setBuf(fd, unix.SO_RCVBUFFORCE, unix.SO_RCVBUF, 16<<20)
	if err != nil {
		return fail(err)
	}
	snd, err := setBuf(fd, unix.SO_SNDBUFFORCE, unix.SO_SNDBUF, 4<<20)
	if err != nil {
		return fail(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fail(fmt.Errorf("rtnetlink socket: bind: %w", err))
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return fail(fmt.Errorf("rtnetlink socket: getsockname: %w", err))
	}
	nsa, ok := sa.(*unix.SockaddrNetlink)
	if !ok {
		return fail(fmt.Errorf("rtnetlink socket: getsockname gave %T", sa))
	}
	// The kernel reports twice the size asked for (half is its own
	// bookkeeping): count on half.
	return newConn(s, nsa.Pid, rcv/2, snd/2), nil
}

// setBuf sets a socket buffer, forced when permitted (CAP_NET_ADMIN),
// and returns the size the kernel reports.
func setBuf(fd, force, plain, size int) (int, error) {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, force, size); err != nil {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, plain, size); err != nil {
			return 0, fmt.Errorf("rtnetlink socket: buffer of %d bytes: %w", size, err)
		}
	}
	get := unix.SO_RCVBUF
	if plain == unix.SO_SNDBUF {
		get = unix.SO_SNDBUF
	}
	n, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, get)
	if err != nil {
		return 0, fmt.Errorf("rtnetlink socket: read buffer size: %w", err)
	}
	return n, nil
}

// sysSocket is the kernel's netlink socket: one sendto a batch, and
// recvmmsg for many acknowledgements a system call (each is its own
// datagram).
type sysSocket struct {
	fd   int
	iovs []unix.Iovec
	hdrs []unix.Mmsghdr
}

var kernelAddr = &unix.SockaddrNetlink{Family: unix.AF_NETLINK}

func (s *sysSocket) send(b []byte) error {
	for {
		err := unix.Sendto(s.fd, b, 0, kernelAddr)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

func (s *sysSocket) recv(bufs [][]byte, lens []int, wait time.Duration) (int, error) {
	if len(s.hdrs) < len(bufs) {
		s.iovs = make([]unix.Iovec, len(bufs))
		s.hdrs = make([]unix.Mmsghdr, len(bufs))
	}
	for i, b := range bufs {
		s.iovs[i].Base = &b[0]
		s.iovs[i].SetLen(len(b))
		s.hdrs[i] = unix.Mmsghdr{}
		s.hdrs[i].Hdr.Iov = &s.iovs[i]
		s.hdrs[i].Hdr.SetIovlen(1)
	}
	for tries := 0; ; tries++ {
		r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&s.hdrs[0])), uintptr(len(bufs)), unix.MSG_DONTWAIT, 0, 0)
		switch {
		case e == 0:
			for i := 0; i < int(r); i++ {
				if s.hdrs[i].Hdr.Flags&unix.MSG_TRUNC != 0 {
					return 0, fmt.Errorf("a datagram larger than the %d-byte buffer (MSG_TRUNC)", len(bufs[i]))
				}
				lens[i] = int(s.hdrs[i].Len)
			}
			return int(r), nil
		case e == unix.EINTR:
			continue
		case e == unix.EAGAIN && tries == 0 && wait > 0:
			fds := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}}
			if _, err := unix.Poll(fds, int(wait/time.Millisecond)); err != nil && !errors.Is(err, unix.EINTR) {
				return 0, fmt.Errorf("poll: %w", err)
			}
			continue
		case e == unix.EAGAIN:
			return 0, nil
		default:
			return 0, e
		}
	}
}

func (s *sysSocket) close() error { return unix.Close(s.fd) }
