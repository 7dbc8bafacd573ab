package netns

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// RunPrefix starts the name of every namespace a Run creates:
// rr-<pid>-<run>-<tag>, so that what a dead run left can be told by its
// name.
const RunPrefix = "rr-"

// RegistryDir holds one file per live Run, named <pid>-<run>: the
// process's start time (to tell a reused pid) and the namespaces the run
// created, each written before it is created. It is on /run, a tmpfs, as
// RunDir is: a reboot clears both together.
const RegistryDir = "/run/raceroute/netns"

// runName matches the namespaces a Run names, capturing the pid.
var runName = regexp.MustCompile(`^` + RunPrefix + `([0-9]+)-`)

// Run is the namespaces one process creates for a lab run, named
// rr-<pid>-<run>-<tag>, where run is random: a process may have several
// runs at once. Each is entered in the registry
// (RegistryDir/<pid>-<run>) before it is created, so that Cleanup, run
// by a later process, can remove what a run killed at any point left
// behind. Close deletes them all; call it on every exit path (defer it).
type Run struct {
	pid   int
	id    string
	start string
	file  string

	mu      sync.Mutex
	created []string // in creation order
	handles []*NS
	closed  bool
}

// NewRun starts a run of the calling process and writes its registry
// entry.
func NewRun() (*Run, error) {
	pid := os.Getpid()
	start, err := ProcessStart(pid)
	if err != nil {
		return nil, fmt.Errorf("netns run: %w", err)
	}
	if err := os.MkdirAll(RegistryDir, 0o755); err != nil {
		return nil, fmt.Errorf("netns run: %w", err)
	}
	var b [2]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("netns run: %w", err)
	}
	id := hex.EncodeToString(b[:])
	r := &Run{pid: pid, id: id, start: start, file: filepath.Join(RegistryDir, fmt.Sprintf("%d-%s", pid, id))}
	if err := r.writeRegistry(); err != nil {
		return nil, err
	}
	return r, nil
}

// Name is the namespace name of tag in this run: rr-<pid>-<run>-<tag>.
func (r *Run) Name(tag string) string { return fmt.Sprintf("%s%d-%s-%s", RunPrefix, r.pid, r.id, tag) }

// writeRegistry rewrites the registry file: the start time, then one
// namespace name a line. Called with r.mu held (or before r is shared).
func (r *Run) writeRegistry() error {
	var b strings.Builder
	b.WriteString("start " + r.start + "\n")
	for _, n := range r.created {
		b.WriteString(n + "\n")
	}
	tmp := r.file + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("netns run: write registry: %w", err)
	}
	if err := os.Rename(tmp, r.file); err != nil {
		return fmt.Errorf("netns run: write registry: %w", err)
	}
	return nil
}

// Create creates namespace rr-<pid>-<tag>, entered in the registry
// first. The handle is closed by Close.
func (r *Run) Create(tag string) (*NS, error) {
	name := r.Name(tag)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, fmt.Errorf("netns run: create %s after Close", name)
	}
	if !slices.Contains(r.created, name) {
		r.created = append(r.created, name)
		if err := r.writeRegistry(); err != nil {
			return nil, err
		}
	}
	ns, err := Create(name)
	if err != nil {
		return nil, err
	}
	r.handles = append(r.handles, ns)
	return ns, nil
}

// Names lists the namespaces the run created (or was creating), in
// creation order.
func (r *Run) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.created)
}

// Close deletes every namespace of the run, newest first, and its
// registry entry once all are gone. It is safe to call more than once.
func (r *Run) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	var errs []error
	for _, h := range r.handles {
		if err := h.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	for i := len(r.created) - 1; i >= 0; i-- {
		if err := Delete(r.created[i]); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		if err := os.Remove(r.file); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("netns run: remove registry: %w", err))
		}
	}
	return errors.Join(errs...)
}

// ProcessStart reads field 22 of /proc/PID/stat: the process's start
// time in clock ticks since boot, which tells a reused pid from the
// original. Files and directories a run leaves outside the registry
// (keepalived's, package lab/segment/keepalived) carry it in their names.
func ProcessStart(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return "", fmt.Errorf("/proc/%d/stat: %d fields after the name", pid, len(f))
	}
	return f[19], nil
}

// ProcessAlive reports whether pid is a running process with start time
// start ("" when unknown: any process with the pid counts).
func ProcessAlive(pid int, start string) bool {
	if err := unix.Kill(pid, 0); err != nil && !errors.Is(err, unix.EPERM) {
		return false
	}
	if start == "" {
		return true
	}
	now, err := ProcessStart(pid)
	return err == nil && now == start
}

// readRegistry reads one registry file: the start time and the names.
func readRegistry(file string) (start string, names []string, err error) {
	f, err := os.Open(file)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if s, ok := strings.CutPrefix(line, "start "); ok {
			start = s
		} else if line != "" {
			names = append(names, line)
		}
	}
	return start, names, sc.Err()
}

// Cleanup removes what dead runs left: every namespace named
// rr-<pid>-* whose process is gone (or whose pid now belongs to another
// process, by the registry's start time), every namespace a dead run's
// registry lists, and those registry entries. Runs still alive are not
// touched. It returns the namespaces it removed.
func Cleanup() ([]string, error) {
	var removed []string
	var errs []error
	starts := map[int]string{}
	dead := map[int]bool{}
	ents, err := os.ReadDir(RegistryDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("netns cleanup: %w", err)
	}
	for _, e := range ents {
		p, _, _ := strings.Cut(e.Name(), "-")
		pid, err := strconv.Atoi(p)
		if err != nil || strings.HasSuffix(e.Name(), ".tmp") {
			continue // a .tmp being written, or not ours
		}
		file := filepath.Join(RegistryDir, e.Name())
		start, names, err := readRegistry(file)
		if err != nil {
			errs = append(errs, fmt.Errorf("netns cleanup: %w", err))
			continue
		}
		starts[pid] = start
		if ProcessAlive(pid, start) {
			continue
		}
		dead[pid] = true
		ok := true
		for _, n := range names {
			existed, err := deleteIfExists(pid, n)
			if err != nil {
				errs = append(errs, err)
				ok = false
				continue
			}
			if existed {
				removed = append(removed, n)
			}
		}
		if ok {
			os.Remove(file + ".tmp")
			if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("netns cleanup: %w", err))
			}
		}
	}
	all, err := List()
	if err != nil {
		return removed, errors.Join(append(errs, err)...)
	}
	for _, n := range all {
		m := runName.FindStringSubmatch(n)
		if m == nil || slices.Contains(removed, n) {
			continue
		}
		pid, err := strconv.Atoi(m[1])
		if err != nil {
			continue
		}
		if !dead[pid] && ProcessAlive(pid, starts[pid]) {
			continue
		}
		if err := Delete(n); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, n)
	}
	return removed, errors.Join(errs...)
}

// deleteIfExists deletes a namespace of a dead run's registry and says
// whether it existed: one already gone is no error. Only names of the
// run's own pid are taken: a registry entry cannot make Cleanup remove
// a namespace the run did not name.
func deleteIfExists(pid int, name string) (bool, error) {
	if !validName(name) || !strings.HasPrefix(name, fmt.Sprintf("%s%d-", RunPrefix, pid)) {
		return false, fmt.Errorf("netns cleanup: registry %d names %q, not a namespace of that run", pid, name)
	}
	if _, err := os.Stat(filepath.Join(RunDir, name)); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return true, Delete(name)
}
