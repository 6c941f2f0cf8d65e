package sorts

// pqsort is Redis's pqsort (src/pqsort.c: NetBSD's qsort, Bentley and
// McIlroy's "Engineering a Sort Function", made to skip partitions that
// do not intersect the range lrange..rrange). SORT uses it with BY and a
// LIMIT that selects less than everything; it is not stable, so the
// order of equal elements matters: this port makes the same comparisons
// and swaps in the same order, so ties come out as in Redis for the same
// input order. (Redis 7.0's pqsort.c predates the "switch to insertion
// sort when a partition made no swap" shortcut of later NetBSD and Redis
// versions; this port follows 7.0.)
func pqsort(v []sortObj, cmp func(a, b *sortObj) int, lrange, rrange int) {
	s := partialSorter{v: v, cmp: cmp, lrange: lrange, rrange: rrange}
	s.sort(0, len(v))
}

type partialSorter struct {
	v              []sortObj
	cmp            func(a, b *sortObj) int
	lrange, rrange int
}

func (s *partialSorter) c(i, j int) int { return s.cmp(&s.v[i], &s.v[j]) }
func (s *partialSorter) swap(i, j int)  { s.v[i], s.v[j] = s.v[j], s.v[i] }

func (s *partialSorter) vecswap(i, j, n int) {
	for k := 0; k < n; k++ {
		s.swap(i+k, j+k)
	}
}

func (s *partialSorter) med3(a, b, c int) int {
	if s.c(a, b) < 0 {
		if s.c(b, c) < 0 {
			return b
		}
		if s.c(a, c) < 0 {
			return c
		}
		return a
	}
	if s.c(b, c) > 0 {
		return b
	}
	if s.c(a, c) < 0 {
		return a
	}
	return c
}

func (s *partialSorter) insertion(a, n int) {
	for pm := a + 1; pm < a+n; pm++ {
		for pl := pm; pl > a && s.c(pl-1, pl) > 0; pl-- {
			s.swap(pl, pl-1)
		}
	}
}

// outside tells whether the partition [lo, lo+n) misses the range (the
// C code's pointer test, in element units).
func (s *partialSorter) outside(lo, n int) bool {
	return (s.lrange < lo && s.rrange < lo) || (s.lrange >= lo+n && s.rrange >= lo+n)
}

func (s *partialSorter) sort(a, n int) {
	for {
		if n < 7 {
			s.insertion(a, n)
			return
		}
		pm := a + n/2
		if n > 7 {
			pl, pn := a, a+n-1
			if n > 40 {
				d := n / 8
				pl = s.med3(pl, pl+d, pl+2*d)
				pm = s.med3(pm-d, pm, pm+d)
				pn = s.med3(pn-2*d, pn-d, pn)
			}
			pm = s.med3(pl, pm, pn)
		}
		s.swap(a, pm)
		pa, pb := a+1, a+1
		pc, pd := a+n-1, a+n-1
		for {
			for pb <= pc {
				r := s.c(pb, a)
				if r > 0 {
					break
				}
				if r == 0 {
					s.swap(pa, pb)
					pa++
				}
				pb++
			}
			for pb <= pc {
				r := s.c(pc, a)
				if r < 0 {
					break
				}
				if r == 0 {
					s.swap(pc, pd)
					pd--
				}
				pc--
			}
			if pb > pc {
				break
			}
			s.swap(pb, pc)
			pb++
			pc--
		}
		pn := a + n
		r := min(pa-a, pb-pa)
		s.vecswap(a, pb-r, r)
		r = min(pd-pc, pn-pd-1)
		s.vecswap(pb, pn-r, r)
		if r = pb - pa; r > 1 && !s.outside(a, r) {
			s.sort(a, r)
		}
		if r = pd - pc; r > 1 {
			a, n = pn-r, r
			if !s.outside(a, n) {
				continue
			}
		}
		return
	}
}
