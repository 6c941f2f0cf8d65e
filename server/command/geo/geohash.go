package geo

import "math"

// This file ports Redis's geohash.c and geohash_helper.c (themselves from
// the ardb project) operation for operation, so positions, neighbor boxes,
// distances and therefore results and their order are Redis's.

const (
	stepMax = 26 // 52-bit scores
	latMin  = -85.05112878
	latMax  = 85.05112878
	lonMin  = -180.0
	lonMax  = 180.0

	earthRadius = 6372797.560856
	mercatorMax = 20037726.37
)

// dR is M_PI / 180.0 computed in double arithmetic, as C does (a Go
// constant expression would be rounded once from the exact quotient).
var dR = func() float64 {
	pi := math.Pi
	return pi / 180.0
}()

func degRad(ang float64) float64 { return ang * dR }
func radDeg(ang float64) float64 { return ang / dR }

type hashBits struct {
	bits uint64
	step uint8
}

func (h hashBits) zero() bool { return h.bits == 0 && h.step == 0 }

type hashRange struct{ min, max float64 }

type hashArea struct {
	hash     hashBits
	lon, lat hashRange
}

type neighbors struct {
	north, east, west, south                   hashBits
	northEast, southEast, northWest, southWest hashBits
}

func interleave64(xlo, ylo uint32) uint64 {
	b := [...]uint64{0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF}
	s := [...]uint{1, 2, 4, 8, 16}
	x, y := uint64(xlo), uint64(ylo)
	for i := 4; i >= 0; i-- {
		x = (x | x<<s[i]) & b[i]
		y = (y | y<<s[i]) & b[i]
	}
	return x | y<<1
}

func deinterleave64(interleaved uint64) uint64 {
	b := [...]uint64{0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF, 0x00000000FFFFFFFF}
	s := [...]uint{0, 1, 2, 4, 8, 16}
	x := interleaved
	y := interleaved >> 1
	for i := 0; i < 6; i++ {
		x = (x | x>>s[i]) & b[i]
		y = (y | y>>s[i]) & b[i]
	}
	return x | y<<32
}

var (
	wgsLon = hashRange{lonMin, lonMax}
	wgsLat = hashRange{latMin, latMax}
)

// encode is geohashEncode.
func encode(lonR, latR hashRange, lon, lat float64, step uint8) (hashBits, bool) {
	if step > 32 || step == 0 || latR.max-latR.min == 0 || lonR.max-lonR.min == 0 {
		return hashBits{}, false
	}
	if lon > lonMax || lon < lonMin || lat > latMax || lat < latMin {
		return hashBits{}, false
	}
	if lat < latR.min || lat > latR.max || lon < lonR.min || lon > lonR.max {
		return hashBits{step: step}, false
	}
	latOff := (lat - latR.min) / (latR.max - latR.min)
	lonOff := (lon - lonR.min) / (lonR.max - lonR.min)
	latOff *= float64(uint64(1) << step)
	lonOff *= float64(uint64(1) << step)
	return hashBits{bits: interleave64(uint32(latOff), uint32(lonOff)), step: step}, true
}

// decode is geohashDecode.
func decode(lonR, latR hashRange, h hashBits) (hashArea, bool) {
	if h.zero() || latR.max-latR.min == 0 || lonR.max-lonR.min == 0 {
		return hashArea{}, false
	}
	a := hashArea{hash: h}
	sep := deinterleave64(h.bits)
	latScale := latR.max - latR.min
	lonScale := lonR.max - lonR.min
	ilato := uint32(sep)
	ilono := uint32(sep >> 32)
	div := float64(uint64(1) << h.step)
	// Explicit conversions round each product, as C does (no fused
	// multiply-add).
	a.lat.min = latR.min + float64((float64(ilato)*1.0/div)*latScale)
	a.lat.max = latR.min + float64((float64(uint64(ilato)+1)*1.0/div)*latScale)
	a.lon.min = lonR.min + float64((float64(ilono)*1.0/div)*lonScale)
	a.lon.max = lonR.min + float64((float64(uint64(ilono)+1)*1.0/div)*lonScale)
	return a, true
}

// areaCenter is geohashDecodeAreaToLongLat.
func areaCenter(a hashArea) (lon, lat float64) {
	lon = (a.lon.min + a.lon.max) / 2
	lon = min(max(lon, lonMin), lonMax)
	lat = (a.lat.min + a.lat.max) / 2
	lat = min(max(lat, latMin), latMax)
	return lon, lat
}

// decodeScore decodes a sorted-set score (52 interleaved bits) to a
// position, as Redis's decodeGeohash.
func decodeScore(score float64) (lon, lat float64) {
	a, _ := decode(wgsLon, wgsLat, hashBits{bits: uint64(score), step: stepMax})
	return areaCenter(a)
}

// encodeScore turns a position into its sorted-set score.
func encodeScore(lon, lat float64) uint64 {
	h, _ := encode(wgsLon, wgsLat, lon, lat, stepMax)
	return align52(h)
}

func align52(h hashBits) uint64 { return h.bits << (52 - uint(h.step)*2) }

func moveX(h *hashBits, d int) {
	if d == 0 {
		return
	}
	x := h.bits & 0xaaaaaaaaaaaaaaaa
	y := h.bits & 0x5555555555555555
	zz := uint64(0x5555555555555555) >> (64 - uint(h.step)*2)
	if d > 0 {
		x = x + (zz + 1)
	} else {
		x = x | zz
		x = x - (zz + 1)
	}
	x &= 0xaaaaaaaaaaaaaaaa >> (64 - uint(h.step)*2)
	h.bits = x | y
}

func moveY(h *hashBits, d int) {
	if d == 0 {
		return
	}
	x := h.bits & 0xaaaaaaaaaaaaaaaa
	y := h.bits & 0x5555555555555555
	zz := uint64(0xaaaaaaaaaaaaaaaa) >> (64 - uint(h.step)*2)
	if d > 0 {
		y = y + (zz + 1)
	} else {
		y = y | zz
		y = y - (zz + 1)
	}
	y &= 0x5555555555555555 >> (64 - uint(h.step)*2)
	h.bits = x | y
}

func neighborsOf(h hashBits) neighbors {
	n := neighbors{h, h, h, h, h, h, h, h}
	moveX(&n.east, 1)
	moveX(&n.west, -1)
	moveY(&n.south, -1)
	moveY(&n.north, 1)
	moveX(&n.northWest, -1)
	moveY(&n.northWest, 1)
	moveX(&n.northEast, 1)
	moveY(&n.northEast, 1)
	moveX(&n.southEast, 1)
	moveY(&n.southEast, -1)
	moveX(&n.southWest, -1)
	moveY(&n.southWest, -1)
	return n
}

// estimateSteps is geohashEstimateStepsByRadius.
func estimateSteps(rangeMeters, lat float64) uint8 {
	if rangeMeters == 0 {
		return 26
	}
	step := 1
	for rangeMeters < mercatorMax {
		rangeMeters *= 2
		step++
	}
	step -= 2
	if lat > 66 || lat < -66 {
		step--
		if lat > 80 || lat < -80 {
			step--
		}
	}
	step = min(max(step, 1), 26)
	return uint8(step)
}

type shapeType int

const (
	circular shapeType = iota
	rectangle
)

// shape is Redis's GeoShape.
type shape struct {
	kind          shapeType
	lon, lat      float64
	conversion    float64
	radius        float64
	width, height float64
	bounds        [4]float64
}

// boundingBox is geohashBoundingBox.
func (s *shape) boundingBox() {
	var height, width float64
	if s.kind == circular {
		height = s.conversion * s.radius
		width = s.conversion * s.radius
	} else {
		height = s.conversion * (s.height / 2)
		width = s.conversion * (s.width / 2)
	}
	latDelta := radDeg(height / earthRadius)
	lonDeltaTop := radDeg(width / earthRadius / crCos(degRad(s.lat+latDelta)))
	lonDeltaBottom := radDeg(width / earthRadius / crCos(degRad(s.lat-latDelta)))
	southern := s.lat < 0
	if southern {
		s.bounds[0] = s.lon - lonDeltaBottom
		s.bounds[2] = s.lon + lonDeltaBottom
	} else {
		s.bounds[0] = s.lon - lonDeltaTop
		s.bounds[2] = s.lon + lonDeltaTop
	}
	s.bounds[1] = s.lat - latDelta
	s.bounds[3] = s.lat + latDelta
}

// searchArea is Redis's GeoHashRadius.
type searchArea struct {
	hash      hashBits
	neighbors neighbors
	area      hashArea
}

// areasByShape is geohashCalculateAreasByShapeWGS84: the center box and
// its 8 neighbors (some zeroed when useless) covering the shape.
func areasByShape(s *shape) searchArea {
	s.boundingBox()
	minLon, minLat, maxLon, maxLat := s.bounds[0], s.bounds[1], s.bounds[2], s.bounds[3]
	var radiusMeters float64
	if s.kind == circular {
		radiusMeters = s.radius
	} else {
		radiusMeters = math.Sqrt(float64((s.width/2)*(s.width/2)) + float64((s.height/2)*(s.height/2)))
	}
	radiusMeters *= s.conversion
	steps := estimateSteps(radiusMeters, s.lat)
	hash, _ := encode(wgsLon, wgsLat, s.lon, s.lat, steps)
	nb := neighborsOf(hash)
	area, _ := decode(wgsLon, wgsLat, hash)

	decrease := false
	north, _ := decode(wgsLon, wgsLat, nb.north)
	south, _ := decode(wgsLon, wgsLat, nb.south)
	east, _ := decode(wgsLon, wgsLat, nb.east)
	west, _ := decode(wgsLon, wgsLat, nb.west)
	if north.lat.max < maxLat {
		decrease = true
	}
	if south.lat.min > minLat {
		decrease = true
	}
	if east.lon.max < maxLon {
		decrease = true
	}
	if west.lon.min > minLon {
		decrease = true
	}
	if steps > 1 && decrease {
		steps--
		hash, _ = encode(wgsLon, wgsLat, s.lon, s.lat, steps)
		nb = neighborsOf(hash)
		area, _ = decode(wgsLon, wgsLat, hash)
	}
	if steps >= 2 {
		if area.lat.min < minLat {
			nb.south, nb.southWest, nb.southEast = hashBits{}, hashBits{}, hashBits{}
		}
		if area.lat.max > maxLat {
			nb.north, nb.northEast, nb.northWest = hashBits{}, hashBits{}, hashBits{}
		}
		if area.lon.min < minLon {
			nb.west, nb.southWest, nb.northWest = hashBits{}, hashBits{}, hashBits{}
		}
		if area.lon.max > maxLon {
			nb.east, nb.southEast, nb.northEast = hashBits{}, hashBits{}, hashBits{}
		}
	}
	return searchArea{hash: hash, neighbors: nb, area: area}
}

// distance is geohashGetDistance: the haversine great-circle distance in
// meters.
func distance(lon1d, lat1d, lon2d, lat2d float64) float64 {
	lat1r := degRad(lat1d)
	lon1r := degRad(lon1d)
	lat2r := degRad(lat2d)
	lon2r := degRad(lon2d)
	u := crSin((lat2r - lat1r) / 2)
	v := crSin((lon2r - lon1r) / 2)
	a := float64(u*u) + float64(crCos(lat1r)*crCos(lat2r)*v*v)
	return 2.0 * earthRadius * crAsin(math.Sqrt(a))
}

// inRectangle is geohashGetDistanceIfInRectangle.
func inRectangle(widthM, heightM, x1, y1, x2, y2 float64) (float64, bool) {
	lonDistance := distance(x2, y2, x1, y2)
	latDistance := distance(x2, y2, x2, y1)
	if lonDistance > widthM/2 || latDistance > heightM/2 {
		return 0, false
	}
	return distance(x1, y1, x2, y2), true
}

// geohashString returns the 11-character standard geohash of a score, as
// GEOHASH replies: the position re-encoded over latitudes -90..90.
func geohashString(score float64) string {
	const alphabet = "0123456789bcdefghjkmnpqrstuvwxyz"
	lon, lat := decodeScore(score)
	h, _ := encode(hashRange{-180, 180}, hashRange{-90, 90}, lon, lat, 26)
	var buf [11]byte
	for i := 0; i < 11; i++ {
		idx := uint64(0)
		if i < 10 {
			idx = (h.bits >> (52 - uint((i+1)*5))) & 0x1f
		}
		buf[i] = alphabet[idx]
	}
	return string(buf[:])
}
