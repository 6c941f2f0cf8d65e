//go:build wasip1

// Command ratelimit is the ratelimit example module: a token bucket kept in
// a hash at the key, refilled from the log entry's time.
//
//	FCALL ratelimit 1 <key> <capacity> <refill-per-second>
//
// replies 1 when a token was taken and 0 when the bucket was empty. The
// hash holds "tokens" in thousandths of a token and "ts", the time of the
// last refill in Unix milliseconds.
package main

import (
	"strconv"

	"github.com/cairndb/cairn/modules/sdk/go/cairn"
)

//go:wasmexport fcall:ratelimit
func ratelimit() {
	keys, args := cairn.Input()
	if len(keys) != 1 || len(args) != 2 {
		cairn.Reply(cairn.ErrorReply("ERR usage: FCALL ratelimit 1 <key> <capacity> <refill-per-second>"))
		return
	}
	capacity, err1 := strconv.ParseInt(string(args[0]), 10, 64)
	rate, err2 := strconv.ParseInt(string(args[1]), 10, 64)
	if err1 != nil || err2 != nil || capacity <= 0 || rate < 0 {
		cairn.Reply(cairn.ErrorReply("ERR capacity and refill-per-second must be non-negative integers"))
		return
	}
	key := keys[0]
	now := cairn.Now() / 1e6
	fields, err := cairn.ParseArray(cairn.Call([]byte("HMGET"), key, []byte("tokens"), []byte("ts")))
	if err != nil || len(fields) != 2 {
		cairn.Reply(cairn.ErrorReply("ERR unexpected HMGET reply"))
		return
	}
	tokens := capacity * 1000
	if fields[0] != nil && fields[1] != nil {
		t, _ := strconv.ParseInt(string(fields[0]), 10, 64)
		ts, _ := strconv.ParseInt(string(fields[1]), 10, 64)
		if elapsed := now - ts; elapsed > 0 {
			t += elapsed * rate // rate tokens/s = rate thousandths per ms
		}
		tokens = min(t, capacity*1000)
	}
	taken := int64(0)
	if tokens >= 1000 {
		tokens -= 1000
		taken = 1
	}
	cairn.Call([]byte("HSET"), key, []byte("tokens"), []byte(strconv.FormatInt(tokens, 10)),
		[]byte("ts"), []byte(strconv.FormatInt(now, 10)))
	cairn.Reply(cairn.Int(taken))
}

func main() {}
