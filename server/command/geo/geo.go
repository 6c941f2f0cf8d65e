package geo

import (
	"math"
	"sort"
	"strconv"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/cfloat"
	"github.com/cairndb/cairn/server/command/zsets"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

const (
	errUnit        = command.Msg("ERR unsupported unit provided. please use M, KM, FT, MI")
	errNotFloat    = command.Msg("ERR value is not a valid float")
	errDecode      = command.Msg("ERR could not decode requested zset member")
	errRadiusNum   = command.Msg("ERR need numeric radius")
	errRadiusNeg   = command.Msg("ERR radius cannot be negative")
	errWidthNum    = command.Msg("ERR need numeric width")
	errHeightNum   = command.Msg("ERR need numeric height")
	errBoxNeg      = command.Msg("ERR height or width cannot be negative")
	errCountPos    = command.Msg("ERR COUNT must be > 0")
	errAnyNeedsCnt = command.Msg("ERR the ANY argument requires COUNT argument")
)

// readZSet returns the sorted set at key (nil if missing) or ErrWrongType;
// write commands use the writer's lookup, which deletes an expired key.
func readZSet(c *command.Ctx, key []byte, write bool) (*keyspace.ZSet, error) {
	var it *keyspace.Item
	if write {
		it = c.DB.Lookup(key, c.Now)
	} else {
		it = c.DB.Get(key, c.Now)
	}
	if it == nil {
		return nil, nil
	}
	z, ok := it.Obj.(*keyspace.ZSet)
	if !ok {
		return nil, keyspace.ErrWrongType
	}
	return z, nil
}

// cfmt formats f as C's "%f".
func cfmt(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'f', 6, 64)
}

// parseLonLat is extractLongLatOrReply.
func parseLonLat(lonArg, latArg []byte) (float64, float64, error) {
	lon, ok := cfloat.String2d(lonArg)
	if !ok {
		return 0, 0, errNotFloat
	}
	lat, ok := cfloat.String2d(latArg)
	if !ok {
		return 0, 0, errNotFloat
	}
	if lon < lonMin || lon > lonMax || lat < latMin || lat > latMax {
		return 0, 0, command.Msg("ERR invalid longitude,latitude pair " + cfmt(lon) + "," + cfmt(lat))
	}
	return lon, lat, nil
}

// parseUnit is extractUnitOrReply: the factor from meters to the unit.
func parseUnit(b []byte) (float64, error) {
	switch {
	case command.EqualFold(b, "m"):
		return 1, nil
	case command.EqualFold(b, "km"):
		return 1000, nil
	case command.EqualFold(b, "ft"):
		return 0.3048, nil
	case command.EqualFold(b, "mi"):
		return 1609.34, nil
	}
	return 0, errUnit
}

// distanceReply is addReplyDoubleDistance: "%.4f" as a bulk string.
func distanceReply(d float64) reply.Value {
	return reply.BulkString(strconv.FormatFloat(d, 'f', 4, 64))
}

// human is a coordinate as addReplyHumanLongDouble replies it: a RESP3
// double, a bulk string in RESP2, in "%.17Lf" without trailing zeros.
func human(f float64) reply.Value { return reply.Double(cfloat.Human(f)) }

// geoadd implements
//
//	GEOADD key [NX|XX] [CH] longitude latitude member [longitude latitude member ...]
//
// It validates every position, then adds the members with their 52-bit
// geohash scores through ZADD (so the notification is "zadd").
func geoadd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	var f zsets.ZAddFlags
	i := 2
	for ; i < len(args); i++ {
		switch a := args[i]; {
		case command.EqualFold(a, "nx"):
			f.NX = true
		case command.EqualFold(a, "xx"):
			f.XX = true
		case command.EqualFold(a, "ch"):
			f.CH = true
		default:
			goto done
		}
	}
done:
	if (len(args)-i)%3 != 0 || f.XX && f.NX {
		return reply.Value{}, command.ErrSyntax
	}
	pairs := make([][]byte, 0, (len(args)-i)/3*2)
	for ; i < len(args); i += 3 {
		lon, lat, err := parseLonLat(args[i], args[i+1])
		if err != nil {
			return reply.Value{}, err
		}
		pairs = append(pairs, strconv.AppendUint(nil, encodeScore(lon, lat), 10), args[i+2])
	}
	return zsets.ZAdd(c, args[1], f, pairs)
}

// geodist implements
//
//	GEODIST key member1 member2 [M|KM|FT|MI]
func geodist(c *command.Ctx, args [][]byte) (reply.Value, error) {
	toMeter := 1.0
	if len(args) == 5 {
		u, err := parseUnit(args[4])
		if err != nil {
			return reply.Value{}, err
		}
		toMeter = u
	} else if len(args) > 5 {
		return reply.Value{}, command.ErrSyntax
	}
	z, err := readZSet(c, args[1], false)
	if err != nil || z == nil {
		return reply.Nil, err
	}
	s1, ok1 := z.Score(args[2])
	s2, ok2 := z.Score(args[3])
	if !ok1 || !ok2 {
		return reply.Nil, nil
	}
	lon1, lat1 := decodeScore(s1)
	lon2, lat2 := decodeScore(s2)
	return distanceReply(distance(lon1, lat1, lon2, lat2) / toMeter), nil
}

// geohash implements
//
//	GEOHASH key member [member ...]
func geohash(c *command.Ctx, args [][]byte) (reply.Value, error) {
	z, err := readZSet(c, args[1], false)
	if err != nil {
		return reply.Value{}, err
	}
	out := make([]reply.Value, len(args)-2)
	for i, m := range args[2:] {
		out[i] = reply.Nil
		if z != nil {
			if s, ok := z.Score(m); ok {
				out[i] = reply.BulkString(geohashString(s))
			}
		}
	}
	return reply.Array(out...), nil
}

// geopos implements
//
//	GEOPOS key member [member ...]
func geopos(c *command.Ctx, args [][]byte) (reply.Value, error) {
	z, err := readZSet(c, args[1], false)
	if err != nil {
		return reply.Value{}, err
	}
	out := make([]reply.Value, len(args)-2)
	for i, m := range args[2:] {
		out[i] = reply.NilArray
		if z != nil {
			if s, ok := z.Score(m); ok {
				lon, lat := decodeScore(s)
				out[i] = reply.Array(human(lon), human(lat))
			}
		}
	}
	return reply.Array(out...), nil
}

// Search flavors, as georadiusGeneric's flags.
const (
	radiusCoords = 1 << iota
	radiusMember
	radiusNoStore
	geoSearch
	geoSearchStore
)

// point is Redis's geoPoint.
type point struct {
	lon, lat, dist, score float64
	member                string
}

func searchCmd(flags int) command.Handler {
	return func(c *command.Ctx, args [][]byte) (reply.Value, error) {
		return search(c, args, flags)
	}
}

// search is Redis's georadiusGeneric:
//
//	GEORADIUS key longitude latitude radius unit [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC|DESC] [STORE key] [STOREDIST key]
//	GEORADIUSBYMEMBER key member radius unit [...]
//	GEORADIUS_RO / GEORADIUSBYMEMBER_RO (no STORE)
//	GEOSEARCH key FROMMEMBER member|FROMLONLAT lon lat BYRADIUS radius unit|BYBOX width height unit [ASC|DESC] [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]
//	GEOSEARCHSTORE dst src ... [STOREDIST]
func search(c *command.Ctx, args [][]byte, flags int) (reply.Value, error) {
	srcIdx := 1
	if flags&geoSearchStore != 0 {
		srcIdx = 2
	}
	write := flags&(radiusNoStore) == 0 && flags&geoSearch == 0 || flags&geoSearchStore != 0
	z, err := readZSet(c, args[srcIdx], write)
	if err != nil {
		return reply.Value{}, err
	}
	var sh shape
	var storeKey []byte
	storeDist := false
	base := 0
	switch {
	case flags&radiusCoords != 0:
		base = 6
		sh.kind = circular
		if sh.lon, sh.lat, err = parseLonLat(args[2], args[3]); err != nil {
			return reply.Value{}, err
		}
		if err := parseDistance(&sh, args[4:6]); err != nil {
			return reply.Value{}, err
		}
	case flags&radiusMember != 0 && z == nil:
		base = 5
	case flags&radiusMember != 0:
		base = 5
		sh.kind = circular
		s, ok := z.Score(args[2])
		if !ok {
			return reply.Value{}, errDecode
		}
		sh.lon, sh.lat = decodeScore(s)
		if err := parseDistance(&sh, args[3:5]); err != nil {
			return reply.Value{}, err
		}
	default:
		base = 2
		if flags&geoSearchStore != 0 {
			base = 3
			storeKey = args[1]
		}
	}
	withDist, withHash, withCoords := false, false, false
	fromMember, fromLoc, byRadius, byBox := false, false, false, false
	order := 0 // 0 none, 1 asc, 2 desc
	anyOpt := false
	count := int64(0)
	rem := len(args) - base
	for i := 0; i < rem; i++ {
		a := args[base+i]
		switch {
		case command.EqualFold(a, "withdist"):
			withDist = true
		case command.EqualFold(a, "withhash"):
			withHash = true
		case command.EqualFold(a, "withcoord"):
			withCoords = true
		case command.EqualFold(a, "any"):
			anyOpt = true
		case command.EqualFold(a, "asc"):
			order = 1
		case command.EqualFold(a, "desc"):
			order = 2
		case command.EqualFold(a, "count") && i+1 < rem:
			n, err := command.ParseInt(args[base+i+1])
			if err != nil {
				return reply.Value{}, err
			}
			if n <= 0 {
				return reply.Value{}, errCountPos
			}
			count = n
			i++
		case command.EqualFold(a, "store") && i+1 < rem && flags&radiusNoStore == 0 && flags&geoSearch == 0:
			storeKey, storeDist = args[base+i+1], false
			i++
		case command.EqualFold(a, "storedist") && i+1 < rem && flags&radiusNoStore == 0 && flags&geoSearch == 0:
			storeKey, storeDist = args[base+i+1], true
			i++
		case command.EqualFold(a, "storedist") && flags&geoSearch != 0 && flags&geoSearchStore != 0:
			storeDist = true
		case command.EqualFold(a, "frommember") && i+1 < rem && flags&geoSearch != 0 && !fromLoc:
			if z != nil {
				s, ok := z.Score(args[base+i+1])
				if !ok {
					return reply.Value{}, errDecode
				}
				sh.lon, sh.lat = decodeScore(s)
			}
			fromMember = true
			i++
		case command.EqualFold(a, "fromlonlat") && i+2 < rem && flags&geoSearch != 0 && !fromMember:
			if sh.lon, sh.lat, err = parseLonLat(args[base+i+1], args[base+i+2]); err != nil {
				return reply.Value{}, err
			}
			fromLoc = true
			i += 2
		case command.EqualFold(a, "byradius") && i+2 < rem && flags&geoSearch != 0 && !byBox:
			if err := parseDistance(&sh, args[base+i+1:base+i+3]); err != nil {
				return reply.Value{}, err
			}
			sh.kind = circular
			byRadius = true
			i += 2
		case command.EqualFold(a, "bybox") && i+3 < rem && flags&geoSearch != 0 && !byRadius:
			if err := parseBox(&sh, args[base+i+1:base+i+4]); err != nil {
				return reply.Value{}, err
			}
			sh.kind = rectangle
			byBox = true
			i += 3
		default:
			return reply.Value{}, command.ErrSyntax
		}
	}
	if storeKey != nil && (withDist || withHash || withCoords) {
		if flags&geoSearchStore != 0 {
			return reply.Value{}, command.Msg("ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
		}
		return reply.Value{}, command.Msg("ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
	}
	if flags&geoSearch != 0 && !(fromMember || fromLoc) {
		return reply.Value{}, command.Msg("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for " + string(args[0]))
	}
	if flags&geoSearch != 0 && !(byRadius || byBox) {
		return reply.Value{}, command.Msg("ERR exactly one of BYRADIUS and BYBOX can be specified for " + string(args[0]))
	}
	if anyOpt && count == 0 {
		return reply.Value{}, errAnyNeedsCnt
	}
	if z == nil {
		if storeKey != nil {
			if c.DB.Lookup(storeKey, c.Now) != nil {
				c.DB.Delete(storeKey)
				c.Notify(command.ClassGeneric, "del", storeKey)
				c.Dirty++
			}
			return reply.Int(0), nil
		}
		return reply.Array(), nil
	}
	if count != 0 && order == 0 && !anyOpt {
		order = 1
	}
	limit := int64(0)
	if anyOpt {
		limit = count
	}
	points := membersOfAllNeighbors(z, areasByShape(&sh), &sh, limit)
	if len(points) == 0 && storeKey == nil {
		return reply.Array(), nil
	}
	returned := int64(len(points))
	if count != 0 && count < returned {
		returned = count
	}
	if order != 0 {
		cmp := func(a, b *point) int {
			switch {
			case a.dist > b.dist:
				return 1
			case a.dist == b.dist:
				return 0
			}
			return -1
		}
		if order == 2 {
			asc := cmp
			cmp = func(a, b *point) int { return -asc(a, b) }
		}
		if returned == int64(len(points)) {
			// glibc's qsort is a stable merge sort here.
			sortStable(points, cmp)
		} else {
			pqsort(points, cmp, 0, int(returned)-1)
		}
	}
	points = points[:returned]
	if storeKey == nil {
		out := make([]reply.Value, 0, len(points))
		for _, p := range points {
			d := p.dist / sh.conversion
			if !withDist && !withHash && !withCoords {
				out = append(out, reply.BulkString(p.member))
				continue
			}
			item := []reply.Value{reply.BulkString(p.member)}
			if withDist {
				item = append(item, distanceReply(d))
			}
			if withHash {
				item = append(item, reply.Int(int64(p.score)))
			}
			if withCoords {
				item = append(item, reply.Array(human(p.lon), human(p.lat)))
			}
			out = append(out, reply.Array(item...))
		}
		return reply.Array(out...), nil
	}
	if len(points) == 0 {
		if c.DB.Lookup(storeKey, c.Now) != nil {
			c.DB.Delete(storeKey)
			c.Notify(command.ClassGeneric, "del", storeKey)
			c.Dirty++
		}
		return reply.Int(0), nil
	}
	entries := make([]keyspace.ZEntry, 0, len(points))
	seen := make(map[string]bool, len(points))
	for _, p := range points {
		if seen[p.member] {
			continue
		}
		seen[p.member] = true
		s := p.score
		if storeDist {
			s = p.dist / sh.conversion
		}
		entries = append(entries, keyspace.ZEntry{Score: s, Member: p.member})
	}
	sortEntries(entries)
	c.DB.Put(storeKey, nil, keyspace.NewZSetFromSortedCfg(entries, &c.DB.Cfg), 0)
	event := "georadiusstore"
	if flags&geoSearch != 0 {
		event = "geosearchstore"
	}
	c.Notify(command.ClassZSet, event, storeKey)
	c.Dirty += int64(len(points))
	return reply.Int(int64(len(points))), nil
}

func sortEntries(e []keyspace.ZEntry) {
	sort.Slice(e, func(i, j int) bool {
		if e[i].Score != e[j].Score {
			return e[i].Score < e[j].Score
		}
		return e[i].Member < e[j].Member
	})
}

func sortStable(p []point, cmp func(a, b *point) int) {
	sort.SliceStable(p, func(i, j int) bool { return cmp(&p[i], &p[j]) < 0 })
}

// parseDistance is extractDistanceOrReply: radius and unit.
func parseDistance(sh *shape, args [][]byte) error {
	r, ok := cfloat.String2d(args[0])
	if !ok {
		return errRadiusNum
	}
	if r < 0 {
		return errRadiusNeg
	}
	u, err := parseUnit(args[1])
	if err != nil {
		return err
	}
	sh.radius, sh.conversion = r, u
	return nil
}

// parseBox is extractBoxOrReply: width, height and unit.
func parseBox(sh *shape, args [][]byte) error {
	w, ok := cfloat.String2d(args[0])
	if !ok {
		return errWidthNum
	}
	h, ok := cfloat.String2d(args[1])
	if !ok {
		return errHeightNum
	}
	if h < 0 || w < 0 {
		return errBoxNeg
	}
	u, err := parseUnit(args[2])
	if err != nil {
		return err
	}
	sh.width, sh.height, sh.conversion = w, h, u
	return nil
}

// membersOfAllNeighbors collects the points of the 9 search boxes, in
// Redis's order (center, N, S, E, W, NE, NW, SE, SW), skipping zeroed
// boxes and a box equal to the one processed just before it, and stopping
// at limit points when limit is not 0 (ANY).
func membersOfAllNeighbors(z *keyspace.ZSet, a searchArea, sh *shape, limit int64) []point {
	boxes := [9]hashBits{a.hash, a.neighbors.north, a.neighbors.south, a.neighbors.east, a.neighbors.west,
		a.neighbors.northEast, a.neighbors.northWest, a.neighbors.southEast, a.neighbors.southWest}
	var points []point
	last := 0
	for i, b := range boxes {
		if b.zero() {
			continue
		}
		if last != 0 && b == boxes[last] {
			continue
		}
		if len(points) > 0 && limit != 0 && int64(len(points)) >= limit {
			break
		}
		points = membersOfBox(z, b, sh, points, limit)
		last = i
	}
	return points
}

// membersOfBox appends the points whose scores fall in the box (min <=
// score < max) and lie within the shape.
func membersOfBox(z *keyspace.ZSet, b hashBits, sh *shape, points []point, limit int64) []point {
	min := float64(align52(b))
	b.bits++
	max := float64(align52(b))
	i := z.First(func(e keyspace.ZEntry) bool { return e.Score >= min })
	z.Ascend(i, func(e keyspace.ZEntry) bool {
		if !(e.Score < max) {
			return false
		}
		lon, lat := decodeScore(e.Score)
		var d float64
		in := false
		if sh.kind == circular {
			d = distance(sh.lon, sh.lat, lon, lat)
			in = d <= sh.radius*sh.conversion
		} else {
			d, in = inRectangle(sh.width*sh.conversion, sh.height*sh.conversion, sh.lon, sh.lat, lon, lat)
		}
		if in {
			points = append(points, point{lon: lon, lat: lat, dist: d, score: e.Score, member: e.Member})
		}
		return !(len(points) > 0 && limit != 0 && int64(len(points)) >= limit)
	})
	return points
}

// pqsort is Redis's pqsort (NetBSD's qsort modified to sort only what
// lands in [lrange, rrange]), ported index for index so ties come out in
// Redis's order.
func pqsort(a []point, cmp func(x, y *point) int, lrange, rrange int) {
	pqsortRec(a, 0, len(a), cmp, lrange, rrange)
}

func pqsortRec(a []point, lo, n int, cmp func(x, y *point) int, L, R int) {
	swap := func(i, j int) { a[i], a[j] = a[j], a[i] }
	vecswap := func(i, j, k int) {
		for ; k > 0; k-- {
			swap(i, j)
			i++
			j++
		}
	}
	med3 := func(x, y, z int) int {
		if cmp(&a[x], &a[y]) < 0 {
			if cmp(&a[y], &a[z]) < 0 {
				return y
			}
			if cmp(&a[x], &a[z]) < 0 {
				return z
			}
			return x
		}
		if cmp(&a[y], &a[z]) > 0 {
			return y
		}
		if cmp(&a[x], &a[z]) < 0 {
			return x
		}
		return z
	}
	for {
		if n < 7 {
			for pm := lo + 1; pm < lo+n; pm++ {
				for pl := pm; pl > lo && cmp(&a[pl-1], &a[pl]) > 0; pl-- {
					swap(pl, pl-1)
				}
			}
			return
		}
		pm := lo + n/2
		if n > 7 {
			pl := lo
			pn := lo + n - 1
			if n > 40 {
				d := n / 8
				pl = med3(pl, pl+d, pl+2*d)
				pm = med3(pm-d, pm, pm+d)
				pn = med3(pn-2*d, pn-d, pn)
			}
			pm = med3(pl, pm, pn)
		}
		swap(lo, pm)
		pa, pb := lo+1, lo+1
		pc, pd := lo+n-1, lo+n-1
		for {
			for pb <= pc {
				r := cmp(&a[pb], &a[lo])
				if r > 0 {
					break
				}
				if r == 0 {
					swap(pa, pb)
					pa++
				}
				pb++
			}
			for pb <= pc {
				r := cmp(&a[pc], &a[lo])
				if r < 0 {
					break
				}
				if r == 0 {
					swap(pc, pd)
					pd--
				}
				pc--
			}
			if pb > pc {
				break
			}
			swap(pb, pc)
			pb++
			pc--
		}
		pn := lo + n
		r := min(pa-lo, pb-pa)
		vecswap(lo, pb-r, r)
		r = min(pd-pc, pn-pd-1)
		vecswap(pb, pn-r, r)
		if r = pb - pa; r > 1 {
			if !(R < lo || L >= lo+r) {
				pqsortRec(a, lo, r, cmp, L, R)
			}
		}
		if r = pd - pc; r > 1 {
			lo, n = pn-r, r
			if !(R < lo || L >= lo+n) {
				continue
			}
		}
		return
	}
}

// storeKeys returns GEORADIUS's key positions: the source and the last
// STORE/STOREDIST key, as Redis's georadiusGetKeys.
func storeKeys(start int) func(args [][]byte) []int {
	// As Redis's key specs: the argument after the first STORE, then the
	// one after the first STOREDIST (both, although the command stores
	// into the last one given; cluster routing checks both).
	return func(args [][]byte) []int {
		keys := []int{1}
		for _, kw := range []string{"store", "storedist"} {
			for i := start; i+1 < len(args); i++ {
				if command.EqualFold(args[i], kw) {
					keys = append(keys, i+1)
					break
				}
			}
		}
		return keys
	}
}
