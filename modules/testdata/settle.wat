;; settle.wat: a module exporting cairn.settle (ABI.md), which the host
;; runs once after _initialize and before the snapshot. See TestSettle.
(module
  (import "cairn" "result" (func $result (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) ":0\r\n")
  ;; _initialize sets the digit to 1; settle then increments it to 2.
  (func (export "_initialize") (i32.store8 (i32.const 1) (i32.const 49)))
  (func (export "cairn.settle")
    (i32.store8 (i32.const 1) (i32.add (i32.load8_u (i32.const 1)) (i32.const 1))))
  ;; get replies with the digit, then overwrites it (the reset undoes that).
  (func (export "fcall:get:no-writes")
    (call $result (i32.const 0) (i32.const 4))
    (i32.store8 (i32.const 1) (i32.const 57))))
