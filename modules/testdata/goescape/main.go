// Command goescape is a module that tries to leave the sandbox: it reads a
// file, opens a socket and reads the real clock. The tests expect the load
// to be refused for its filesystem and socket imports.
package main

import (
	"net"
	"os"
	"time"

	"github.com/cairndb/cairn/modules/sdk/go/cairn"
)

//go:wasmexport fcall:escape
func escape() {
	b, _ := os.ReadFile("/etc/passwd")
	c, err := net.Dial("tcp", "127.0.0.1:6379")
	if err == nil {
		c.Close()
	}
	cairn.Reply(cairn.Bulk(append(b, time.Now().String()...)))
}

func main() {}
