//go:build wasip1

package cairn

import "unsafe"

//go:wasmimport cairn input_size
func inputSize() uint32

//go:wasmimport cairn input_read
func inputRead(ptr unsafe.Pointer, n uint32) uint32

//go:wasmimport cairn call
func hostCall(ptr unsafe.Pointer, n uint32) uint32

//go:wasmimport cairn pcall
func hostPcall(ptr unsafe.Pointer, n uint32) uint32

//go:wasmimport cairn reply_read
func replyRead(ptr unsafe.Pointer, n uint32) uint32

//go:wasmimport cairn result
func result(ptr unsafe.Pointer, n uint32)

//go:wasmimport wasi_snapshot_preview1 clock_time_get
func clockTimeGet(id uint32, precision uint64, out unsafe.Pointer) uint32

// Input returns the call's keys and arguments.
func Input() (keys, args [][]byte) {
	b := make([]byte, inputSize())
	if len(b) > 0 {
		inputRead(unsafe.Pointer(&b[0]), uint32(len(b)))
	}
	return decodeInput(b)
}

// readReply copies the last reply out of the host.
func readReply(n uint32) []byte {
	b := make([]byte, n)
	if n > 0 {
		replyRead(unsafe.Pointer(&b[0]), n)
	}
	return b
}

// Call runs a command and returns its RESP reply; a command error ends the
// function with that error as its reply (Redis's redis.call).
func Call(args ...[]byte) []byte {
	cmd := encodeCommand(args)
	return readReply(hostCall(unsafe.Pointer(&cmd[0]), uint32(len(cmd))))
}

// PCall runs a command and returns its RESP reply, or the command's error
// (Redis's redis.pcall).
func PCall(args ...[]byte) ([]byte, error) {
	cmd := encodeCommand(args)
	r := readReply(hostPcall(unsafe.Pointer(&cmd[0]), uint32(len(cmd))))
	if len(r) > 0 && r[0] == '-' {
		return nil, Error(r[1 : len(r)-2])
	}
	return r, nil
}

// Reply sets the function's reply, one RESP value (see Int, Bulk,
// ErrorReply).
func Reply(resp []byte) {
	if len(resp) == 0 {
		return
	}
	result(unsafe.Pointer(&resp[0]), uint32(len(resp)))
}

// Now returns the log entry's time in Unix nanoseconds: the same on every
// replica, constant during a call.
func Now() int64 {
	var t uint64
	clockTimeGet(0, 1, unsafe.Pointer(&t))
	return int64(t)
}

// settle runs once after initialization (the host calls it, when the
// module exports it, after _initialize and before it takes the snapshot
// every call starts from; see ABI.md): it leaves the Go allocator a span
// with free room for every small size class. Otherwise every call — which
// starts from the snapshot again — takes fresh spans from the heap for the
// first objects of each size it allocates, most of a short call's cost.
// The objects are garbage at once.
//
//go:wasmexport cairn.settle
func settle() {
	for size := 8; size <= 2048; size += 8 {
		settleSink = make([]byte, size)
		settlePtrSink = make([]*byte, size/8)
	}
	settleSink, settlePtrSink = nil, nil
}

var (
	settleSink    []byte
	settlePtrSink []*byte
)
