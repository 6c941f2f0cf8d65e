package server

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/cairndb/cairn/modules"
	"github.com/cairndb/cairn/modules/lua"
)

// preloadLua starts compiling the process's Lua interpreter in the
// background (Config.PreloadLua). With diskCache, its compiled code is
// cached under dir/wasm-cache (the directory of the node's own Wasm cache;
// wazero writes each entry to a temporary file and renames it, so two
// caches may share it), so a restart loads it in milliseconds instead of
// compiling it again. The interpreter is process-wide: the first node of
// the process to start decides the cache; later calls change nothing.
//
// Only the time of the first EVAL changes: the interpreter's behaviour does
// not depend on when or from where its code was compiled.
func (n *Node) preloadLua(dir string, diskCache bool) {
	if _, err := lua.Module(); err != nil {
		return // a binary built without it answers EVAL with ErrNotBuilt
	}
	if diskCache {
		if c, err := modules.NewCompilationCacheWithDir(filepath.Join(dir, "wasm-cache")); err != nil {
			n.log.Warn("Lua interpreter: no compilation cache; it is compiled at every start", "err", err)
		} else if !modules.SetInternalCache(c) {
			_ = c.Close(context.Background()) // the interpreter's runtime already exists
		}
	}
	log := n.log
	lua.Preload(func(d time.Duration, err error) {
		if err != nil && !errors.Is(err, lua.ErrNotBuilt) {
			log.Warn("Lua interpreter: background load failed; the first EVAL loads it", "err", err)
			return
		}
		log.Debug("Lua interpreter loaded", "took", d)
	})
}
