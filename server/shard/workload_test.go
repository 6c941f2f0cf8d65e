package shard_test

import (
	"math/rand/v2"
	"os"
	"strconv"
	"strings"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/shard"
	"github.com/cairndb/cairn/server/slot"
)

// A workload of every command family for the apply-path fuzzer
// (FuzzApply), the long random driver (TestApplyRandom) and the
// determinism test (TestSMDeterminismAllFamilies). Its choices come from a
// source: fuzz input bytes (so the fuzzer's coverage guidance steers
// them) or a seeded generator. Arguments are biased towards edge cases:
// a few shared keys so types collide, boundary numbers, empty and binary
// strings, out-of-range indexes, every family's keywords, valid values of
// every type (big enough to change encodings), and DUMP payloads and slot
// exports of the state itself fed back to RESTORE and slot IMPORT.

// source yields the workload's choices.
type source interface {
	// next returns a choice in [0, n); ok is false once the source is
	// exhausted (fuzz input consumed).
	next(n int) (int, bool)
}

type randSource struct{ r *rand.Rand }

func (s randSource) next(n int) (int, bool) { return s.r.IntN(n), true }

// byteSource reads choices from fuzz input: one byte for n ≤ 256, two
// otherwise.
type byteSource struct{ b []byte }

func (s *byteSource) next(n int) (int, bool) {
	if len(s.b) == 0 {
		return 0, false
	}
	v := int(s.b[0])
	s.b = s.b[1:]
	if n > 256 && len(s.b) > 0 {
		v = v<<8 | int(s.b[0])
		s.b = s.b[1:]
	}
	return v % n, true
}

// workload generates log entries.
type workload struct {
	src  source
	done bool // the source ran out
	now  int64
	idx  uint64

	writes, reads, all []*command.Spec
	// dumps are DUMP payloads seen by reads, for RESTORE; exports are
	// FREEZE slot exports, for IMPORT.
	dumps, exports [][]byte
	// cluster makes slot operations meaningful (a cluster state machine).
	cluster bool
	// noSlotOps leaves slot operations out.
	noSlotOps bool
	// randomized mixes in commands that draw on the entry's seed or time
	// (SPOP, SRANDMEMBER, HRANDFIELD, ZRANDMEMBER, XADD *) and blocking
	// pops as the plain writes their wake-up re-runs are.
	randomized bool
	// corrupt damages an entry's bytes now and then.
	corrupt bool
}

func newWorkload(src source, tbl *command.Table) *workload {
	w := &workload{src: src, now: 1_700_000_000_000}
	for _, sp := range tbl.All() {
		specs := []*command.Spec{sp}
		if sp.Run == nil && len(sp.Sub) > 0 {
			specs = sp.Sub
		}
		for _, s := range specs {
			if s.Flags&command.Conn != 0 || s.Run == nil || s.Name == "pfselftest" {
				continue
			}
			if s.Name != "object|idletime" {
				// Idle times depend on the replica's own reads: the
				// one reply inside a transaction that may differ
				// between replicas (the state does not).
				w.all = append(w.all, s)
			}
			if s.IsWrite() {
				w.writes = append(w.writes, s)
			} else {
				w.reads = append(w.reads, s)
			}
		}
	}
	return w
}

func (w *workload) n(k int) int {
	v, ok := w.src.next(k)
	if !ok {
		w.done = true
	}
	return v
}

func (w *workload) pick(list []string) string { return list[w.n(len(list))] }

var (
	wKeys    = []string{"k1", "k2", "k3", "k4", "{k1}x", ""}
	wMembers = []string{"m1", "m2", "m3", "a", "b", "", "1", "-1", "1.5", "\x00\xff"}
	wNumbers = []string{"0", "1", "-1", "2", "3", "5", "10", "-2", "-10", "100", "1000", "-1000", "65536",
		"9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809",
		"18446744073709551615", "4294967296", "-4294967296", "1.5", "-0.5", "0.0", "-0", "1e308", "-1e308",
		"1e400", "1e-320", "inf", "-inf", "+inf", "nan", "0x10", " 1", "1 ", "", "01", "1e2", "3.0", "-3.75",
		"9007199254740993", "17976931348623157e292", "+1"}
	wRanges = []string{"-", "+", "(1", "[1", "(a", "[a", "[", "(", "-inf", "+inf", "(5", "(-inf", "0", "$", "*", ">",
		"0-0", "0-1", "1-0", "1-1", "1-*", "5-", "-5", "1700000000000-0", "1700000000000-*", "18446744073709551615-18446744073709551615",
		"18446744073709551615-*", "9999999999999-1", "(0-1", "1-18446744073709551615"}
	wWords = []string{"NX", "XX", "GT", "LT", "CH", "INCR", "EX", "PX", "EXAT", "PXAT", "KEEPTTL", "GET", "PERSIST",
		"WITHSCORES", "WITHSCORE", "LIMIT", "BYSCORE", "BYLEX", "REV", "MATCH", "COUNT", "TYPE", "STORE", "STOREDIST",
		"BY", "ASC", "DESC", "ALPHA", "WEIGHTS", "AGGREGATE", "SUM", "MIN", "MAX", "LEFT", "RIGHT", "BEFORE", "AFTER",
		"RANK", "MAXLEN", "MINID", "~", "=", "GROUP", "STREAMS", "IDLE", "TIME", "RETRYCOUNT", "FORCE", "JUSTID",
		"MKSTREAM", "ENTRIESREAD", "NOMKSTREAM", "LASTID", "WITHVALUES", "REPLACE", "ABSTTL", "IDLETIME", "FREQ",
		"LEN", "IDX", "MINMATCHLEN", "WITHMATCHLEN", "BIT", "BYTE", "OVERFLOW", "WRAP", "SAT", "FAIL", "SET",
		"INCRBY", "u8", "i16", "u63", "i64", "i1", "u0", "#1", "#-1", "FROMMEMBER", "FROMLONLAT", "BYRADIUS",
		"BYBOX", "m", "km", "ft", "mi", "WITHCOORD", "WITHDIST", "WITHHASH", "ANY", "AND", "OR", "XOR", "NOT",
		"DB", "COPY", "NOACK", "BLOCK", "CONSUMERS", "FULL", "SETID", "CREATE", "DESTROY", "DELIVERY", "*", "$",
		"ENCODING", "NOVALUES", "FIELDS", "USAGE", "MAXLEN", "DELIFEQ"}
)

// bigCount sizes the values that change encodings: past 128 (listpack),
// 512 (intset).
var bigCounts = []int{3, 129, 513}

// arg returns one biased argument.
func (w *workload) arg() string {
	switch w.n(10) {
	case 0, 1:
		if w.n(2) == 0 {
			return w.pick([]string{"l", "s", "z", "h", "x", "p"}) + w.pick(wKeys[:5])
		}
		return w.pick(wKeys)
	case 2, 3:
		return w.pick(wMembers)
	case 4, 5:
		if w.n(3) == 0 {
			return strconv.Itoa(w.n(41) - 20)
		}
		return w.pick(wNumbers)
	case 6:
		return w.pick(wRanges)
	case 7, 8:
		return w.pick(wWords)
	default:
		switch w.n(4) {
		case 0: // binary bytes straight from the source, short (no huge numbers)
			b := make([]byte, w.n(7))
			for i := range b {
				b[i] = byte(w.n(256))
			}
			return string(b)
		case 1:
			return strings.Repeat("x", []int{0, 64, 65, 300}[w.n(4)])
		case 2:
			if len(w.dumps) > 0 {
				return string(w.dumps[w.n(len(w.dumps))])
			}
		}
		return strconv.FormatFloat(float64(w.n(2001)-1000)/float64(1+w.n(7)), 'g', -1, 64)
	}
}

// typePrefix is the prefix of the keys valid() fills with a value of each
// group's type ("l"+"k1" is a list), so that commands find values of their
// type as often as values of another.
var typePrefix = map[string]string{"list": "l", "set": "s", "sorted-set": "z", "geo": "z", "hash": "h", "stream": "x", "hyperloglog": "p"}

// typedKey returns a key for a command of group: often one holding a value
// of its type, else a shared key.
func (w *workload) typedKey(group string) string {
	k := w.pick(wKeys)
	if p := typePrefix[group]; p != "" && k != "" && w.n(3) != 0 {
		return p + k
	}
	return k
}

// generic builds a command of spec with biased arguments; the argument
// after the name is a key when the spec has one there.
func (w *workload) generic(sp *command.Spec) []string {
	name := sp.Name
	var cmd []string
	if i := strings.IndexByte(name, '|'); i >= 0 {
		cmd = []string{name[:i], name[i+1:]}
	} else {
		cmd = []string{name}
	}
	if w.n(8) == 0 {
		cmd[0] = strings.ToUpper(cmd[0])
	}
	want := sp.Arity
	if want < 0 {
		want = -want + w.n(7)
	}
	if w.n(30) == 0 { // wrong arity now and then
		want = max(1, want+w.n(3)-1)
	}
	for len(cmd) < want {
		if len(cmd) == sp.FirstKey || (sp.KeysFunc != nil && len(cmd) <= 2 && w.n(2) == 0) {
			cmd = append(cmd, w.typedKey(sp.Group))
			continue
		}
		cmd = append(cmd, w.arg())
	}
	return cmd
}

// valid returns a well-formed write of some family that builds real
// values (of every encoding) on the shared keys.
// watFixture is the runtime's WAT test module (modules/testdata/test.wat).
var watFixture = func() []byte {
	b, err := os.ReadFile("../../modules/testdata/test.wasm")
	if err != nil {
		panic(err)
	}
	return b
}()

func (w *workload) valid() []string {
	k := w.pick(wKeys[:5])
	typed := w.n(2) == 0 // a key of this command's own type (typedKey)
	n := bigCounts[w.n(3)]
	if w.n(3) != 0 {
		n = 1 + w.n(5)
	}
	members := func(cmd []string, ints bool, score bool, value bool) []string {
		for i := range n {
			if score {
				cmd = append(cmd, w.pick([]string{strconv.Itoa(i), "1.5", "-inf", "+inf", "0", strconv.Itoa(-i)}))
			}
			if ints {
				cmd = append(cmd, strconv.Itoa(i*7-3))
			} else if w.n(4) == 0 {
				cmd = append(cmd, w.pick(wMembers))
			} else {
				cmd = append(cmd, "m"+strconv.Itoa(i)+strings.Repeat("y", []int{0, 0, 0, 70}[w.n(4)]))
			}
			if value {
				cmd = append(cmd, w.pick([]string{"v", "10", "-1.5", strings.Repeat("z", 70), ""}))
			}
		}
		return cmd
	}
	switch w.n(21) {
	case 20:
		// Vector sets: VADD (every quantization, REDUCE, attributes),
		// VREM, VSETATTR, mistakes included.
		k = "vs" + strconv.Itoa(w.n(3))
		e := "e" + strconv.Itoa(w.n(12))
		switch w.n(5) {
		case 0:
			return []string{"vrem", k, e}
		case 1:
			return []string{"vsetattr", k, e, w.pick([]string{`{"n": 3, "t": "a"}`, `{"n": -1}`, "", "bad"})}
		}
		cmd := []string{"vadd", k}
		if k == "vs2" {
			cmd = append(cmd, "REDUCE", "2")
		}
		cmd = append(cmd, "VALUES", "3", w.pick(wNumbers), strconv.Itoa(w.n(9)-4), strconv.Itoa(w.n(5)), e)
		if k == "vs1" {
			cmd = append(cmd, "BIN")
		}
		if w.n(3) == 0 {
			cmd = append(cmd, "SETATTR", w.pick([]string{`{"n": 1, "t": "b"}`, `{"n": 5}`, ""}))
		}
		return cmd
	case 18:
		// FT indexes over the hashes case 4 and 16 write ("hk1"...).
		name := "fti" + strconv.Itoa(w.n(2))
		switch w.n(4) {
		case 0:
			return []string{"ft.dropindex", name, w.pick([]string{"DD", "KEEP"})}[:2+w.n(2)]
		case 1:
			return []string{w.pick([]string{"ft.aliasadd", "ft.aliasupdate", "ft.aliasdel"}), "fta", name}[:3-w.n(2)]
		}
		return []string{"ft.create", name, "PREFIX", "1", w.pick([]string{"h", "hk", ""}), "SCHEMA", "t", "TAG", "n", "NUMERIC",
			"v", "VECTOR", w.pick([]string{"HNSW", "FLAT"}), "6", "TYPE", w.pick([]string{"FLOAT32", "FLOAT16"}), "DIM", "2", "DISTANCE_METRIC", w.pick([]string{"L2", "IP", "COSINE"})}
	case 19:
		if typed {
			k = "h" + k
		}
		vec := string([]byte{byte(w.n(256)), byte(w.n(256)), byte(w.n(256)), byte(w.n(256)), byte(w.n(256)), byte(w.n(256)), 0x3f, byte(w.n(256))})
		return []string{"hset", k, "t", w.pick([]string{"a", "b,c", "A"}), "n", w.pick(wNumbers), "v", vec[:[]int{8, 8, 8, 4, 3}[w.n(5)]]}
	case 0:
		return []string{"set", k, w.pick([]string{"10", "-5", "abc", "1.5", "", strings.Repeat("s", 50), "9223372036854775807"})}
	case 16:
		// Functions: (re)load the WAT fixture, or call one of its
		// functions (writes, traps, fuel exhaustion after a write, the
		// entry's time and seed); before a load they are not found.
		if w.n(8) == 0 {
			return []string{"function", "load", "replace", "#!wasm name=t\n" + string(watFixture)}
		}
		fn := w.pick([]string{"incr", "incr", "ping", "time", "random", "trap", "callerr", "pcallerr", "noreply"})
		if w.n(40) == 0 {
			fn = "incrspin"
		}
		return []string{"fcall", fn, "1", k}
	case 17:
		return []string{w.pick([]string{"fcall", "fcall_ro"}), w.pick([]string{"incr", "ping", "nosuch"}), w.pick([]string{"0", "1", "2", "-1", "x"}), k, w.pick(wWords)}
	case 1:
		if typed {
			k = "l" + k
		}
		return members([]string{w.pick([]string{"rpush", "lpush"}), k}, w.n(2) == 0, false, false)
	case 2:
		if typed {
			k = "s" + k
		}
		return members([]string{"sadd", k}, w.n(2) == 0, false, false)
	case 3:
		if typed {
			k = "z" + k
		}
		return members([]string{"zadd", k}, false, true, false)
	case 4:
		if typed {
			k = "h" + k
		}
		return members([]string{"hset", k}, false, false, true)
	case 5:
		id := w.pick([]string{"*", "*", "1-*", strconv.FormatInt(w.now, 10) + "-*", "5-5", "0-1"})
		if w.n(2) == 0 {
			return []string{"xadd", k, w.pick([]string{"MAXLEN", "MINID"}), w.pick([]string{"~", "="}), w.pick([]string{"2", "0", "1-1"}), id, "f", "v"}
		}
		return []string{"xadd", k, id, "f", "v"}
	case 6:
		if typed {
			k = "x" + k
		}
		return []string{"xadd", k, "*", "f", w.pick(wMembers), "g", "1"}
	case 7:
		if typed {
			k = "x" + k
		}
		return []string{"xgroup", "create", k, "g" + strconv.Itoa(w.n(2)), w.pick([]string{"$", "0", "0-0", "1-1"}), "MKSTREAM"}
	case 8:
		return []string{"xreadgroup", "GROUP", "g" + strconv.Itoa(w.n(2)), "c" + strconv.Itoa(w.n(3)), "COUNT", strconv.Itoa(w.n(4)), "STREAMS", k, w.pick([]string{">", "0", "0-0"})}
	case 9:
		return []string{"setbit", k, strconv.Itoa(w.n(200)), strconv.Itoa(w.n(2))}
	case 10:
		if typed {
			k = "p" + k
		}
		return members([]string{"pfadd", k}, w.n(2) == 0, false, false)
	case 11:
		if typed {
			k = "z" + k
		}
		cmd := []string{"geoadd", k}
		for i := range 1 + w.n(4) {
			cmd = append(cmd, strconv.FormatFloat(float64(w.n(360)-180)+0.5, 'f', -1, 64), strconv.FormatFloat(float64(w.n(170)-85)+0.25, 'f', -1, 64), "g"+strconv.Itoa(i))
		}
		return cmd
	case 12:
		return []string{"pexpire", k, strconv.Itoa(1 + w.n(3000))}
	case 13:
		if len(w.dumps) > 0 {
			return []string{"restore", k, strconv.Itoa(w.n(3) * 1000), string(w.dumps[w.n(len(w.dumps))]), w.pick([]string{"REPLACE", "ABSTTL", "IDLETIME", "FREQ"}), w.pick([]string{"1", "REPLACE", "0"})}[:4+w.n(3)]
		}
		return []string{"incrbyfloat", k, "0.1"}
	case 14:
		return []string{"xclaim", k, "g0", "c1", "0", w.pick([]string{"0-1", "1-1", "0-0"}), w.pick(wWords)}
	default:
		return []string{"setrange", k, strconv.Itoa(w.n(100)), "abc"}
	}
}

// randomCmd returns a command whose result depends on the entry's seed or
// time, or a blocking pop (read: it may be a read, inside MULTI).
func (w *workload) randomCmd(read bool) []string {
	k, k2 := w.pick(wKeys[:5]), w.pick(wKeys[:5])
	typed := w.n(3) != 0 // keys of the command's own type (see valid)
	key := func(prefix string) string {
		if typed {
			return prefix + k
		}
		return k
	}
	key2 := func(prefix string) string {
		if typed {
			return prefix + k2
		}
		return k2
	}
	count := w.pick([]string{"1", "2", "5", "-3", "-7", "0", "200"})
	if read && w.n(2) == 0 {
		switch w.n(3) {
		case 0:
			return []string{"srandmember", key("s"), count}
		case 1:
			return []string{"hrandfield", key("h"), count, "WITHVALUES"}[:3+w.n(2)]
		default:
			return []string{"zrandmember", key("z"), count, "WITHSCORES"}[:3+w.n(2)]
		}
	}
	switch w.n(14) {
	case 0, 1:
		return []string{"spop", key("s"), count}[:2+w.n(2)]
	case 2:
		if read {
			return []string{"srandmember", key("s"), count}
		}
		return []string{"spop", key("s")}
	case 3:
		if read {
			return []string{"hrandfield", key("h"), count, "WITHVALUES"}[:3+w.n(2)]
		}
		return []string{"hdel", key("h"), "m1"}
	case 4:
		if read {
			return []string{"zrandmember", key("z"), count, "WITHSCORES"}[:3+w.n(2)]
		}
		return []string{"zincrby", key("z"), "1", "m1"}
	case 5, 6:
		return []string{"xadd", key("x"), "*", "f", w.pick(wMembers)}
	case 7:
		return []string{w.pick([]string{"blpop", "brpop"}), key("l"), key2("l"), "0"}
	case 8:
		return []string{"blmove", key("l"), key2("l"), w.pick([]string{"LEFT", "RIGHT"}), w.pick([]string{"LEFT", "RIGHT"}), "0"}
	case 9:
		return []string{w.pick([]string{"bzpopmin", "bzpopmax"}), key("z"), key2("z"), "0"}
	case 10:
		return []string{"blmpop", "0", "2", key("l"), key2("l"), w.pick([]string{"LEFT", "RIGHT"}), "COUNT", "2"}
	case 11:
		return []string{"bzmpop", "0", "1", key("z"), w.pick([]string{"MIN", "MAX"}), "COUNT", "3"}
	case 12:
		return []string{"brpoplpush", key("l"), key2("l"), "0"}
	default:
		return []string{"xreadgroup", "GROUP", "g0", "c1", "BLOCK", "0", "COUNT", "2", "STREAMS", key("x"), ">"}
	}
}

// num returns a number argument: small, or a boundary value.
func (w *workload) num() string {
	if w.n(2) == 0 {
		return strconv.Itoa(w.n(21) - 10)
	}
	return w.pick(wNumbers)
}

// edge returns a well-formed command of some family whose options and
// numbers come from the edge-case pools: the syntax is accepted, so the
// values reach the handlers' arithmetic and indexing.
func (w *workload) edge() []string {
	k, k2 := w.pick(wKeys), w.pick(wKeys)
	l, z, h, st, x := "l"+w.pick(wKeys[:5]), "z"+w.pick(wKeys[:5]), "h"+w.pick(wKeys[:5]), "s"+w.pick(wKeys[:5]), "x"+w.pick(wKeys[:5])
	if w.n(3) == 0 {
		l, z, h, st, x = k, k, k, k, k
	}
	m := w.pick(wMembers)
	switch w.n(40) {
	case 0:
		return []string{"lpos", l, m, "RANK", w.num(), "COUNT", w.num(), "MAXLEN", w.num()}
	case 1:
		return []string{"lrange", l, w.num(), w.num()}
	case 2:
		return []string{"ltrim", l, w.num(), w.num()}
	case 3:
		return []string{"lset", l, w.num(), m}
	case 4:
		return []string{"linsert", l, w.pick([]string{"BEFORE", "AFTER"}), m, w.pick(wMembers)}
	case 5:
		return []string{"lindex", l, w.num()}
	case 6:
		return []string{"zrange", z, w.pick(wRanges), w.pick(wRanges), w.pick([]string{"BYSCORE", "BYLEX", "REV"}), "LIMIT", w.num(), w.num()}
	case 7:
		return []string{"zrangestore", k2, z, w.num(), w.num(), w.pick([]string{"REV", "BYSCORE"})}
	case 8:
		return []string{"zadd", z, w.pick([]string{"NX", "XX", "GT", "LT", "CH", "INCR"}), w.num(), m}
	case 9:
		return []string{"zremrangebyrank", z, w.num(), w.num()}
	case 10:
		return []string{"zremrangebyscore", z, w.pick(wRanges), w.pick(wRanges)}
	case 11:
		return []string{"zremrangebylex", z, w.pick(wRanges), w.pick(wRanges)}
	case 12:
		return []string{"zunionstore", k2, "2", z, k, "WEIGHTS", w.num(), w.num(), "AGGREGATE", w.pick([]string{"SUM", "MIN", "MAX"})}
	case 13:
		return []string{"zinter", "2", z, k, "WITHSCORES"}
	case 14:
		return []string{"zrandmember", z, w.num(), "WITHSCORES"}
	case 15:
		return []string{"zcount", z, w.pick(wRanges), w.pick(wRanges)}
	case 16:
		return []string{"srandmember", st, w.num()}
	case 17:
		return []string{"spop", st, w.num()}
	case 18:
		return []string{"sintercard", "2", st, k, "LIMIT", w.num()}
	case 19:
		return []string{"hrandfield", h, w.num(), "WITHVALUES"}
	case 20:
		return []string{"hincrbyfloat", h, m, w.num()}
	case 21:
		return []string{"hincrby", h, m, w.num()}
	case 22:
		return []string{"incrbyfloat", k, w.num()}
	case 23:
		return []string{"incrby", k, w.num()}
	case 24:
		return []string{"getrange", k, w.num(), w.num()}
	case 25:
		return []string{"setrange", k, w.pick([]string{"0", "1", "5", "100", "-1", "1048575", "1048576"}), m}
	case 26:
		return []string{"bitcount", k, w.num(), w.num(), w.pick([]string{"BIT", "BYTE"})}
	case 27:
		return []string{"bitpos", k, w.pick([]string{"0", "1"}), w.num(), w.num(), w.pick([]string{"BIT", "BYTE"})}
	case 28:
		return []string{"bitfield", k, w.pick([]string{"GET", "SET", "INCRBY"}), w.pick([]string{"u8", "i16", "u63", "i64", "i1", "u1", "i8"}), w.pick([]string{"0", "#1", "#-1", "7", "100", "-1", "#100000"}), w.num(), "OVERFLOW", w.pick([]string{"WRAP", "SAT", "FAIL"}), "INCRBY", "i5", "3", w.num()}
	case 29:
		return []string{"bitop", w.pick([]string{"AND", "OR", "XOR", "NOT"}), k2, k, w.pick(wKeys)}[:4+w.n(2)]
	case 30:
		return []string{"setbit", k, w.pick([]string{"0", "7", "8", "1000", "-1", "4294967296"}), w.pick([]string{"0", "1", "2"})}
	case 31:
		return []string{"geosearch", z, "FROMLONLAT", w.num(), w.num(), w.pick([]string{"BYRADIUS", "BYBOX"}), w.num(), w.num(), w.pick([]string{"m", "km"}), "COUNT", w.num(), "ANY", "WITHDIST"}
	case 32:
		return []string{"geosearchstore", k2, z, "FROMMEMBER", w.pick([]string{"g0", "g1", "m1"}), "BYRADIUS", w.num(), "km", "STOREDIST"}
	case 33:
		return []string{"xtrim", x, w.pick([]string{"MAXLEN", "MINID"}), w.pick([]string{"~", "="}), w.pick(wRanges), "LIMIT", w.num()}
	case 34:
		return []string{"xautoclaim", x, "g0", "c1", w.num(), w.pick(wRanges), "COUNT", w.num(), "JUSTID"}[:7+w.n(3)]
	case 35:
		return []string{"xsetid", x, w.pick(wRanges), "ENTRIESADDED", w.num(), "MAXDELETEDID", w.pick(wRanges)}[:3+2*w.n(3)]
	case 36:
		return []string{"xpending", x, "g0", "IDLE", w.num(), w.pick(wRanges), w.pick(wRanges), w.num(), "c1"}
	case 37:
		return []string{"sort", w.pick([]string{l, st, z}), "BY", w.pick([]string{"nosort", "*", "w_*", "h*->f"}), "LIMIT", w.num(), w.num(), "GET", w.pick([]string{"#", "*", "h*->m1"}), w.pick([]string{"ALPHA", "DESC", "ASC"}), "STORE", k2}[:2+2*w.n(6)]
	case 38:
		return []string{"lcs", k, k2, "IDX", "MINMATCHLEN", w.num(), "WITHMATCHLEN"}
	default:
		return []string{"getex", k, w.pick([]string{"EX", "PX", "EXAT", "PXAT", "PERSIST"}), w.num()}
	}
}

// command returns a write (or, with read, any command).
func (w *workload) command(read bool) []string {
	if w.randomized {
		// The determinism workload: mostly well-formed commands, so
		// that values live long enough for the randomized ones.
		switch w.n(6) {
		case 0, 1:
			return w.randomCmd(read)
		case 2, 3, 4:
			return w.valid()
		}
	}
	switch w.n(7) {
	case 0, 1:
		return w.valid()
	case 2, 3:
		if cmd := w.edge(); read || table.Lookup([]byte(cmd[0])).IsWrite() {
			return cmd
		}
		return w.valid()
	default:
		if read {
			return w.generic(w.all[w.n(len(w.all))])
		}
		if w.n(50) == 0 { // a read in a Commands entry: refused
			return w.generic(w.reads[w.n(len(w.reads))])
		}
		return w.generic(w.writes[w.n(len(w.writes))])
	}
}

// read returns a read-only command to run between entries.
func (w *workload) read() []string {
	switch w.n(5) {
	case 4:
		// FT queries over the indexes valid() creates.
		q := w.pick([]string{"*=>[KNN 3 @v $q]", "@t:{a|b}=>[KNN 2 @v $q EF_RUNTIME 5 AS d]", "@n:[-inf 5]", "-@t:{a}",
			"@v:[VECTOR_RANGE 10 $q]=>{$YIELD_DISTANCE_AS: d}", "@t:{a} | @n:[(1 +inf]", "@x:{y}", "(((", "*=>[KNN 0 @v $q]"})
		name := "fti" + strconv.Itoa(w.n(2))
		if w.n(3) == 0 {
			return []string{w.pick([]string{"ft.info", "ft.explain"}), name, q}[:2+w.n(2)]
		}
		return []string{w.pick([]string{"ft.search", "ft.aggregate"}), name, q, "PARAMS", "2", "q", "\x00\x00\x80\x3f\x00\x00\x00\x40"[:8],
			w.pick([]string{"DIALECT", "LIMIT", "SORTBY", "RETURN"}), w.pick([]string{"2", "0", "n", "1"}), w.pick([]string{"1", "10", "d", "n"})}
	case 0:
		if w.n(3) == 0 {
			k := "vs" + strconv.Itoa(w.n(3))
			return []string{"vsim", k, "VALUES", "3", "1", "0", "2", "WITHSCORES", "COUNT", "3", "FILTER", w.pick([]string{".n > 0", `.t == "a"`, "not .n"})}
		}
		return []string{"dump", w.pick(wKeys)}
	case 1:
		if cmd := w.edge(); !table.Lookup([]byte(cmd[0])).IsWrite() {
			return cmd
		}
	}
	return w.generic(w.reads[w.n(len(w.reads))])
}

func toArgs(cmd []string) [][]byte {
	out := make([][]byte, len(cmd))
	for i, a := range cmd {
		out[i] = []byte(a)
	}
	return out
}

// entry returns the next encoded entry. digest gives the live value's
// digest of a key (for WATCH guards that hold).
func (w *workload) entry(digest func(key []byte) uint64) []byte {
	w.idx++
	switch w.n(10) {
	case 0:
		w.now -= int64(w.n(1000)) // a slower leader's clock
	default:
		w.now += int64(w.n(400))
	}
	seed := uint64(w.n(1 << 16))
	e := entry.Entry{Kind: entry.Commands, Time: w.now, Seed: seed}
	switch w.n(16) {
	case 0: // active expiry
		e.Kind = entry.Expire
		for range 1 + w.n(4) {
			e.Cmds = append(e.Cmds, [][]byte{[]byte(w.pick(wKeys))})
		}
		if w.n(10) == 0 {
			e.Cmds = append(e.Cmds, toArgs([]string{"k1", "k2"})) // malformed: ignored
		}
	case 1, 2, 4: // a transaction, sometimes WATCH-guarded
		e.Kind = entry.Multi
		if w.n(2) == 0 {
			e.Kind = entry.WatchedMulti
			var watch []string
			for range w.n(3) {
				k := w.pick(wKeys)
				d := strconv.FormatUint(digest([]byte(k)), 10)
				if w.n(5) == 0 {
					d = w.pick([]string{"0", "1", "x", ""})
				}
				watch = append(watch, k, d)
			}
			e.Cmds = append(e.Cmds, toArgs(watch))
		}
		for range 1 + w.n(5) {
			e.Cmds = append(e.Cmds, toArgs(w.command(true)))
		}
	case 3:
		if w.cluster && !w.noSlotOps {
			e.Kind = entry.SlotOp
			for range 1 + w.n(2) {
				e.Cmds = append(e.Cmds, w.slotOp())
			}
			break
		}
		fallthrough
	default:
		for range 1 + w.n(4) {
			e.Cmds = append(e.Cmds, toArgs(w.command(false)))
		}
	}
	b := entry.Append(nil, &e)
	if w.corrupt && w.n(40) == 0 { // a damaged entry: refused or applied, the same everywhere
		switch i := w.n(len(b)); w.n(3) {
		case 0:
			b = b[:i]
		case 1:
			b[i] ^= byte(1 + w.n(255))
		default:
			b[i] = 0xff
		}
	}
	return b
}

// slotOp returns a slot operation over the slots of the shared keys and a
// few others.
func (w *workload) slotOp() [][]byte {
	slots := []uint16{0, 16383}
	for _, k := range wKeys {
		slots = append(slots, slot.Of([]byte(k)))
	}
	var pick []uint16
	for range 1 + w.n(3) {
		pick = append(pick, slots[w.n(len(slots))])
	}
	sl := string(shard.EncodeSlots(pick))
	// Ops that give slots back outnumber those that take them away, so
	// the shared keys stay writable most of the time.
	switch w.n(11) {
	case 0, 1, 2:
		return toArgs([]string{shard.OpAssign, sl})
	case 3:
		return toArgs([]string{shard.OpFreeze, sl})
	case 4, 5:
		return toArgs([]string{shard.OpUnfreeze, sl})
	case 6:
		return toArgs([]string{shard.OpDrop, sl})
	case 7, 8:
		items := ""
		if len(w.exports) > 0 {
			items = string(w.exports[w.n(len(w.exports))])
		}
		return toArgs([]string{shard.OpImport, sl, items, w.pick([]string{"1", "0"})})
	case 9:
		return toArgs([]string{shard.OpStatus, sl})
	default:
		// Malformed operations of known names (an unknown name halts the
		// shard: TestSMHaltsOnUnknown).
		return toArgs([]string{w.pick([]string{shard.OpFreeze, shard.OpImport, shard.OpAssign}), w.pick([]string{"", "\x01", "\xff\xff"})})
	}
}
