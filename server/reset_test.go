package server_test

import "testing"

// TestResetDiff: RESET clears every piece of connection state, compared
// with redis-server: client name, RESP version, MULTI and WATCH, pub/sub
// subscriptions, MONITOR, CLIENT REPLY modes, CLIENT NO-EVICT, tracking.
func TestResetDiff(t *testing.T) {
	d := newTrackDiff(t)
	d.open("a", "w")
	d.do("w", "HSET", "h", "f", "v")
	for _, st := range [][]string{
		// Name and protocol.
		{"a", "CLIENT", "SETNAME", "foo"},
		{"a", "RESET"},
		{"a", "CLIENT", "GETNAME"},
		{"a", "HGETALL", "h"},
		// MULTI and WATCH.
		{"a", "MULTI"},
		{"a", "SET", "x", "1"},
		{"a", "RESET"},
		{"a", "EXEC"},
		{"a", "GET", "x"},
		{"a", "WATCH", "x"},
		{"a", "RESET"},
		{"w", "SET", "x", "2"},
		{"a", "MULTI"},
		{"a", "SET", "y", "1"},
		{"a", "EXEC"},
		// Pub/sub, RESP2 and RESP3.
		{"a", "SUBSCRIBE", "ch"},
		{"a", "PSUBSCRIBE", "p*"},
		{"a", "SSUBSCRIBE", "sch"},
		{"a", "GET", "x"},
		{"a", "RESET"},
		{"w", "PUBLISH", "ch", "m"},
		{"w", "PUBLISH", "pa", "m"},
		{"w", "SPUBLISH", "sch", "m"},
		{"a", "GET", "x"},
		// MONITOR.
		{"a", "MONITOR"},
		{"a", "RESET"},
		{"w", "SET", "m", "1"},
		{"a", "GET", "m"},
		// SELECT.
		{"a", "SELECT", "0"},
		{"a", "RESET"},
		{"a", "DBSIZE"},
	} {
		d.send(st[0], st[1:]...)
	}
	// CLIENT REPLY.
	d.sendMany("a", []string{"CLIENT", "REPLY", "OFF"}, []string{"SET", "z", "1"}, []string{"RESET"}, []string{"GET", "z"})
	d.sendMany("a", []string{"CLIENT", "REPLY", "SKIP"}, []string{"RESET"}, []string{"GET", "z"})
	// RESP3 connection state.
	d.quiet("a", "HELLO", "3", "SETNAME", "n3")
	d.send("a", "SUBSCRIBE", "ch")
	d.send("a", "CLIENT", "NO-EVICT", "on")
	d.send("a", "CLIENT", "TRACKING", "on", "optin")
	d.send("a", "CLIENT", "CACHING", "yes")
	d.send("a", "MULTI")
	d.checkClientList("a")
	d.send("a", "RESET")
	d.checkClientList("a")
	d.send("a", "CLIENT", "TRACKINGINFO")
	d.send("a", "HGETALL", "h")
	d.send("w", "PUBLISH", "ch", "m")
	d.checkInfo()
}

// TestResetAuthDiff: RESET goes back to the default user, not
// authenticated when requirepass is set.
func TestResetAuthDiff(t *testing.T) {
	d := newTrackDiffPass(t, "pw")
	d.open("a")
	for _, cmd := range [][]string{
		{"GET", "k"},
		{"AUTH", "pw"},
		{"GET", "k"},
		{"RESET"},
		{"GET", "k"},
		{"HELLO", "3", "AUTH", "default", "wrong"},
		{"AUTH", "default", "pw"},
		{"CLIENT", "SETNAME", "x"},
		{"RESET"},
		{"PING"},
		{"CLIENT", "GETNAME"},
	} {
		// An unauthenticated connection answers a PING with NOAUTH:
		// read the one reply, without draining.
		var got [2][]string
		for i := range d.addrs {
			v, err := d.conns[i]["a"].do(cmd...)
			if err != nil {
				t.Fatal(err)
			}
			got[i] = []string{string(v)}
		}
		d.compare(cmd, got)
	}
}
