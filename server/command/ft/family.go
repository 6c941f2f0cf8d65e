// Package ft implements the RediSearch FT.* commands over HASH documents:
// FT.CREATE, FT.DROPINDEX, FT.ALIASADD/ALIASDEL/ALIASUPDATE (writes,
// applied in log order on every replica) and FT.SEARCH, FT.AGGREGATE,
// FT.INFO, FT._LIST, FT.EXPLAIN (reads; AggRowsSpec is FT.AGGREGATE's
// query stage for the cluster coordinator, aggregate.go). The index registry is search.Registry (Ctx.Search);
// the query grammar is vector/query.
package ft

import (
	"errors"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/search"
)

// Specs is the FT family's command table.
var Specs = []*command.Spec{
	{
		Name: "ft.create", Arity: -2, Flags: command.Write | command.DenyOOM,
		ACL: []string{"write", "search", "slow"}, Group: "search",
		Summary: "Creates an index with the given spec", Since: "1.0.0", Complexity: "O(K) at creation where K is the number of fields, O(N) if scanning the keyspace is triggered, where N is the number of keys in the keyspace",
		Run: ftCreate,
	},
	{
		Name: "ft.dropindex", Arity: -2, Flags: command.Write,
		ACL: []string{"write", "search", "slow"}, Group: "search",
		Summary: "Deletes the index", Since: "2.0.0", Complexity: "O(1) or O(N) if documents are deleted, where N is the number of keys in the keyspace",
		Run: ftDropIndex,
	},
	{
		Name: "ft.drop", Arity: -2, Flags: command.Write,
		ACL: []string{"write", "search", "slow"}, Group: "search",
		Summary: "Deletes the index and its documents (deprecated: FT.DROPINDEX)", Since: "1.0.0", Complexity: "O(N) where N is the number of documents",
		Run: ftDrop,
	},
	{
		// Internal: the leader proposes it while an FT.CREATE backfill runs.
		Name: "ft._backfill", Arity: 2, Flags: command.Write,
		ACL: []string{"write", "search", "slow"}, Group: "search",
		Summary: "Indexes the next batch of an index's initial scan (internal)", Since: "1.0.0", Complexity: "O(N) for a batch of N keys",
		Run: ftBackfill,
	},
	{
		Name: "ft.aliasadd", Arity: 3, Flags: command.Write,
		ACL: []string{"write", "search", "fast"}, Group: "search",
		Summary: "Adds an alias to the index", Since: "1.0.0", Complexity: "O(1)",
		Run: func(c *command.Ctx, args [][]byte) (reply.Value, error) { return alias(c, args, false) },
	},
	{
		Name: "ft.aliasupdate", Arity: 3, Flags: command.Write,
		ACL: []string{"write", "search", "fast"}, Group: "search",
		Summary: "Adds or updates an alias to the index", Since: "1.0.0", Complexity: "O(1)",
		Run: func(c *command.Ctx, args [][]byte) (reply.Value, error) { return alias(c, args, true) },
	},
	{
		Name: "ft.aliasdel", Arity: 2, Flags: command.Write,
		ACL: []string{"write", "search", "fast"}, Group: "search",
		Summary: "Deletes an alias from the index", Since: "1.0.0", Complexity: "O(1)",
		Run: aliasDel,
	},
	{
		Name: "ft.search", Arity: -3, Flags: command.ReadOnly,
		ACL: []string{"read", "search", "slow"}, Group: "search",
		Summary: "Searches the index with a textual query, returning either documents or just ids", Since: "1.0.0", Complexity: "O(N)",
		Run: ftSearch,
	},
	{
		Name: "ft.aggregate", Arity: -3, Flags: command.ReadOnly,
		ACL: []string{"read", "search", "slow"}, Group: "search",
		Summary: "Run a search query on an index and perform aggregate transformations on the results", Since: "1.1.0", Complexity: "O(1)",
		Run: ftAggregate,
	},
	{
		Name: "ft.info", Arity: 2, Flags: command.ReadOnly,
		ACL: []string{"read", "search", "slow"}, Group: "search",
		Summary: "Returns information and statistics on the index", Since: "1.0.0", Complexity: "O(1)",
		Run: ftInfo,
	},
	{
		Name: "ft._list", Arity: 1, Flags: command.ReadOnly,
		ACL: []string{"read", "search", "slow"}, Group: "search",
		Summary: "Returns a list of all existing indexes", Since: "2.0.0", Complexity: "O(1)",
		Run: ftList,
	},
	{
		Name: "ft.explain", Arity: -3, Flags: command.ReadOnly,
		ACL: []string{"read", "search", "slow"}, Group: "search",
		Summary: "Returns the execution plan for a complex query", Since: "1.0.0", Complexity: "O(1)",
		Run: ftExplain,
	},
}

// errNoSearch is returned where the context has no registry.
var errNoSearch = errors.New("ERR search is not available here")

func registry(c *command.Ctx) (*search.Registry, error) {
	if c.Search == nil {
		return nil, errNoSearch
	}
	return c.Search, nil
}

// Format is the log-entry format (entry.Version 3) that introduced the
// family. Every FT command carries it, reads too: inside MULTI they reach
// the log, and an older binary does not know them.
const Format = 3

// CreateFormat is FT.CREATE's log-entry format (entry.Version 10): TEXT
// WEIGHT and STOPWORDS became part of the definition (a format-9 binary
// skips both and accepts a WEIGHT this one refuses, so it would build
// another index from the same entry). A leader refuses FT.CREATE while
// some node of the cluster is older.
const CreateFormat = 10

func init() {
	for _, s := range Specs {
		s.Format = Format
		if s.Name == "ft.create" {
			s.Format = CreateFormat
		}
		for _, sub := range s.Sub {
			sub.Format = Format
		}
	}
}
