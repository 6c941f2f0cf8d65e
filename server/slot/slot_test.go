package slot

import "testing"

func TestOf(t *testing.T) {
	// Reference values from Redis: CLUSTER KEYSLOT.
	for _, tc := range []struct {
		key  string
		want uint16
	}{
		{"foo", 12182}, {"bar", 5061}, {"123456789", 12739},
		{"{user1000}.following", 3443}, {"{user1000}.followers", 3443},
		{"foo{}{bar}", 8363}, {"foo{{bar}}zap", 4015}, {"foo{bar}{zap}", 5061}, {"", 0},
	} {
		if got := Of([]byte(tc.key)); got != tc.want {
			t.Errorf("Of(%q) = %d, want %d", tc.key, got, tc.want)
		}
		if got := OfString(tc.key); got != tc.want {
			t.Errorf("OfString(%q) = %d, want %d", tc.key, got, tc.want)
		}
	}
	if CRC16([]byte("123456789")) != 0x31C3 {
		t.Fatalf("CRC16 check value wrong")
	}
}
