;; track.wat: a guest that writes guest memory in every way an instruction
;; or a host call can, at an address the caller chooses. See
;; TestWriteTrackerResets: after each call the instance's memory must equal
;; a fresh instance's.
;;
;; The argument is 16 bytes: address, value, kind, length (little-endian
;; u32s). The input is read to address 0 (input layout: numkeys, count,
;; then the argument's length at 8 and its bytes at 12).
(module
  (import "cairn" "input_read" (func $input_read (param i32 i32) (result i32)))
  (import "cairn" "result" (func $result (param i32 i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (memory (export "memory") 4)
  (data (i32.const 64) "+OK\r\n")
  ;; A pattern in pages 1-3, so that a missed reset shows.
  (data (i32.const 4090) "abcdefghijklmnopqrstuvwxyz")
  (data (i32.const 65530) "ABCDEFGHIJKLMNOP")
  (data (i32.const 200000) "0123456789")
  (data $passive "passive segment bytes, sixty-four of them, to copy with init...")

  (func (export "fcall:w:no-writes")
    (local $a i32) (local $v i32) (local $k i32) (local $n i32) (local $i i32)
    (drop (call $input_read (i32.const 0) (i32.const 64)))
    (local.set $a (i32.load (i32.const 12)))
    (local.set $v (i32.load (i32.const 16)))
    (local.set $k (i32.load (i32.const 20)))
    (local.set $n (i32.load (i32.const 24)))
    (block $done
      (if (i32.eq (local.get $k) (i32.const 0)) (then (i32.store (local.get $a) (local.get $v)) (br $done)))
      (if (i32.eq (local.get $k) (i32.const 1)) (then (i64.store offset=3 (local.get $a) (i64.extend_i32_u (local.get $v))) (br $done)))
      (if (i32.eq (local.get $k) (i32.const 2)) (then (f32.store (local.get $a) (f32.convert_i32_u (local.get $v))) (br $done)))
      (if (i32.eq (local.get $k) (i32.const 3)) (then (f64.store offset=100 (local.get $a) (f64.convert_i32_u (local.get $v))) (br $done)))
      (if (i32.eq (local.get $k) (i32.const 4)) (then (i32.store8 (local.get $a) (local.get $v)) (br $done)))
      (if (i32.eq (local.get $k) (i32.const 5)) (then (i32.store16 offset=1 (local.get $a) (local.get $v)) (br $done)))
      (if (i32.eq (local.get $k) (i32.const 6)) (then (i64.store8 (local.get $a) (i64.extend_i32_u (local.get $v))) (br $done)))
      (if (i32.eq (local.get $k) (i32.const 7)) (then (i64.store16 (local.get $a) (i64.extend_i32_u (local.get $v))) (br $done)))
      (if (i32.eq (local.get $k) (i32.const 8)) (then (i64.store32 offset=4096 (local.get $a) (i64.extend_i32_u (local.get $v))) (br $done)))
      (if (i32.eq (local.get $k) (i32.const 9)) (then (v128.store (local.get $a) (i32x4.splat (local.get $v))) (br $done)))
      (if (i32.eq (local.get $k) (i32.const 10)) (then (v128.store32_lane offset=2 1 (local.get $a) (i32x4.splat (local.get $v))) (br $done)))
      (if (i32.eq (local.get $k) (i32.const 11)) (then (memory.fill (local.get $a) (local.get $v) (local.get $n)) (br $done)))
      (if (i32.eq (local.get $k) (i32.const 12)) (then (memory.copy (local.get $a) (i32.const 4090) (local.get $n)) (br $done)))
      (if (i32.eq (local.get $k) (i32.const 13)) (then (memory.init $passive (local.get $a) (i32.const 0) (i32.rem_u (local.get $n) (i32.const 65))) (br $done)))
      (if (i32.eq (local.get $k) (i32.const 14)) (then (drop (call $random_get (local.get $a) (local.get $n))) (br $done)))
      (if (i32.eq (local.get $k) (i32.const 15)) (then (drop (call $input_read (local.get $a) (local.get $n))) (br $done)))
      ;; 16: a byte in each of n pages from a, 4 KiB apart, then again
      ;; backwards (past the tracker's slots when n > 8).
      (if (i32.eq (local.get $k) (i32.const 16))
        (then
          (local.set $i (i32.const 0))
          (loop $l
            (if (i32.lt_u (local.get $i) (local.get $n))
              (then
                (i32.store8 (i32.add (local.get $a) (i32.mul (local.get $i) (i32.const 4096))) (local.get $v))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $l))))
          (loop $m
            (if (i32.gt_u (local.get $i) (i32.const 0))
              (then
                (local.set $i (i32.sub (local.get $i) (i32.const 1)))
                (i32.store16 (i32.add (local.get $a) (i32.mul (local.get $i) (i32.const 4096))) (local.get $v))
                (br $m))))
          (br $done))))
    (call $result (i32.const 64) (i32.const 5))))
