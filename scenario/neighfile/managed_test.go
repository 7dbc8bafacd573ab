package neighfile

import (
	"strings"
	"testing"

	"raceroute/profile"
)

// `managed` compiles to a managed command and the host's
// neigh_managed_work() where the profile has NTF_MANAGED, and is refused
// with the reason elsewhere and with what the kernel would ignore.
func TestManagedCommand(t *testing.T) {
	sc := parseLibrary(t, "admin-managed-lladdr-ignored.yaml")
	for _, c := range []struct {
		prof, opts, err string
	}{
		{prof: "linux-6.12", opts: "managed"},
		{prof: "ubuntu-24.04", opts: "managed extern_learn"},
		{prof: "linux-5.15", opts: "managed", err: "has neigh-managed=no"},
		{prof: "linux-6.12", opts: "managed nud reachable", err: "managed takes no `nud` or `use`"},
		{prof: "linux-6.12", opts: "use managed", err: "managed takes no `nud` or `use`"},
		{prof: "linux-6.12", opts: "nud reachable"},
	} {
		t.Run(c.prof+" "+c.opts, func(t *testing.T) {
			p, err := profile.Lookup(c.prof)
			if err != nil {
				t.Fatal(err)
			}
			v := sc.Variants[0]
			v.Vars = map[string]string{"opts": c.opts}
			m, _, err := Build(sc, v, p)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cfg := m.Config()
			managed := strings.Contains(c.opts, "managed")
			if cfg.Admins[0].Cmds[0].Managed != managed || (cfg.Managed != nil) != managed {
				t.Fatalf("managed command %v, managed work %v; want %v", cfg.Admins[0].Cmds[0].Managed, cfg.Managed, managed)
			}
			if managed && (cfg.Managed.Interval != 5000 || cfg.Managed.Host != cfg.Ifaces[cfg.Admins[0].Cmds[0].Iface].Host) {
				t.Errorf("managed work %+v", *cfg.Managed)
			}
		})
	}
}
