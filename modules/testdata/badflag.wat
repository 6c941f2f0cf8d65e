;; badflag.wat: declares an unknown flag; refused at load.
(module (func (export "fcall:f:no-writes,fly")))
