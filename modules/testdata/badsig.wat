;; badsig.wat: imports cairn.call with the wrong signature; refused at load.
(module
  (import "cairn" "call" (func (param i32) (result i32)))
  (func (export "fcall:f")))
