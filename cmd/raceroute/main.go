// Command raceroute reproduces, proves, detects and prevents the kernel
// route and neighbour races that network agents run into.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"raceroute/cmd/raceroute/internal/announcecmd"
	"raceroute/cmd/raceroute/internal/applycmd"
	"raceroute/cmd/raceroute/internal/cli"
	"raceroute/cmd/raceroute/internal/labcmd"
	"raceroute/cmd/raceroute/internal/selftestscmd"

	"github.com/spf13/cobra"
)

func main() { os.Exit(runMain(os.Args[1:])) }

// runMain runs args as the raceroute process does: SIGINT and SIGTERM
// end the command's context, so that what it created is deleted.
func runMain(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, os.Stdout, os.Stderr)
}

// run executes the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "raceroute:", err)
	}
	return cli.ExitCode(err)
}

func newRootCmd() *cobra.Command {
	bare := defaultCheckOptions(true)
	root := &cobra.Command{
		Use:   "raceroute",
		Short: "Reproduce, prove, detect and prevent kernel route and neighbour races",
		Long: `raceroute runs executable, version-exact models of the Linux kernel's
IPv6 routing table and neighbour tables against the orderings and timings
of concurrent actors (routing daemons, packet flows, ARP senders, kernel
timers), proves which update strategies are safe on which kernels, and
watches live hosts for the same failures.

With no arguments it checks the whole embedded scenario library on every
kernel profile and prints a matrix.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				var names []string
				for _, c := range cmd.Commands() {
					if c.IsAvailableCommand() {
						names = append(names, c.Name())
					}
				}
				return cli.BadInput(fmt.Errorf("unknown command %q (commands: %s; see raceroute --help)", args[0], strings.Join(names, ", ")))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCheck(cmd, nil, bare)
		},
	}
	// The bare command's own flags: where and how to write its matrix
	// (raceroute --format html -o matrix.html); the rest is check's.
	root.Flags().StringVar(&bare.format, "format", bare.format, "output `FORMAT` of the matrix: text, json or html (a page whose cells link to their stories)")
	root.Flags().StringVarP(&bare.output, "output", "o", "", "write the matrix to `FILE` instead of standard output")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return cli.BadInput(err) })
	root.SetVersionTemplate("{{.Version}}\n")
	root.AddCommand(
		newCheckCmd(),
		newScenariosCmd(),
		newKernelsCmd(),
		newReplayCmd(),
		newMergeCmd(),
		newReplayTraceCmd(),
		newWatchCmd(),
		selftestscmd.New(),
		applycmd.New(),
		announcecmd.New(func(cmd *cobra.Command, scenarios []string) error {
			return runCheck(cmd, scenarios, defaultCheckOptions(true))
		}),
		labcmd.New(),
	)
	return root
}

// version names the build: the module version, the VCS revision it was
// built from, and the Go toolchain.
func version() string {
	v := "(devel)"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "raceroute " + v
	}
	if bi.Main.Version != "" {
		v = bi.Main.Version
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+modified"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	out := "raceroute " + v
	if rev != "" {
		out += " (" + rev + modified + ")"
	}
	return out + " " + bi.GoVersion
}
