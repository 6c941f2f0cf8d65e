package pubsub

import (
	"strconv"

	"github.com/cairndb/cairn/server/command"
)

// Keyspace-notification flags beyond the event classes. A notify mask
// holds class bits as command.ClassBit lays them out ('g' is bit 0 ...
// 'd' bit 11) plus these two.
const (
	// NotifyKeyspace ('K') publishes "__keyspace@<db>__:<key>" with the
	// event name as message.
	NotifyKeyspace uint32 = 1 << 12
	// NotifyKeyevent ('E') publishes "__keyevent@<db>__:<event>" with the
	// key as message.
	NotifyKeyevent uint32 = 1 << 13
)

// NotifyAll is the classes 'A' stands for: "g$lshzxetd", that is every
// class but key-miss ('m') and new-key ('n') events.
var NotifyAll = classes("g$lshzxetd")

// ClassMask is every class bit (every bit but K and E).
var ClassMask = classes("g$lshzxetmnd")

func classes(letters string) uint32 {
	var m uint32
	for i := 0; i < len(letters); i++ {
		m |= command.ClassBit(letters[i])
	}
	return m
}

// ErrNotifyFlags is the reason CONFIG SET gives for an invalid
// notify-keyspace-events value (Redis 7.0's wording; the config layer
// wraps it in its "ERR CONFIG SET failed ..." message).
const ErrNotifyFlags = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."

// ParseNotifyFlags parses a notify-keyspace-events value as Redis's
// keyspaceEventsStringToFlags: any sequence of the letters
// K E g $ l s h z x e t m n d A, where A stands for "g$lshzxetd". Like the
// C code it stops at a NUL byte. ok is false if a letter is unknown.
func ParseNotifyFlags(s string) (mask uint32, ok bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 0:
			return mask, true
		case 'A':
			mask |= NotifyAll
		case 'K':
			mask |= NotifyKeyspace
		case 'E':
			mask |= NotifyKeyevent
		default:
			b := command.ClassBit(c)
			if b == 0 {
				return 0, false
			}
			mask |= b
		}
	}
	return mask, true
}

// FormatNotifyFlags is the canonical form CONFIG GET prints, as Redis
// 7.0's keyspaceEventsFlagsToString: "A" if every class of A is set, else
// the class letters in the order g$lshzxetdn; then K, E and m. As in Redis
// 7.0, 'n' is not printed after "A" ("An" reads back as "A").
func FormatNotifyFlags(mask uint32) string {
	var b []byte
	if mask&NotifyAll == NotifyAll {
		b = append(b, 'A')
	} else {
		const order = "g$lshzxetdn"
		for i := 0; i < len(order); i++ {
			if mask&command.ClassBit(order[i]) != 0 {
				b = append(b, order[i])
			}
		}
	}
	if mask&NotifyKeyspace != 0 {
		b = append(b, 'K')
	}
	if mask&NotifyKeyevent != 0 {
		b = append(b, 'E')
	}
	if mask&command.ClassBit(command.ClassKeyMiss) != 0 {
		b = append(b, 'm')
	}
	return string(b)
}

// RecordMask is the command.Ctx.NotifyMask for a notify mask: its class
// bits if it publishes on at least one of the keyspace and keyevent
// channels, else 0 (Redis publishes nothing without K or E, so there is
// nothing to record).
func RecordMask(mask uint32) uint32 {
	if mask&(NotifyKeyspace|NotifyKeyevent) == 0 {
		return 0
	}
	return mask & ClassMask
}

// NotifyChannels returns where keyspace event ev of database db is
// published under mask, as Redis's notifyKeyspaceEvent: on
// keyspaceChannel "__keyspace@<db>__:<key>" with the event name as
// message if keyspace is true, and on keyeventChannel
// "__keyevent@<db>__:<event>" with the key as message if keyevent is true.
// Both are false when mask does not select the event's class.
func NotifyChannels(mask uint32, db int, ev command.Event) (keyspaceChannel, keyeventChannel string, keyspace, keyevent bool) {
	if mask&command.ClassBit(ev.Class) == 0 {
		return "", "", false, false
	}
	d := strconv.Itoa(db)
	if mask&NotifyKeyspace != 0 {
		keyspaceChannel, keyspace = "__keyspace@"+d+"__:"+ev.Key, true
	}
	if mask&NotifyKeyevent != 0 {
		keyeventChannel, keyevent = "__keyevent@"+d+"__:"+ev.Name, true
	}
	return keyspaceChannel, keyeventChannel, keyspace, keyevent
}

// PublishEvents publishes keyspace events as Redis's notifyKeyspaceEvent
// does, in order, each on its keyspace channel (message: the event name)
// then its keyevent channel (message: the key), as mask selects.
func (h *Hub) PublishEvents(mask uint32, db int, evs []command.Event) {
	if h.active.Load() == 0 || mask&(NotifyKeyspace|NotifyKeyevent) == 0 {
		return
	}
	for _, ev := range evs {
		ks, ke, okS, okE := NotifyChannels(mask, db, ev)
		if okS {
			h.Publish([]byte(ks), []byte(ev.Name))
		}
		if okE {
			h.Publish([]byte(ke), []byte(ev.Key))
		}
	}
}
