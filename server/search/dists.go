package search

import "sort"

// NamedDist is one distance a query yields, under its name.
type NamedDist struct {
	Name string
	D    float32
}

// Dists are the distances a query yields for one document (KNN ... AS
// name, $YIELD_DISTANCE_AS), sorted by name. A query yields one or two,
// so a sorted slice is smaller and faster than a map, and its order is
// the order replies list them in.
type Dists []NamedDist

// Get returns the distance called name.
func (ds Dists) Get(name string) (float32, bool) {
	for _, d := range ds {
		if d.Name == name {
			return d.D, true
		}
	}
	return 0, false
}

// Set records the distance called name, replacing one of the same name.
func (ds *Dists) Set(name string, d float32) {
	i := sort.Search(len(*ds), func(i int) bool { return (*ds)[i].Name >= name })
	if i < len(*ds) && (*ds)[i].Name == name {
		(*ds)[i].D = d
		return
	}
	*ds = append(*ds, NamedDist{})
	copy((*ds)[i+1:], (*ds)[i:])
	(*ds)[i] = NamedDist{name, d}
}
