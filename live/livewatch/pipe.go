package livewatch

import (
	"io"
	"log/slog"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// outPipeSize is the capacity the watch asks of a pipe it writes to.
const outPipeSize = 1 << 20

// pipeOut returns what the watch writes its output to, and what closes
// it: out itself, unless out is a pipe. A pipe is opened again through
// /proc/self/fd, which gives the watch a file description of its own,
// non-blocking, so that a write the reader is not ready for waits in
// the Go poller instead of blocking a thread (a thread blocked in
// write(2) makes the scheduler hand its P to another and take it back,
// and keeps sysmon polling every 20 us: 7 to 9 % of the watch's CPU on
// bench/watch-vs-ip-monitor.sh's storm, whose reader is slower than
// the watch). The flag is the watch's own: the description its parent
// shares with other processes is left as it was. The pipe is also
// widened to outPipeSize (F_SETPIPE_SZ, within fs.pipe-max-size, 1 MiB
// by default even unprivileged), so that a burst does not wait at all.
// Any failure leaves out as it was.
func pipeOut(out io.Writer, log *slog.Logger) (io.Writer, func()) {
	nop := func() {}
	f, ok := out.(interface{ Fd() uintptr })
	if !ok {
		return out, nop
	}
	fd := int(f.Fd())
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return out, nop
	}
	if n, err := unix.FcntlInt(uintptr(fd), unix.F_GETPIPE_SZ, 0); err == nil && n < outPipeSize {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETPIPE_SZ, outPipeSize); err != nil {
			log.Debug("output pipe left at its size", "err", err)
		}
	}
	nfd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		log.Debug("output pipe not opened again, writes may block", "err", err)
		return out, nop
	}
	var nst unix.Stat_t
	if unix.Fstat(nfd, &nst) != nil || nst.Dev != st.Dev || nst.Ino != st.Ino {
		unix.Close(nfd)
		return out, nop
	}
	// A non-blocking descriptor makes a pollable File.
	nf := os.NewFile(uintptr(nfd), "output pipe")
	return nf, func() { nf.Close() }
}
