package pubsub

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cairndb/cairn/server/reply"
)

// recorder is a Subscriber that keeps what it is delivered.
type recorder struct {
	mu   sync.Mutex
	msgs []reply.Value
}

func (r *recorder) Deliver(msg reply.Value) {
	r.mu.Lock()
	r.msgs = append(r.msgs, msg)
	r.mu.Unlock()
}

// take returns the messages delivered since the last take, as strings.
func (r *recorder) take() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var parts []string
	for _, m := range r.msgs {
		parts = append(parts, m.String())
	}
	r.msgs = nil
	return strings.Join(parts, " ")
}

func str(vs []reply.Value) string {
	var parts []string
	for _, v := range vs {
		parts = append(parts, v.String())
	}
	return strings.Join(parts, " ")
}

func check(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s:\n got  %s\n want %s", what, got, want)
	}
}

func TestSubscribeCounts(t *testing.T) {
	h := NewHub()
	a := &recorder{}
	check(t, "subscribe", str(h.Subscribe(a, "x", "y", "x")), "[subscribe x 1] [subscribe y 2] [subscribe x 2]")
	check(t, "psubscribe", str(h.PSubscribe(a, "p*", "q?")), "[psubscribe p* 3] [psubscribe q? 4]")
	check(t, "ssubscribe", str(h.SSubscribe(a, "s1", "s2")), "[ssubscribe s1 1] [ssubscribe s2 2]")
	if n, s := h.Count(a); n != 4 || s != 2 {
		t.Errorf("Count = %d, %d", n, s)
	}
	check(t, "unsubscribe", str(h.Unsubscribe(a, "y", "nope")), "[unsubscribe y 3] [unsubscribe nope 3]")
	check(t, "unsubscribe all", str(h.Unsubscribe(a)), "[unsubscribe x 2]")
	check(t, "unsubscribe none", str(h.Unsubscribe(a)), "[unsubscribe (nil) 2]")
	check(t, "punsubscribe all", str(h.PUnsubscribe(a)), "[punsubscribe p* 1] [punsubscribe q? 0]")
	check(t, "punsubscribe none", str(h.PUnsubscribe(a)), "[punsubscribe (nil) 0]")
	check(t, "sunsubscribe", str(h.SUnsubscribe(a, "s2")), "[sunsubscribe s2 1]")
	check(t, "sunsubscribe all", str(h.SUnsubscribe(a)), "[sunsubscribe s1 0]")
	check(t, "sunsubscribe none", str(h.SUnsubscribe(a)), "[sunsubscribe (nil) 0]")
	if len(h.clients) != 0 || len(h.channels) != 0 || len(h.patterns) != 0 || len(h.shard) != 0 || len(h.patList) != 0 {
		t.Errorf("hub not empty: %+v", h)
	}
	if h.active.Load() != 0 || h.shardActive.Load() != 0 {
		t.Errorf("counters %d %d", h.active.Load(), h.shardActive.Load())
	}
	if got := h.Subscribe(a); len(got) != 0 || len(h.clients) != 0 {
		t.Errorf("Subscribe without channels: %v, %d clients", got, len(h.clients))
	}
	// A client never seen.
	b := &recorder{}
	check(t, "unsubscribe unknown", str(h.Unsubscribe(b, "z")), "[unsubscribe z 0]")
	check(t, "sunsubscribe unknown", str(h.SUnsubscribe(b)), "[sunsubscribe (nil) 0]")
	if len(h.clients) != 0 {
		t.Error("unknown client registered")
	}
}

func TestPublish(t *testing.T) {
	h := NewHub()
	a, b, c := &recorder{}, &recorder{}, &recorder{}
	if n := h.Publish([]byte("x"), []byte("m")); n != 0 {
		t.Fatalf("no subscribers: %d", n)
	}
	h.Subscribe(a, "news.art")
	h.Subscribe(b, "news.art", "other")
	h.PSubscribe(a, "news.*", "*art", "zzz")
	h.PSubscribe(c, "news.*")
	h.SSubscribe(c, "news.art")
	if n := h.Publish([]byte("news.art"), []byte("hi")); n != 5 { // the shard subscription does not count
		t.Errorf("receivers = %d, want 5", n)
	}
	check(t, "a", a.take(), "[message news.art hi] [pmessage *art news.art hi] [pmessage news.* news.art hi]")
	check(t, "b", b.take(), "[message news.art hi]")
	check(t, "c", c.take(), "[pmessage news.* news.art hi]")
	if n := h.SPublish([]byte("news.art"), []byte("s")); n != 1 {
		t.Errorf("spublish = %d", n)
	}
	check(t, "c shard", c.take(), "[smessage news.art s]")
	check(t, "a after spublish", a.take(), "")
	if n := h.SPublish([]byte("other"), []byte("s")); n != 0 {
		t.Errorf("spublish to a plain channel = %d", n)
	}
	if n := h.Publish([]byte("nothing"), []byte("m")); n != 0 {
		t.Errorf("no match = %d", n)
	}
	// The empty channel matches no pattern but the empty one.
	if n := h.Publish([]byte(""), []byte("m")); n != 0 {
		t.Errorf("empty channel = %d", n)
	}
	// Payloads are copied: the caller may reuse its buffers.
	ch, msg := []byte("other"), []byte("abc")
	h.Publish(ch, msg)
	copy(ch, "XXXXX")
	copy(msg, "XXX")
	check(t, "copied", b.take(), "[message other abc]")

	h.RemoveAll(a)
	if n := h.Publish([]byte("news.art"), []byte("hi")); n != 2 {
		t.Errorf("after RemoveAll: %d", n)
	}
	if got := h.NumPat(); got != 1 {
		t.Errorf("NumPat = %d", got)
	}
	h.RemoveAll(b)
	h.RemoveAll(c)
	h.RemoveAll(c)
	if len(h.clients)+len(h.channels)+len(h.patterns)+len(h.shard)+len(h.patList) != 0 || h.active.Load() != 0 || h.shardActive.Load() != 0 {
		t.Error("hub not empty after RemoveAll")
	}
}

func TestIntrospection(t *testing.T) {
	h := NewHub()
	a, b := &recorder{}, &recorder{}
	h.Subscribe(a, "b", "a", "c", "")
	h.Subscribe(b, "a", "d")
	h.PSubscribe(a, "x*", "y*")
	h.PSubscribe(b, "x*")
	h.SSubscribe(a, "s2", "s1")
	h.SSubscribe(b, "s1")
	check(t, "channels", fmt.Sprint(h.Channels(nil)), "[ a b c d]")
	check(t, "channels [ab]", fmt.Sprint(h.Channels([]byte("[ab]"))), "[a b]")
	check(t, "channels *", fmt.Sprint(h.Channels([]byte("*"))), "[a b c d]")
	check(t, "channels empty pattern", fmt.Sprint(h.Channels([]byte(""))), "[]")
	check(t, "numsub", fmt.Sprint(h.NumSub("a", "b", "zz", "x*")), "[2 1 0 0]")
	check(t, "numsub none", fmt.Sprint(h.NumSub()), "[]")
	if h.NumPat() != 2 {
		t.Errorf("NumPat = %d", h.NumPat())
	}
	check(t, "shardchannels", fmt.Sprint(h.ShardChannels(nil)), "[s1 s2]")
	check(t, "shardchannels pattern", fmt.Sprint(h.ShardChannels([]byte("*2"))), "[s2]")
	check(t, "shardnumsub", fmt.Sprint(h.ShardNumSub("s1", "s2", "a")), "[2 1 0]")
}

func TestLongSubscriberList(t *testing.T) {
	h := NewHub()
	subs := make([]*recorder, 200)
	for i := range subs {
		subs[i] = &recorder{}
		h.Subscribe(subs[i], "ch")
		h.PSubscribe(subs[i], "c*")
	}
	if n := h.Publish([]byte("ch"), []byte("m")); n != 400 {
		t.Fatalf("receivers = %d", n)
	}
	// Remove every other subscriber, from the middle of the list.
	for i := 0; i < len(subs); i += 2 {
		h.Unsubscribe(subs[i], "ch")
		h.PUnsubscribe(subs[i])
	}
	for _, s := range subs {
		s.take()
	}
	if n := h.Publish([]byte("ch"), []byte("m")); n != 200 {
		t.Fatalf("receivers = %d", n)
	}
	for i, s := range subs {
		want := ""
		if i%2 == 1 {
			want = "[message ch m] [pmessage c* ch m]"
		}
		check(t, fmt.Sprint("sub ", i), s.take(), want)
	}
	if got := h.NumSub("ch"); got[0] != 100 {
		t.Errorf("NumSub = %v", got)
	}
}

// TestConcurrent runs subscribers, unsubscribers and publishers at once;
// run it with -race.
func TestConcurrent(t *testing.T) {
	h := NewHub()
	var wg sync.WaitGroup
	var delivered atomic.Int64
	stop := make(chan struct{})
	const workers = 8
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := &countSub{n: &delivered}
			for i := 0; ; i++ {
				select {
				case <-stop:
					h.RemoveAll(r)
					return
				default:
				}
				ch := fmt.Sprint("ch", i%5)
				switch i % 6 {
				case 0:
					h.Subscribe(r, ch)
				case 1:
					h.PSubscribe(r, "ch[0-2]")
				case 2:
					h.SSubscribe(r, ch)
				case 3:
					h.Unsubscribe(r)
				case 4:
					h.PUnsubscribe(r, "ch[0-2]")
				case 5:
					h.SUnsubscribe(r)
				}
				h.Count(r)
			}
		}(w)
	}
	var published atomic.Int64
	for p := 0; p < 4; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ch := []byte(fmt.Sprint("ch", i%5))
				published.Add(int64(h.Publish(ch, []byte("m"))))
				published.Add(int64(h.SPublish(ch, []byte("m"))))
				h.Channels(nil)
				h.NumSub("ch1")
				h.NumPat()
			}
		}(p)
	}
	for i := 0; i < 20000 && delivered.Load() < 10000; i++ {
		h.Publish([]byte("ch0"), nil)
	}
	close(stop)
	wg.Wait()
	if len(h.clients)+len(h.channels)+len(h.patterns)+len(h.shard)+len(h.patList) != 0 {
		t.Error("hub not empty")
	}
	if published.Load()+0 > delivered.Load() {
		t.Errorf("published %d > delivered %d", published.Load(), delivered.Load())
	}
}

type countSub struct{ n *atomic.Int64 }

func (c *countSub) Deliver(reply.Value) { c.n.Add(1) }

func BenchmarkPublishNoSubscribers(b *testing.B) {
	h := NewHub()
	ch, msg := []byte("channel"), []byte("message")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		h.Publish(ch, msg)
	}
}

func BenchmarkPublishOneSubscriber(b *testing.B) {
	h := NewHub()
	h.Subscribe(&countSub{n: new(atomic.Int64)}, "channel")
	ch, msg := []byte("channel"), []byte("message")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		h.Publish(ch, msg)
	}
}
