;; sock_accept.wat: imports WASI sock_accept; refused at load.
(module
  (import "wasi_snapshot_preview1" "sock_accept" (func (param i32 i32 i32) (result i32)))
  (func (export "fcall:f")))
