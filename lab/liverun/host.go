package liverun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"raceroute/live/host"
	"raceroute/profile"
)

// Host is what the lab knows of the machine it runs on before it
// creates anything: the running kernel, its profile, the programs the
// scenarios' peers need, and which neighbour sysctls the kernel has.
type Host struct {
	// Release is the running kernel's release (uname -r).
	Release string
	// Profile is the profile chosen for it, with its notes.
	Profile profile.Profile
	// Arping is the path of iputils arping, the one the Neutron agent
	// runs ("" when it is not installed); ArpingProblem says why not.
	Arping        string
	ArpingProblem string
	// Keepalived is the path of keepalived, the real peer of the
	// keepalived preset ("" when it is not installed; KeepalivedProblem
	// says why not).
	Keepalived        string
	KeepalivedProblem string
	// HasSysctl reports whether the kernel has a file under
	// /proc/sys/net (a path relative to it, e.g.
	// "ipv4/neigh/default/locktime"); nil means every one.
	HasSysctl func(path string) bool
}

// DetectHost reads the running kernel's release and profile, finds
// iputils arping, and looks up sysctls in the caller's /proc/sys/net
// (reading only: every namespace the lab creates has the same files).
func DetectHost(ctx context.Context) (Host, error) {
	r, err := host.Release()
	if err != nil {
		return Host{}, err
	}
	p, err := host.Profile()
	if err != nil {
		return Host{}, fmt.Errorf("the running kernel %s: %w", r.Raw, err)
	}
	h := Host{Release: r.Raw, Profile: p, HasSysctl: func(path string) bool {
		_, err := os.Stat("/proc/sys/net/" + path)
		return err == nil
	}}
	h.Arping, h.ArpingProblem = findArping(ctx)
	h.Keepalived, h.KeepalivedProblem = findKeepalived()
	return h, nil
}

// findArping returns the path of iputils arping. Thomas Habets' arping
// is another program under the same name whose -A sends requests, not
// the gratuitous replies of iputils' -A that the Neutron agent sent.
func findArping(ctx context.Context) (path, problem string) {
	p, err := exec.LookPath("arping")
	if err != nil {
		return "", "arping is not installed (install iputils-arping)"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, p, "-V").CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return "", fmt.Sprintf("%s -V: %v", p, err)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if !strings.Contains(string(out), "iputils") {
		return "", fmt.Sprintf("%s is %q, not iputils arping (the one the Neutron agent runs; install iputils-arping)", p, first)
	}
	return p, ""
}

// findKeepalived returns the path of keepalived.
func findKeepalived() (path, problem string) {
	if p, err := exec.LookPath("keepalived"); err == nil {
		return p, ""
	}
	const deb = "/usr/sbin/keepalived" // root's PATH may lack /usr/sbin
	if fi, err := os.Stat(deb); err == nil && fi.Mode().IsRegular() {
		return deb, ""
	}
	return "", "keepalived is not installed (install keepalived; raceroute install-deps does)"
}
