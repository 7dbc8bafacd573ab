// Package netns creates and deletes named network namespaces (the
// equivalent of `ip netns add` / `ip netns del`), builds veth topologies
// in them through rtnetlink, and runs functions or commands inside them.
//
// Nothing here touches the caller's own namespace's routes or
// neighbours: every change is made through a netlink socket opened inside
// the target namespace.
package netns

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// RunDir is where named namespaces are bind-mounted, as with iproute2.
const RunDir = "/run/netns"

// NS is an open handle on a network namespace. The handle keeps the
// namespace alive while it is open, even after Delete removed its name.
type NS struct {
	// Name is the namespace's name under RunDir, empty for a namespace
	// opened by path or descriptor.
	Name string
	// Path is the file the namespace was opened from.
	Path string
	f    *os.File
}

// FD returns the namespace's file descriptor, valid until Close.
func (n *NS) FD() int { return int(n.f.Fd()) }

// Close releases the handle (the namespace stays if it has a name).
func (n *NS) Close() error {
	if n.f == nil {
		return nil
	}
	err := n.f.Close()
	n.f = nil
	if err != nil {
		return fmt.Errorf("netns %s: close: %w", n.Path, err)
	}
	return nil
}

// Open opens an existing namespace by name (looked up in RunDir) or by
// path (anything containing a '/', e.g. /proc/PID/ns/net).
func Open(nameOrPath string) (*NS, error) {
	path, name := nameOrPath, ""
	if !strings.Contains(nameOrPath, "/") {
		path, name = filepath.Join(RunDir, nameOrPath), nameOrPath
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("netns %q: open: %w", nameOrPath, err)
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, fmt.Errorf("netns %q: statfs: %w", nameOrPath, err)
	}
	if st.Type != unix.NSFS_MAGIC {
		f.Close()
		return nil, fmt.Errorf("netns %q: %s is not a namespace file", nameOrPath, path)
	}
	return &NS{Name: name, Path: path, f: f}, nil
}

// validName reports whether name can be a file name under RunDir.
func validName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00") && len(name) < 250
}

// Create makes a new named network namespace, like `ip netns add NAME`,
// and returns an open handle on it. Its loopback is brought up.
func Create(name string) (*NS, error) {
	if !validName(name) {
		return nil, fmt.Errorf("netns %q: invalid name", name)
	}
	if err := prepareRunDir(); err != nil {
		return nil, err
	}
	path := filepath.Join(RunDir, name)
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return nil, fmt.Errorf("netns %q: create mount point: %w", name, err)
	}
	f.Close()

	// unshare(CLONE_NEWNET) changes the calling thread only. Do it on a
	// thread of our own, which exits with its goroutine if anything
	// goes wrong, so no other goroutine ever runs in the new namespace.
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- fmt.Errorf("netns %q: open own namespace: %w", name, err)
			return // thread is still ours and unchanged, but let it die
		}
		defer orig.Close()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("netns %q: unshare: %w", name, err)
			return
		}
		mErr := unix.Mount("/proc/thread-self/ns/net", path, "none", unix.MS_BIND, "")
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			// Leave the thread locked: it dies with this goroutine.
			errc <- errors.Join(mErr, fmt.Errorf("netns %q: return to own namespace: %w", name, err))
			return
		}
		runtime.UnlockOSThread()
		if mErr != nil {
			mErr = fmt.Errorf("netns %q: bind mount: %w", name, mErr)
		}
		errc <- mErr
	}()
	if err := <-errc; err != nil {
		os.Remove(path)
		return nil, err
	}
	ns, err := Open(name)
	if err != nil {
		_ = Delete(name)
		return nil, err
	}
	if err := ns.LinkUp("lo"); err != nil {
		ns.Close()
		_ = Delete(name)
		return nil, err
	}
	return ns, nil
}

// prepareRunDir makes RunDir a shared mount point, as iproute2 does, so
// that namespace mounts propagate to other mount namespaces.
func prepareRunDir() error {
	if err := os.MkdirAll(RunDir, 0o755); err != nil {
		return fmt.Errorf("netns: create %s: %w", RunDir, err)
	}
	err := unix.Mount("", RunDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("netns: make %s shared: %w", RunDir, err)
	}
	// Not a mount point yet: bind it on itself first.
	if err := unix.Mount(RunDir, RunDir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("netns: bind %s: %w", RunDir, err)
	}
	if err := unix.Mount("", RunDir, "none", unix.MS_SHARED|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("netns: make %s shared: %w", RunDir, err)
	}
	return nil
}

// Delete removes the name of a namespace, like `ip netns del NAME`. The
// namespace itself goes away once no process or handle uses it.
func Delete(name string) error {
	if !validName(name) {
		return fmt.Errorf("netns %q: invalid name", name)
	}
	path := filepath.Join(RunDir, name)
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("netns %q: unmount: %w", name, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("netns %q: remove: %w", name, err)
	}
	return nil
}

// List returns the names of the namespaces under RunDir.
func List() ([]string, error) {
	ents, err := os.ReadDir(RunDir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("netns: list %s: %w", RunDir, err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names, nil
}

// Do runs fn on a locked OS thread that has entered the namespace. The
// thread goes back to its own namespace afterwards, or is discarded if
// it cannot.
func (n *NS) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- fmt.Errorf("netns %s: open own namespace: %w", n.Path, err)
			return
		}
		defer orig.Close()
		if err := unix.Setns(n.FD(), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("netns %s: setns: %w", n.Path, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("netns %s: return to own namespace: %w", n.Path, err))
			return // thread stays locked and dies
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// Command returns a command that runs inside the namespace. Named
// namespaces use `ip netns exec`, which also mounts a matching /sys and
// /etc/netns/NAME files; unnamed ones use nsenter.
func (n *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	if n.Name != "" {
		return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
	}
	return exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + n.Path, "--", name}, args...)...)
}

// Run runs a command inside the namespace and returns its combined
// output, with an error naming the command when it fails.
func (n *NS) Run(ctx context.Context, name string, args ...string) (string, error) {
	out, err := n.Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("netns %s: %s %s: %w: %s", n.Path, name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}
