// Command netns holds the network namespace of one region of the docker
// compose topology (deploy/compose/docker-compose.yml): the region's
// Cairn containers join it (network_mode: service:...), so they reach
// one another on 127.0.0.1 exactly as clients on the host do, and the
// region keeps its networks while any of its nodes is killed or
// restarted. It does nothing but wait for SIGTERM or SIGINT (as PID 1 it
// must handle them itself to be stoppable).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}
