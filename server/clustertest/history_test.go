package clustertest

// Histories and their checkers.
//
// Register workload: SET key <unique value> and GET key on a few keys,
// checked for linearizability with porcupine, one register per key.
//
// Append workload: APPEND key "c<client>-<seq>," with unique tokens, checked
// after the run against the final values: no acknowledged token lost, no
// token applied twice, a client's tokens in the order it issued them, and
// every read a prefix of the final value that is never older than an
// earlier read or an acknowledged append.

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// outcome is what a client knows about an operation it sent.
type outcome int

const (
	// outOK: the server acknowledged the operation.
	outOK outcome = iota
	// outRefused: the server definitely did not apply it (MOVED,
	// CLUSTERDOWN, TRYAGAIN for a slot being moved: the command never
	// reached the log or the state machine refused it).
	outRefused
	// outUnknown: timeout, connection error, ambiguous TRYAGAIN, ... The
	// operation may have been applied, at any time after it was sent.
	outUnknown
)

func (o outcome) String() string {
	switch o {
	case outOK:
		return "ok"
	case outRefused:
		return "refused"
	}
	return "unknown"
}

// regOp is one register operation as a client saw it.
type regOp struct {
	Client int
	Key    string
	Write  bool
	Value  string // written value, or value read ("" = no such key)
	Call   int64  // ns since the recorder started
	Ret    int64
	Out    outcome
	Err    string
	Node   string // the node the client last talked to (sticky clients)
}

// appendOp is one APPEND of a token.
type appendOp struct {
	Client, Seq int
	Key, Token  string
	Call, Ret   int64
	Out         outcome
	Err         string
}

// appendRead is one successful GET of an append key.
type appendRead struct {
	Client    int
	Key       string
	Value     string
	Call, Ret int64
}

// recorder collects a run's history. Times are monotonic nanoseconds
// since start.
type recorder struct {
	start time.Time
	mu    sync.Mutex
	reg   []regOp
	apps  []appendOp
	reads []appendRead
}

func newRecorder() *recorder { return &recorder{start: time.Now()} }

func (r *recorder) now() int64 { return int64(time.Since(r.start)) }

func (r *recorder) addReg(op regOp) {
	r.mu.Lock()
	r.reg = append(r.reg, op)
	r.mu.Unlock()
}

func (r *recorder) addAppend(op appendOp) {
	r.mu.Lock()
	r.apps = append(r.apps, op)
	r.mu.Unlock()
}

func (r *recorder) addAppendRead(rd appendRead) {
	r.mu.Lock()
	r.reads = append(r.reads, rd)
	r.mu.Unlock()
}

// timeline renders, per second of the run, how many operations were
// acknowledged (ok), refused, of unknown outcome (?) and failed reads
// (fail), by the time they were sent: where the cluster was unavailable.
func (r *recorder) timeline() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	type bucket struct{ ok, refused, unknown, failed int }
	var bs []bucket
	add := func(call int64, write bool, o outcome) {
		i := int(call / int64(time.Second))
		for len(bs) <= i {
			bs = append(bs, bucket{})
		}
		switch {
		case o == outOK:
			bs[i].ok++
		case !write:
			bs[i].failed++
		case o == outRefused:
			bs[i].refused++
		default:
			bs[i].unknown++
		}
	}
	for _, op := range r.reg {
		add(op.Call, op.Write, op.Out)
	}
	for _, op := range r.apps {
		add(op.Call, true, op.Out)
	}
	var b strings.Builder
	for i, x := range bs {
		fmt.Fprintf(&b, "\n  %3ds ok %5d  refused %4d  ? %4d  fail %4d", i, x.ok, x.refused, x.unknown, x.failed)
	}
	return b.String()
}

// ---- register model ----

type regInput struct {
	Key   string
	Write bool
	Value string
}

type regOutput struct {
	Value   string // value read; "" = no such key
	Unknown bool   // write of unknown outcome (visualization only)
}

func partitionByKey(h []porcupine.Operation) [][]porcupine.Operation {
	by := map[string][]porcupine.Operation{}
	var keys []string
	for _, op := range h {
		k := op.Input.(regInput).Key
		if _, ok := by[k]; !ok {
			keys = append(keys, k)
		}
		by[k] = append(by[k], op)
	}
	slices.Sort(keys)
	out := make([][]porcupine.Operation, 0, len(keys))
	for _, k := range keys {
		out = append(out, by[k])
	}
	return out
}

func showValue(v string) string {
	if v == "" {
		return "nil"
	}
	return v
}

// registerModel is a map of registers, partitioned by key: each
// partition's state is one key's value ("" while the key does not exist).
var registerModel = porcupine.Model{
	Partition: partitionByKey,
	Init:      func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		st := state.(string)
		in := input.(regInput)
		if in.Write {
			return true, in.Value
		}
		return output.(regOutput).Value == st, st
	},
	DescribeOperation: func(input, output any) string {
		in := input.(regInput)
		if in.Write {
			if output.(regOutput).Unknown {
				return fmt.Sprintf("set(%s, %s) -> ?", in.Key, in.Value)
			}
			return fmt.Sprintf("set(%s, %s)", in.Key, in.Value)
		}
		return fmt.Sprintf("get(%s) -> %s", in.Key, showValue(output.(regOutput).Value))
	},
	DescribeState: func(state any) string { return showValue(state.(string)) },
}

// regHistory is the porcupine history built from a run's register
// operations.
type regHistory struct {
	Ops []porcupine.Operation
	// Raw operations, index-aligned with Ops.
	Raw []regOp
	// Writes of unknown outcome included (their value was read) and
	// dropped (never read: a blind write nobody observed can be left out
	// without changing whether the history is linearizable).
	UnknownKept, UnknownDropped int
	// Refused writes whose value a read returned: the server said it did
	// not apply them.
	RefusedSeen []string
}

// registerHistory turns the recorded register operations into a
// porcupine history. Failed reads are dropped; refused writes are
// dropped; writes of unknown outcome return at the end of time.
func (r *recorder) registerHistory() regHistory {
	r.mu.Lock()
	ops := slices.Clone(r.reg)
	r.mu.Unlock()
	return buildRegHistory(ops)
}

func buildRegHistory(ops []regOp) regHistory {
	var h regHistory
	observed := map[string]bool{}
	var end int64
	refused := map[string]regOp{}
	for _, op := range ops {
		end = max(end, op.Ret, op.Call)
		if !op.Write && op.Out == outOK && op.Value != "" {
			observed[op.Key+"\x00"+op.Value] = true
		}
		if op.Write && op.Out == outRefused {
			refused[op.Key+"\x00"+op.Value] = op
		}
	}
	for k, op := range refused {
		if observed[k] {
			h.RefusedSeen = append(h.RefusedSeen, fmt.Sprintf("client %d set(%s, %s) at %s was refused (%s) but a read returned the value",
				op.Client, op.Key, op.Value, fmtNS(op.Call), op.Err))
		}
	}
	slices.Sort(h.RefusedSeen)
	end++
	for _, op := range ops {
		p := porcupine.Operation{
			ClientId: op.Client,
			Input:    regInput{Key: op.Key, Write: op.Write, Value: ""},
			Call:     op.Call,
			Return:   op.Ret,
			Metadata: op.Err,
		}
		switch {
		case !op.Write:
			if op.Out != outOK {
				continue
			}
			p.Output = regOutput{Value: op.Value}
		case op.Out == outOK:
			p.Input = regInput{Key: op.Key, Write: true, Value: op.Value}
			p.Output = regOutput{}
		case op.Out == outRefused:
			continue
		default:
			if !observed[op.Key+"\x00"+op.Value] {
				h.UnknownDropped++
				continue
			}
			h.UnknownKept++
			p.Input = regInput{Key: op.Key, Write: true, Value: op.Value}
			p.Output = regOutput{Unknown: true}
			p.Return = end
		}
		h.Ops = append(h.Ops, p)
		h.Raw = append(h.Raw, op)
	}
	return h
}

// checkLinearizable runs porcupine over h. It returns "" when the history
// is linearizable, else a description of the problem (with the paths of
// a visualization and a text dump of the offending keys' histories).
//
// The files go to dir, or to a new directory under os.TempDir (kept after
// the test) when dir is "".
func checkLinearizable(h regHistory, timeout time.Duration, dir string) (porcupine.CheckResult, string) {
	if len(h.RefusedSeen) > 0 {
		return porcupine.Illegal, "refused writes were applied:\n  " + strings.Join(h.RefusedSeen, "\n  ")
	}
	res, info := porcupine.CheckOperationsVerbose(registerModel, h.Ops, timeout)
	if res == porcupine.Ok {
		return res, ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "porcupine: %s over %d operations", res, len(h.Ops))
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "cairn-linearizability-"); err != nil {
			fmt.Fprintf(&b, "; (no temp dir for the visualization: %v)", err)
			return res, b.String()
		}
	}
	html := filepath.Join(dir, "history.html")
	if err := porcupine.VisualizePath(registerModel, info, html); err != nil {
		fmt.Fprintf(&b, "; visualization failed: %v", err)
	} else {
		fmt.Fprintf(&b, "\nvisualization: %s", html)
	}
	// Which keys fail, and their histories as text.
	parts := partitionByKey(h.Ops)
	for _, part := range parts {
		if porcupine.CheckOperationsTimeout(registerModel, part, timeout) == porcupine.Ok {
			continue
		}
		key := part[0].Input.(regInput).Key
		txt := filepath.Join(dir, "key-"+key+".txt")
		var rows []regOp
		for i, op := range h.Ops {
			if op.Input.(regInput).Key == key {
				rows = append(rows, h.Raw[i])
			}
		}
		os.WriteFile(txt, []byte(dumpRegOps(rows)), 0o644)
		fmt.Fprintf(&b, "\nkey %s is not linearizable (%d operations): %s", key, len(part), txt)
	}
	return res, b.String()
}

func fmtNS(ns int64) string { return fmt.Sprintf("%.3fs", float64(ns)/1e9) }

func dumpRegOps(ops []regOp) string {
	ops = slices.Clone(ops)
	slices.SortFunc(ops, func(a, b regOp) int { return cmp.Compare(a.Call, b.Call) })
	var b strings.Builder
	for _, op := range ops {
		what := "get"
		if op.Write {
			what = "set"
		}
		fmt.Fprintf(&b, "%s..%s client %2d %s %s %s -> %s", fmtNS(op.Call), fmtNS(op.Ret), op.Client, what, op.Key, showValue(op.Value), op.Out)
		if op.Node != "" {
			fmt.Fprintf(&b, " via %s", op.Node)
		}
		if op.Err != "" {
			fmt.Fprintf(&b, " (%s)", op.Err)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// ---- append checker ----

// appendStats summarizes an append check.
type appendStats struct {
	Acked, Unknown, Refused  int
	UnknownApplied           int // unknown-outcome tokens found in the final values
	Reads                    int
	FinalTokens, FinalLength int
}

func parseToken(tok string) (client, seq int, ok bool) {
	rest, found := strings.CutPrefix(tok, "c")
	if !found {
		return 0, 0, false
	}
	a, b, found := strings.Cut(rest, "-")
	if !found {
		return 0, 0, false
	}
	c, err1 := strconv.Atoi(a)
	s, err2 := strconv.Atoi(b)
	return c, s, err1 == nil && err2 == nil
}

// checkAppends checks the append history against the final value of
// every append key. It returns the problems found (none when correct).
func checkAppends(apps []appendOp, reads []appendRead, final map[string]string) (appendStats, []string) {
	var st appendStats
	var problems []string
	bad := func(format string, a ...any) {
		if len(problems) < 50 {
			problems = append(problems, fmt.Sprintf(format, a...))
		}
	}
	byToken := map[string]*appendOp{}
	for i := range apps {
		op := &apps[i]
		byToken[op.Token] = op
		switch op.Out {
		case outOK:
			st.Acked++
		case outRefused:
			st.Refused++
		default:
			st.Unknown++
		}
	}
	// Where each token ends in its key's final value (offset just past
	// its comma), and how often it occurs.
	endAt := map[string]int{}
	count := map[string]int{}
	for key, val := range final {
		st.FinalLength += len(val)
		if val != "" && !strings.HasSuffix(val, ",") {
			bad("key %s: final value does not end with a token: ...%q", key, tail(val, 40))
		}
		off := 0
		for _, tok := range strings.Split(strings.TrimSuffix(val, ","), ",") {
			if val == "" {
				break
			}
			off += len(tok) + 1
			st.FinalTokens++
			op := byToken[tok]
			switch {
			case op == nil:
				bad("key %s: token %q at offset %d was never sent", key, tok, off-len(tok)-1)
				continue
			case op.Key != key:
				bad("key %s: token %q was appended to key %s", key, tok, op.Key)
				continue
			}
			count[tok]++
			if count[tok] > 1 {
				bad("key %s: token %q applied %d times (%s, sent at %s, %s)", key, tok, count[tok], op.Out, fmtNS(op.Call), op.Err)
			}
			if _, seen := endAt[tok]; !seen {
				endAt[tok] = off
			}
		}
	}
	for i := range apps {
		op := &apps[i]
		n := count[op.Token]
		switch op.Out {
		case outOK:
			if n == 0 {
				bad("key %s: acknowledged token %q (sent %s, acknowledged %s) is lost", op.Key, op.Token, fmtNS(op.Call), fmtNS(op.Ret))
			}
		case outRefused:
			if n > 0 {
				bad("key %s: token %q was refused (%s) but applied", op.Key, op.Token, op.Err)
			}
		default:
			if n > 0 {
				st.UnknownApplied++
			}
		}
	}
	// Per client and key, in issue order: a token may not precede a token
	// the same client had already seen acknowledged.
	type ck struct {
		client int
		key    string
	}
	seqs := map[ck][]*appendOp{}
	for i := range apps {
		op := &apps[i]
		seqs[ck{op.Client, op.Key}] = append(seqs[ck{op.Client, op.Key}], op)
	}
	for k, ops := range seqs {
		slices.SortFunc(ops, func(a, b *appendOp) int { return cmp.Compare(a.Seq, b.Seq) })
		maxAcked, maxTok := 0, ""
		for _, op := range ops {
			pos, ok := endAt[op.Token]
			if !ok {
				continue
			}
			if pos < maxAcked {
				bad("key %s: client %d's token %q comes before its earlier acknowledged token %q", k.key, k.client, op.Token, maxTok)
			}
			if op.Out == outOK && pos > maxAcked {
				maxAcked, maxTok = pos, op.Token
			}
		}
	}
	// Reads: each one a prefix of the final value, no shorter than a
	// read that finished before it started, and holding every token
	// acknowledged before it started.
	byKey := map[string][]appendRead{}
	for _, rd := range reads {
		byKey[rd.Key] = append(byKey[rd.Key], rd)
	}
	for key, rds := range byKey {
		st.Reads += len(rds)
		fv, ok := final[key]
		if !ok {
			continue
		}
		for _, rd := range rds {
			if !strings.HasPrefix(fv, rd.Value) {
				bad("key %s: read at %s..%s by client %d returned %d bytes that are not a prefix of the final value (read ends ...%q, final has %d bytes)",
					key, fmtNS(rd.Call), fmtNS(rd.Ret), rd.Client, len(rd.Value), tail(rd.Value, 40), len(fv))
			}
		}
		// Sweep: reads by call time against reads and acks by return time.
		byCall := slices.Clone(rds)
		slices.SortFunc(byCall, func(a, b appendRead) int { return cmp.Compare(a.Call, b.Call) })
		byRet := slices.Clone(rds)
		slices.SortFunc(byRet, func(a, b appendRead) int { return cmp.Compare(a.Ret, b.Ret) })
		var acks []*appendOp
		for i := range apps {
			if apps[i].Key == key && apps[i].Out == outOK {
				acks = append(acks, &apps[i])
			}
		}
		slices.SortFunc(acks, func(a, b *appendOp) int { return cmp.Compare(a.Ret, b.Ret) })
		ri, ai := 0, 0
		var longest appendRead
		maxEnd, maxEndTok := 0, ""
		for _, rd := range byCall {
			for ri < len(byRet) && byRet[ri].Ret < rd.Call {
				if len(byRet[ri].Value) > len(longest.Value) {
					longest = byRet[ri]
				}
				ri++
			}
			for ai < len(acks) && acks[ai].Ret < rd.Call {
				if e := endAt[acks[ai].Token]; e > maxEnd {
					maxEnd, maxEndTok = e, acks[ai].Token
				}
				ai++
			}
			if len(rd.Value) < len(longest.Value) {
				bad("key %s: stale read: read at %s..%s by client %d saw %d bytes, but a read that finished at %s (client %d) had seen %d bytes",
					key, fmtNS(rd.Call), fmtNS(rd.Ret), rd.Client, len(rd.Value), fmtNS(longest.Ret), longest.Client, len(longest.Value))
			}
			if len(rd.Value) < maxEnd {
				bad("key %s: stale read: read at %s..%s by client %d saw %d bytes, missing token %q acknowledged before the read started",
					key, fmtNS(rd.Call), fmtNS(rd.Ret), rd.Client, len(rd.Value), maxEndTok)
			}
		}
	}
	slices.Sort(problems)
	return st, problems
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
