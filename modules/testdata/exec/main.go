//go:build wasip1

// Command exec is the server tests' guest: each function runs its
// arguments as one command (call or pcall) and replies with the command's
// reply, under different flags, so the tests can check what a function
// may and may not do.
//
//	FCALL exec <numkeys> [key ...] CMD [arg ...]     writing, call
//	FCALL exec_ro <numkeys> [key ...] CMD [arg ...]  no-writes, call
//	FCALL exec_p <numkeys> [key ...] CMD [arg ...]   writing, pcall
//	FCALL exec_nc <numkeys> ...                       no-cluster
//	FCALL exec_xs <numkeys> ...                       allow-cross-slot-keys
//	FCALL exec_oom <numkeys> ...                      allow-oom
//	FCALL now 0                                       the entry's time (ns)
package main

import (
	"github.com/cairndb/cairn/modules/sdk/go/cairn"
)

func run() {
	_, args := cairn.Input()
	cairn.Reply(cairn.Call(args...))
}

//go:wasmexport fcall:exec
func exec() { run() }

//go:wasmexport fcall:exec_ro:no-writes
func execRO() { run() }

//go:wasmexport fcall:exec_p
func execP() {
	_, args := cairn.Input()
	r, err := cairn.PCall(args...)
	if err != nil {
		cairn.Reply(cairn.ErrorReply(err.Error()))
		return
	}
	cairn.Reply(r)
}

//go:wasmexport fcall:exec_nc:no-cluster
func execNC() { run() }

//go:wasmexport fcall:exec_xs:allow-cross-slot-keys
func execXS() { run() }

//go:wasmexport fcall:exec_oom:allow-oom
func execOOM() { run() }

//go:wasmexport fcall:now:no-writes
func now() { cairn.Reply(cairn.Int(cairn.Now())) }

func main() {}
