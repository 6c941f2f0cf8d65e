package server

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/resp"
)

// Commands returns the table of every command Cairn serves.
func Commands() *command.Table {
	return command.NewTable(
		resp.Specs,
	)
}
