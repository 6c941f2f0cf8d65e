;; path_open.wat: imports WASI path_open; refused at load.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (func (export "fcall:f")))
