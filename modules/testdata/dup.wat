;; dup.wat: registers function f twice; refused at load.
(module
  (func (export "fcall:f"))
  (func (export "fcall:f:no-writes")))
