//go:build wasip1

// Command transfer is the multi-key example module: an atomic transfer
// between two hashes, whose keys should share a hash tag in cluster mode.
//
//	FCALL transfer 2 {acct}:alice {acct}:bob balance 30
//
// moves 30 from alice's balance field to bob's and replies with alice's new
// balance, or replies "ERR insufficient funds" and writes nothing.
package main

import (
	"strconv"

	"github.com/cairndb/cairn/modules/sdk/go/cairn"
)

//go:wasmexport fcall:transfer
func transfer() {
	keys, args := cairn.Input()
	if len(keys) != 2 || len(args) != 2 {
		cairn.Reply(cairn.ErrorReply("ERR usage: FCALL transfer 2 <from> <to> <field> <amount>"))
		return
	}
	field := args[0]
	amount, err := strconv.ParseInt(string(args[1]), 10, 64)
	if err != nil || amount <= 0 {
		cairn.Reply(cairn.ErrorReply("ERR amount must be a positive integer"))
		return
	}
	got, err := cairn.ParseArray(cairn.Call([]byte("HMGET"), keys[0], field))
	if err != nil || len(got) != 1 {
		cairn.Reply(cairn.ErrorReply("ERR unexpected HMGET reply"))
		return
	}
	balance := int64(0)
	if got[0] != nil {
		if balance, err = strconv.ParseInt(string(got[0]), 10, 64); err != nil {
			cairn.Reply(cairn.ErrorReply("ERR balance is not an integer"))
			return
		}
	}
	if balance < amount {
		cairn.Reply(cairn.ErrorReply("ERR insufficient funds"))
		return
	}
	cairn.Call([]byte("HINCRBY"), keys[0], field, []byte(strconv.FormatInt(-amount, 10)))
	cairn.Call([]byte("HINCRBY"), keys[1], field, []byte(strconv.FormatInt(amount, 10)))
	cairn.Reply(cairn.Int(balance - amount))
}

func main() {}
