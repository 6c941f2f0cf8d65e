;; noreg.wat: registers no function; refused at load.
(module (func (export "f")))
