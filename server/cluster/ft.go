package cluster

import (
	"errors"
	"slices"
	"strings"
)

// The FT index definitions of a cluster. Every shard indexes its own keys
// with the same indexes; the directory is the record of which indexes and
// aliases exist (FTIndexes, FTAliases), so a shard that missed a change
// (no leader at the time) or did not exist yet is brought up to it by its
// leader (control/ft.go). The rules and error texts are a shard's
// (search.Registry), so a change the directory accepts is one every
// shard accepts.

// Errors with RediSearch's texts (as search.Registry's).
var (
	errFTExists       = errors.New("Index already exists")
	errFTUnknownIndex = errors.New("Unknown Index name")
	errFTAliasExists  = errors.New("Alias already exists")
	errFTNoAlias      = errors.New("Alias does not exist")
	errFTAliasTarget  = errors.New("Unknown index name (or name is an alias itself)")
)

// ftApply records an FT write (the command's arguments, name first).
// FT.CREATE's arguments are validated by the node before it proposes.
func (t *Topology) ftApply(args [][]byte) error {
	if len(args) < 2 {
		return errors.New("ft op needs a command and an index")
	}
	name := string(args[1])
	idx := make(map[string][][]byte, len(t.FTIndexes)+1)
	for k, v := range t.FTIndexes {
		idx[k] = v
	}
	al := make(map[string]string, len(t.FTAliases)+1)
	for k, v := range t.FTAliases {
		al[k] = v
	}
	switch strings.ToLower(string(args[0])) {
	case "ft.create":
		if _, ok := idx[name]; ok {
			return errFTExists
		}
		if _, ok := al[name]; ok {
			return errFTExists
		}
		def := make([][]byte, 0, len(args)-1)
		for _, a := range args[1:] {
			def = append(def, slices.Clone(a))
		}
		idx[name] = def
	case "ft.dropindex", "ft.drop":
		if _, ok := idx[name]; !ok {
			n, ok := al[name]
			if !ok {
				return errFTUnknownIndex
			}
			name = n
		}
		delete(idx, name)
		for a, n := range al {
			if n == name {
				delete(al, a)
			}
		}
	case "ft.aliasadd", "ft.aliasupdate":
		if len(args) != 3 {
			return errors.New("ft alias op needs an alias and an index")
		}
		target := string(args[2])
		if _, ok := idx[target]; !ok {
			return errFTAliasTarget
		}
		if _, ok := al[name]; ok && strings.EqualFold(string(args[0]), "ft.aliasadd") {
			return errFTAliasExists
		}
		if _, ok := idx[name]; ok {
			return errFTAliasExists
		}
		al[name] = target
	case "ft.aliasdel":
		if _, ok := al[name]; !ok {
			return errFTNoAlias
		}
		delete(al, name)
	default:
		return errors.New("unknown ft op " + string(args[0]))
	}
	t.FTIndexes, t.FTAliases = idx, al
	t.FTEpoch++
	return nil
}
