// Command sleeper is the whole of the tiny container image the Docker
// benchmarks start: it sleeps until stopped, or exits 0 at once when given
// an argument (so it doubles as a HEALTHCHECK command).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 {
		return
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	<-c
}
