;; bigmem.wat: asks for 1024 initial pages (64 MiB); refused at load.
(module (memory 1024) (func (export "fcall:f")))
