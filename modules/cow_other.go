//go:build !linux

package modules

import "errors"

// cowSupported reports whether copy-on-write reset is available.
const cowSupported = false

// cowMemory is unavailable off Linux; resets copy the snapshot instead.
type cowMemory struct{}

// newCOWMemory always fails off Linux.
func newCOWMemory(uint64) (*cowMemory, error) { return nil, errors.New("not supported") }

// Reallocate is never called.
func (m *cowMemory) Reallocate(uint64) []byte { return nil }

// Free is never called.
func (m *cowMemory) Free() {}

// seal always fails off Linux.
func (m *cowMemory) seal(int) error { return errors.New("not supported") }

// reset always fails off Linux.
func (m *cowMemory) reset(bool) bool { return false }

// threadFaults is never called off Linux.
func threadFaults() int64 { return -1 }

// reseal always fails off Linux.
func (m *cowMemory) reseal() error { return errors.New("not supported") }

// pagemapScanWorks is false off Linux.
func pagemapScanWorks() bool { return false }

// views is never reached off Linux (no copy-on-write memory).
func (m *cowMemory) views() (snap, mem []byte, ok bool) { return nil, nil, false }

// forget is never reached off Linux.
func (m *cowMemory) forget() {}
