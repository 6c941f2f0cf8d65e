;; initspin.wat: its start function loops forever; the load must fail on
;; the initialization fuel budget, deterministically.
(module
  (func $start (loop $l (br $l)))
  (start $start)
  (func (export "fcall:f")))
