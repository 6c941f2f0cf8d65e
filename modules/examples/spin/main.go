//go:build wasip1

// Command spin is the spin example module: FCALL spin 0 loops forever and
// ends with the fuel-exhaustion error.
package main

var sink int

//go:wasmexport fcall:spin:no-writes
func spin() {
	for i := 0; ; i++ {
		sink = i
	}
}

func main() {}
