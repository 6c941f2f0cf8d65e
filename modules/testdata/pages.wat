;; pages.wat: a guest whose functions each write a different 4 KiB page
;; of its two Wasm pages (or only read one), and reply with the sum of a
;; byte of every such page, which is 0 when each call starts from the
;; snapshot. See TestResetNewPages.
(module
  (import "cairn" "result" (func $result (param i32 i32)))
  (memory (export "memory") 2)
  ;; 0: ":0\r\n", the digit set by $reply
  (data (i32.const 0) ":0\r\n")

  ;; $sum adds the bytes at offset 100 of OS pages 3, 9, 20, 25 and 31.
  (func $sum (result i32)
    (i32.add
      (i32.add
        (i32.add (i32.load8_u (i32.const 0x3064)) (i32.load8_u (i32.const 0x9064)))
        (i32.add (i32.load8_u (i32.const 0x14064)) (i32.load8_u (i32.const 0x19064))))
      (i32.load8_u (i32.const 0x1f064))))

  ;; $reply replies ":<sum>\r\n" (a digit while the sum is below 10).
  (func $reply (param $sum i32)
    (i32.store8 (i32.const 1) (i32.add (i32.const 48) (local.get $sum)))
    (call $result (i32.const 0) (i32.const 4)))

  ;; $write replies with the sum, then writes 1 at offset 100 of the page
  ;; at base and fills its next 2 KiB.
  (func $write (param $base i32)
    (call $reply (call $sum))
    (i32.store8 (i32.add (local.get $base) (i32.const 100)) (i32.const 1))
    (memory.fill (i32.add (local.get $base) (i32.const 1024)) (i32.const 7) (i32.const 2048)))

  (func (export "fcall:w3:no-writes") (call $write (i32.const 0x3000)))
  (func (export "fcall:w9:no-writes") (call $write (i32.const 0x9000)))
  (func (export "fcall:w20:no-writes") (call $write (i32.const 0x14000)))
  (func (export "fcall:w31:no-writes") (call $write (i32.const 0x1f000)))
  ;; r25 only reads (page 25 is read by $sum).
  (func (export "fcall:r25:no-writes") (call $reply (call $sum))))
