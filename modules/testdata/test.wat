;; test.wat: the runtime tests' guest. Each fcall:* export is one test
;; function; see modules/runtime_test.go. Built into test.wasm by
;; `go generate ./modules` (needs wat2wasm from wabt).
(module
  (import "cairn" "input_size" (func $input_size (result i32)))
  (import "cairn" "input_read" (func $input_read (param i32 i32) (result i32)))
  (import "cairn" "call" (func $call (param i32 i32) (result i32)))
  (import "cairn" "pcall" (func $pcall (param i32 i32) (result i32)))
  (import "cairn" "reply_read" (func $reply_read (param i32 i32) (result i32)))
  (import "cairn" "result" (func $result (param i32 i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $counter (mut i32) (i32.const 0))

  ;; 0: "+PONG\r\n"
  (data (i32.const 0) "+PONG\r\n")
  ;; 16: ":0\r\n" template for the counter reply
  (data (i32.const 16) ":0\r\n")
  ;; 32: "$8\r\n" + 8 bytes + "\r\n" for 8-byte bulk replies
  (data (i32.const 32) "$8\r\n........\r\n")
  ;; 64: "hello\n" and its iovec at 80
  (data (i32.const 64) "hello\n")
  (data (i32.const 80) "\40\00\00\00\06\00\00\00")
  ;; 128: command "NOPE" (an unknown command)
  (data (i32.const 128) "\01\00\00\00\04\00\00\00NOPE")

  ;; ping: replies +PONG.
  (func (export "fcall:ping:no-writes") (call $result (i32.const 0) (i32.const 7)))

  ;; incr: INCR <first key>, replies with INCR's reply (call aborts on error).
  (func $incr (export "fcall:incr")
    (local $n i32)
    (drop (call $input_read (i32.const 2048) (i32.const 1024)))
    ;; command at 1024: count=2, 4, "INCR", keylen, key
    (i32.store (i32.const 1024) (i32.const 2))
    (i32.store (i32.const 1028) (i32.const 4))
    (i32.store (i32.const 1032) (i32.const 0x52434e49)) ;; "INCR"
    (i32.store (i32.const 1036) (i32.load (i32.const 2056)))
    (memory.copy (i32.const 1040) (i32.const 2060) (i32.load (i32.const 2056)))
    (local.set $n (call $call (i32.const 1024) (i32.add (i32.const 16) (i32.load (i32.const 2056)))))
    (drop (call $reply_read (i32.const 4096) (local.get $n)))
    (call $result (i32.const 4096) (local.get $n)))

  ;; incrspin: INCR <first key>, then loops forever.
  (func (export "fcall:incrspin")
    (call $incr)
    (loop $l (br $l)))

  ;; spin: loops forever.
  (func (export "fcall:spin:no-writes")
    (loop $l (br $l)))

  ;; recurse: unbounded recursion.
  (func $recurse (export "fcall:recurse:no-writes") (call $recurse))

  ;; trap: unreachable.
  (func (export "fcall:trap:no-writes") unreachable)

  ;; counter: increments a global and a memory byte, replies with the
  ;; memory byte as a digit; with reset every call replies :1.
  (func (export "fcall:counter:no-writes")
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (i32.store8 (i32.const 200) (i32.add (i32.load8_u (i32.const 200)) (i32.const 1)))
    (i32.store8 (i32.const 17) (i32.add (i32.const 48)
      (i32.add (i32.load8_u (i32.const 200)) (i32.sub (global.get $counter) (i32.const 1)))))
    (call $result (i32.const 16) (i32.const 4)))

  ;; time: replies with clock_time_get(realtime) as 8 little-endian bytes.
  (func (export "fcall:time:no-writes")
    (drop (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 36)))
    (call $result (i32.const 32) (i32.const 14)))

  ;; random: replies with 8 bytes of random_get.
  (func (export "fcall:random:no-writes")
    (drop (call $random_get (i32.const 36) (i32.const 8)))
    (call $result (i32.const 32) (i32.const 14)))

  ;; out: writes "hello\n" to stdout, and to fd 3 (which fails), replies
  ;; with fd 3's errno as an integer digit.
  (func (export "fcall:out:no-writes")
    (drop (call $fd_write (i32.const 1) (i32.const 80) (i32.const 1) (i32.const 96)))
    (i32.store8 (i32.const 17) (i32.add (i32.const 48)
      (call $fd_write (i32.const 3) (i32.const 80) (i32.const 1) (i32.const 96))))
    (call $result (i32.const 16) (i32.const 4)))

  ;; pcallerr: pcall of an unknown command; replies with the error reply.
  (func (export "fcall:pcallerr")
    (local $n i32)
    (local.set $n (call $pcall (i32.const 128) (i32.const 12)))
    (drop (call $reply_read (i32.const 4096) (local.get $n)))
    (call $result (i32.const 4096) (local.get $n)))

  ;; callerr: call of an unknown command; the call aborts.
  (func (export "fcall:callerr")
    (drop (call $call (i32.const 128) (i32.const 12)))
    (call $result (i32.const 0) (i32.const 7)))

  ;; grow: grows memory by one page, replies with memory.grow's result + 1
  ;; (the old size in pages + 1, or 0 when growing failed).
  (func (export "fcall:grow:no-writes")
    (i32.store8 (i32.const 17) (i32.add (i32.const 49) (memory.grow (i32.const 1))))
    (call $result (i32.const 16) (i32.const 4)))

  ;; badreply: sets a reply that is not RESP.
  (func (export "fcall:badreply:no-writes") (call $result (i32.const 64) (i32.const 6)))

  ;; noreply: sets no reply.
  (func (export "fcall:noreply:no-writes,allow-stale"))
;; control: exercises the rewriter's return/branch handling. $early
  ;; returns from nested blocks and branches to its function label; $pair
  ;; returns two values from inside a loop. Called 5000 times, a missed
  ;; depth decrement would trip the depth limit; replies :7.
  (func $early (param $x i32) (result i32)
    (if (i32.eqz (local.get $x)) (then (return (i32.const 1))))
    (if (i32.eq (local.get $x) (i32.const 1))
      (then (loop $l (br 2 (i32.const 2)))))
    (block $c
      (block $d
        (br_table $d $c (i32.sub (local.get $x) (i32.const 2))))
      (return (i32.const 3)))
    (i32.const 4))
  (func $pair (result i32 i32)
    (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (if (i32.eq (local.get $i) (i32.const 3)) (then (return (i32.const 2) (local.get $i))))
      (br $l))
    (unreachable))
  (func (export "fcall:control:no-writes")
    (local $n i32) (local $sum i32)
    (loop $l
      (local.set $sum (i32.add
        (i32.add (call $early (i32.const 0)) (call $early (i32.const 1)))
        (i32.add (call $early (i32.const 2)) (call $early (i32.const 3)))))
      (local.set $sum (i32.add (local.get $sum) (i32.add (call $pair))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $n) (i32.const 5000))))
    ;; early: 1 + 2 + 3 + 4 = 10, minus pair 2+3 = 5 -> 10 + 5 = 15; reply 15-8 = 7
    (i32.store8 (i32.const 17) (i32.add (i32.const 40) (local.get $sum)))
    (call $result (i32.const 16) (i32.const 4)))
)
