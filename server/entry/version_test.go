package entry

import (
	"errors"
	"testing"
)

func TestVersionGate(t *testing.T) {
	// Every kind this binary writes is known at version 1 so far.
	for _, k := range []Kind{Commands, Expire, Multi, SlotOp, WatchedMulti} {
		if v, ok := WriteVersion(1, k); !ok || v != 1 {
			t.Fatalf("kind %d at cluster version 1: %d %v", k, v, ok)
		}
		if v, ok := WriteVersion(Version+5, k); !ok || v != Version {
			t.Fatalf("kind %d at a future cluster version: %d %v (never above this binary's)", k, v, ok)
		}
		if !Understands(1, 1, k) || Understands(1, 2, k) || !Understands(Version, Version, k) {
			t.Fatalf("kind %d: Understands", k)
		}
	}
	// Config and Evict came with version 2: a cluster still at version 1
	// must not write them, and a version-1 binary does not understand them.
	for _, k := range []Kind{Config, Evict} {
		if _, ok := WriteVersion(1, k); ok {
			t.Fatalf("kind %d written at cluster version 1", k)
		}
		if v, ok := WriteVersion(2, k); !ok || v != 2 {
			t.Fatalf("kind %d at cluster version 2: %d %v", k, v, ok)
		}
		if Understands(1, 1, k) || !Understands(2, 2, k) {
			t.Fatalf("kind %d: Understands", k)
		}
	}
	// Shipped came with version 4.
	if _, ok := WriteVersion(3, Shipped); ok {
		t.Fatal("Shipped written at cluster version 3")
	}
	if v, ok := WriteVersion(4, Shipped); !ok || v != 4 {
		t.Fatalf("Shipped at cluster version 4: %d %v", v, ok)
	}
	if Understands(3, 3, Shipped) || Understands(4, 3, Shipped) || !Understands(4, 4, Shipped) {
		t.Fatal("Shipped: Understands")
	}
	// ShipSnapshot came with version 5.
	if _, ok := WriteVersion(4, ShipSnapshot); ok {
		t.Fatal("ShipSnapshot written at cluster version 4")
	}
	if v, ok := WriteVersion(5, ShipSnapshot); !ok || v != 5 {
		t.Fatalf("ShipSnapshot at cluster version 5: %d %v", v, ok)
	}
	if Understands(4, 4, ShipSnapshot) || Understands(5, 4, ShipSnapshot) || !Understands(5, 5, ShipSnapshot) {
		t.Fatal("ShipSnapshot: Understands")
	}
	// Unknown kinds are neither written nor understood.
	for _, k := range []Kind{0, 10, 255} {
		if _, ok := WriteVersion(Version, k); ok {
			t.Fatalf("kind %d may be written", k)
		}
		if Understands(Version, Version, k) {
			t.Fatalf("kind %d understood", k)
		}
	}
	var e Entry
	if err := Decode([]byte{Version + 1, 1, 0, 0, 0}, &e); !errors.Is(err, ErrVersion) {
		t.Fatalf("newer version: %v", err)
	}
	b := Append(nil, &Entry{Version: 1, Kind: Commands, Time: 7})
	if err := Decode(b, &e); err != nil || e.Version != 1 || e.Time != 7 {
		t.Fatalf("version 1 round trip: %v %+v", err, e)
	}
}
