package server

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/bits"
	"github.com/cairndb/cairn/server/command/ft"
	"github.com/cairndb/cairn/server/command/function"
	"github.com/cairndb/cairn/server/command/geo"
	"github.com/cairndb/cairn/server/command/hashes"
	"github.com/cairndb/cairn/server/command/hll"
	"github.com/cairndb/cairn/server/command/keys"
	"github.com/cairndb/cairn/server/command/lists"
	"github.com/cairndb/cairn/server/command/scripting"
	"github.com/cairndb/cairn/server/command/sets"
	"github.com/cairndb/cairn/server/command/sorts"
	"github.com/cairndb/cairn/server/command/streams"
	"github.com/cairndb/cairn/server/command/strs"
	"github.com/cairndb/cairn/server/command/vsets"
	"github.com/cairndb/cairn/server/command/zsets"
	"github.com/cairndb/cairn/server/session"
)

// Commands returns the table of every command Cairn serves, plus extra
// specs (tests add commands this way).
func Commands(extra ...[]*command.Spec) *command.Table {
	return command.NewTable(append([][]*command.Spec{
		session.Specs,
		strs.Specs,
		keys.Specs,
		hashes.Specs,
		bits.Specs,
		hll.Specs,
		lists.Specs,
		sets.Specs,
		zsets.Specs,
		geo.Specs,
		streams.Specs,
		sorts.Specs,
		ft.Specs,
		vsets.Specs,
		function.Specs,
		scripting.Specs,
	}, extra...)...)
}
