// Command fakecomponent stands in for a control-plane program the tests do
// not run (kube-scheduler, kube-controller-manager): copied under that
// program's name and started with its flags, it sleeps until signalled, so
// /proc and ps show the command line a node checker reads.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	<-c
}
