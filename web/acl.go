package web

// ReadOnlyRules are the ACL SETUSER rules (without a password) of a
// dashboard viewer: a user who can render every page — INFO, the cluster
// views, key reads, the slow log and latency events, the function and
// index lists, the backup list, the region state — and can run no action.
// docs/dashboard.md shows them; the permission tests use them.
//
//	ACL SETUSER viewer on >secret <ReadOnlyRules>
const ReadOnlyRules = "on ~* &* +@read +@connection -@write -@dangerous -@scripting" +
	" +info +cluster|shards +cluster|topology +slowlog|get +latency|latest" +
	" +function|list +function|stats +ft._list +ft.info +backup|list +region|info"
