// Command seed000 prints the seed-000 scaling family's scenario file
// (package internal/seed000) with NL lookup actors:
//
//	go run ./bench/seed000 -nl 8 > /tmp/seed000-nl8.yaml
//	go run ./cmd/raceroute check /tmp/seed000-nl8.yaml --kernel linux-3.16
package main

import (
	"flag"
	"fmt"
	"os"

	"raceroute/internal/seed000"
)

func main() {
	nl := flag.Int("nl", 8, fmt.Sprintf("lookup actors (0 to %d)", seed000.MaxNL))
	flag.Parse()
	if err := seed000.Write(os.Stdout, *nl); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
