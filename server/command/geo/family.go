// Package geo implements the Redis 7.0 geospatial commands on top of
// sorted sets: GEOADD, GEODIST, GEOHASH, GEOPOS, GEOSEARCH, GEOSEARCHSTORE,
// GEORADIUS, GEORADIUSBYMEMBER, GEORADIUS_RO and GEORADIUSBYMEMBER_RO.
//
// A position is stored as a member's score: the 52-bit interleaved
// geohash of its longitude and latitude (latitudes limited to +/-85.05112878
// as in EPSG:3857). Searches port Redis's geohash math exactly (the 9-box
// neighbor search, the haversine distance with Redis's earth radius, and
// its sort routines), so results and their order are Redis's.
package geo

import "github.com/cairndb/cairn/server/command"

// Specs is the geo family's command table.
var Specs = []*command.Spec{
	{
		Name: "geoadd", Arity: -5, Flags: command.Write | command.DenyOOM,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "geo", "slow"}, Group: "geo",
		Summary: "Add one or more geospatial items in the geospatial index represented using a sorted set", Since: "3.2.0",
		Complexity: "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
		Run:        geoadd,
	},
	{
		Name: "geodist", Arity: -4, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "geo", "slow"}, Group: "geo",
		Summary: "Returns the distance between two members of a geospatial index", Since: "3.2.0",
		Complexity: "O(log(N))",
		Run:        geodist,
	},
	{
		Name: "geohash", Arity: -2, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "geo", "slow"}, Group: "geo",
		Summary: "Returns members of a geospatial index as standard geohash strings", Since: "3.2.0",
		Complexity: "O(log(N)) for each member requested, where N is the number of elements in the sorted set.",
		Run:        geohash,
	},
	{
		Name: "geopos", Arity: -2, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "geo", "slow"}, Group: "geo",
		Summary: "Returns longitude and latitude of members of a geospatial index", Since: "3.2.0",
		Complexity: "O(N) where N is the number of members requested.",
		Run:        geopos,
	},
	{
		Name: "geosearch", Arity: -7, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "geo", "slow"}, Group: "geo",
		Summary: "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.", Since: "6.2.0",
		Complexity: "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape",
		Run:        searchCmd(geoSearch),
	},
	{
		Name: "geosearchstore", Arity: -8, Flags: command.Write | command.DenyOOM,
		FirstKey: 1, LastKey: 2, Step: 1, ACL: []string{"write", "geo", "slow"}, Group: "geo",
		Summary: "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.", Since: "6.2.0",
		Complexity: "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape",
		Run:        searchCmd(geoSearch | geoSearchStore),
	},
	{
		Name: "georadius", Arity: -6, Flags: command.Write | command.DenyOOM,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "geo", "slow"}, Group: "geo",
		Summary: "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point", Since: "3.2.0",
		Complexity: "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.",
		Run:        searchCmd(radiusCoords),
		KeysFunc:   storeKeys(6),
	},
	{
		Name: "georadiusbymember", Arity: -5, Flags: command.Write | command.DenyOOM,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "geo", "slow"}, Group: "geo",
		Summary: "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member", Since: "3.2.0",
		Complexity: "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.",
		Run:        searchCmd(radiusMember),
		KeysFunc:   storeKeys(5),
	},
	{
		Name: "georadius_ro", Arity: -6, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "geo", "slow"}, Group: "geo",
		Summary: "A read-only variant for GEORADIUS", Since: "3.2.10",
		Complexity: "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.",
		Run:        searchCmd(radiusCoords | radiusNoStore),
	},
	{
		Name: "georadiusbymember_ro", Arity: -5, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "geo", "slow"}, Group: "geo",
		Summary: "A read-only variant for GEORADIUSBYMEMBER", Since: "3.2.10",
		Complexity: "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.",
		Run:        searchCmd(radiusMember | radiusNoStore),
	},
}
