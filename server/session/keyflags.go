package session

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// keyFlags are the key-spec flags COMMAND GETKEYSANDFLAGS reports for
// each command's keys, as Redis 7.0 does: the i-th key found gets
// keyFlags[name][i], the last entry applying to all further keys (a
// destination, then sources; or one set for all keys). Commands whose
// flags depend on the arguments are in keyFlagsFunc.
var keyFlags = map[string][][]string{
	"append":                {{"RW", "insert"}},
	"bitcount":              {{"RO", "access"}},
	"bitfield":              {{"RO", "access"}},
	"bitfield_ro":           {{"RO", "access"}},
	"bitop":                 {{"OW", "update"}, {"RO", "access"}},
	"bitpos":                {{"RO", "access"}},
	"blmove":                {{"RW", "access", "delete"}, {"RW", "insert"}},
	"blmpop":                {{"RW", "access", "delete"}},
	"blpop":                 {{"RW", "access", "delete"}},
	"brpop":                 {{"RW", "access", "delete"}},
	"brpoplpush":            {{"RW", "access", "delete"}, {"RW", "insert"}},
	"bzmpop":                {{"RW", "access", "delete"}},
	"bzpopmax":              {{"RW", "access", "delete"}},
	"bzpopmin":              {{"RW", "access", "delete"}},
	"copy":                  {{"RO", "access"}, {"OW", "update"}},
	"decr":                  {{"RW", "access", "update"}},
	"decrby":                {{"RW", "access", "update"}},
	"del":                   {{"RM", "delete"}},
	"dump":                  {{"RO", "access"}},
	"eval":                  {{"RW", "access", "update"}},
	"eval_ro":               {{"RO", "access"}},
	"evalsha":               {{"RW", "access", "update"}},
	"evalsha_ro":            {{"RO", "access"}},
	"exists":                {{"RO"}},
	"expire":                {{"RW", "update"}},
	"expireat":              {{"RW", "update"}},
	"expiretime":            {{"RO", "access"}},
	"fcall":                 {{"RW", "access", "update"}},
	"fcall_ro":              {{"RO", "access"}},
	"geoadd":                {{"RW", "update"}},
	"geodist":               {{"RO", "access"}},
	"geohash":               {{"RO", "access"}},
	"geopos":                {{"RO", "access"}},
	"georadius":             {{"RO", "access"}, {"OW", "update"}},
	"georadius_ro":          {{"RO", "access"}},
	"georadiusbymember":     {{"RO", "access"}, {"OW", "update"}},
	"georadiusbymember_ro":  {{"RO", "access"}},
	"geosearch":             {{"RO", "access"}},
	"geosearchstore":        {{"OW", "update"}, {"RO", "access"}},
	"get":                   {{"RO", "access"}},
	"getbit":                {{"RO", "access"}},
	"getdel":                {{"RW", "access", "delete"}},
	"getex":                 {{"RW", "access", "update"}},
	"getrange":              {{"RO", "access"}},
	"getset":                {{"RW", "access", "update"}},
	"hdel":                  {{"RW", "delete"}},
	"hexists":               {{"RO"}},
	"hget":                  {{"RO", "access"}},
	"hgetall":               {{"RO", "access"}},
	"hincrby":               {{"RW", "access", "update"}},
	"hincrbyfloat":          {{"RW", "access", "update"}},
	"hkeys":                 {{"RO", "access"}},
	"hlen":                  {{"RO"}},
	"hmget":                 {{"RO", "access"}},
	"hmset":                 {{"RW", "update"}},
	"hrandfield":            {{"RO", "access"}},
	"hscan":                 {{"RO", "access"}},
	"hset":                  {{"RW", "update"}},
	"hsetnx":                {{"RW", "insert"}},
	"hstrlen":               {{"RO"}},
	"hvals":                 {{"RO", "access"}},
	"incr":                  {{"RW", "access", "update"}},
	"incrby":                {{"RW", "access", "update"}},
	"incrbyfloat":           {{"RW", "access", "update"}},
	"lcs":                   {{"RO", "access"}},
	"lindex":                {{"RO", "access"}},
	"linsert":               {{"RW", "insert"}},
	"llen":                  {{"RO"}},
	"lmove":                 {{"RW", "access", "delete"}, {"RW", "insert"}},
	"lmpop":                 {{"RW", "access", "delete"}},
	"lpop":                  {{"RW", "access", "delete"}},
	"lpos":                  {{"RO", "access"}},
	"lpush":                 {{"RW", "insert"}},
	"lpushx":                {{"RW", "insert"}},
	"lrange":                {{"RO", "access"}},
	"lrem":                  {{"RW", "delete"}},
	"lset":                  {{"RW", "update"}},
	"ltrim":                 {{"RW", "delete"}},
	"mget":                  {{"RO", "access"}},
	"mset":                  {{"OW", "update"}},
	"msetnx":                {{"OW", "insert"}},
	"object|encoding":       {{"RO"}},
	"object|freq":           {{"RO"}},
	"object|idletime":       {{"RO"}},
	"object|refcount":       {{"RO"}},
	"persist":               {{"RW", "update"}},
	"pexpire":               {{"RW", "update"}},
	"pexpireat":             {{"RW", "update"}},
	"pexpiretime":           {{"RO", "access"}},
	"pfadd":                 {{"RW", "insert"}},
	"pfcount":               {{"RW", "access"}},
	"pfdebug":               {{"RW", "access"}},
	"pfmerge":               {{"RW", "access", "insert"}, {"RO", "access"}},
	"psetex":                {{"OW", "update"}},
	"pttl":                  {{"RO", "access"}},
	"rename":                {{"RW", "access", "delete"}, {"OW", "update"}},
	"renamenx":              {{"RW", "access", "delete"}, {"OW", "insert"}},
	"restore":               {{"OW", "update"}},
	"rpop":                  {{"RW", "access", "delete"}},
	"rpoplpush":             {{"RW", "access", "delete"}, {"RW", "insert"}},
	"rpush":                 {{"RW", "insert"}},
	"rpushx":                {{"RW", "insert"}},
	"sadd":                  {{"RW", "insert"}},
	"scard":                 {{"RO"}},
	"sdiff":                 {{"RO", "access"}},
	"sdiffstore":            {{"OW", "update"}, {"RO", "access"}},
	"set":                   {{"OW", "update"}},
	"setbit":                {{"RW", "access", "update"}},
	"setex":                 {{"OW", "update"}},
	"setnx":                 {{"OW", "insert"}},
	"setrange":              {{"RW", "update"}},
	"sinter":                {{"RO", "access"}},
	"sintercard":            {{"RO", "access"}},
	"sinterstore":           {{"RW", "update"}, {"RO", "access"}},
	"sismember":             {{"RO"}},
	"smembers":              {{"RO", "access"}},
	"smismember":            {{"RO", "access"}},
	"smove":                 {{"RW", "access", "delete"}, {"RW", "insert"}},
	"sort":                  {{"RO", "access"}, {"OW", "update"}},
	"sort_ro":               {{"RO", "access"}},
	"spop":                  {{"RW", "access", "delete"}},
	"srandmember":           {{"RO", "access"}},
	"srem":                  {{"RW", "delete"}},
	"sscan":                 {{"RO", "access"}},
	"strlen":                {{"RO"}},
	"substr":                {{"RO", "access"}},
	"sunion":                {{"RO", "access"}},
	"sunionstore":           {{"OW", "update"}, {"RO", "access"}},
	"touch":                 {{"RO"}},
	"ttl":                   {{"RO", "access"}},
	"type":                  {{"RO"}},
	"unlink":                {{"RM", "delete"}},
	"watch":                 {{"RO"}},
	"xack":                  {{"RW", "update"}},
	"xadd":                  {{"RW", "update"}},
	"xautoclaim":            {{"RW", "delete"}},
	"xclaim":                {{"RW", "update"}},
	"xdel":                  {{"RW", "delete"}},
	"xgroup|create":         {{"RW", "insert"}},
	"xgroup|createconsumer": {{"RW", "insert"}},
	"xgroup|delconsumer":    {{"RW", "delete"}},
	"xgroup|destroy":        {{"RW", "delete"}},
	"xgroup|setid":          {{"RW", "update"}},
	"xinfo|consumers":       {{"RO", "access"}},
	"xinfo|groups":          {{"RO", "access"}},
	"xinfo|stream":          {{"RO", "access"}},
	"xlen":                  {{"RO"}},
	"xpending":              {{"RO", "access"}},
	"xrange":                {{"RO", "access"}},
	"xread":                 {{"RO", "access"}},
	"xreadgroup":            {{"RO", "access"}},
	"xrevrange":             {{"RO", "access"}},
	"xsetid":                {{"RW", "update"}},
	"xtrim":                 {{"RW", "delete"}},
	"zadd":                  {{"RW", "update"}},
	"zcard":                 {{"RO"}},
	"zcount":                {{"RO", "access"}},
	"zdiff":                 {{"RO", "access"}},
	"zdiffstore":            {{"OW", "update"}, {"RO", "access"}},
	"zincrby":               {{"RW", "access", "update"}},
	"zinter":                {{"RO", "access"}},
	"zintercard":            {{"RO", "access"}},
	"zinterstore":           {{"OW", "update"}, {"RO", "access"}},
	"zlexcount":             {{"RO", "access"}},
	"zmpop":                 {{"RW", "access", "delete"}},
	"zmscore":               {{"RO", "access"}},
	"zpopmax":               {{"RW", "access", "delete"}},
	"zpopmin":               {{"RW", "access", "delete"}},
	"zrandmember":           {{"RO", "access"}},
	"zrange":                {{"RO", "access"}},
	"zrangebylex":           {{"RO", "access"}},
	"zrangebyscore":         {{"RO", "access"}},
	"zrangestore":           {{"OW", "update"}, {"RO", "access"}},
	"zrank":                 {{"RO", "access"}},
	"zrem":                  {{"RW", "delete"}},
	"zremrangebylex":        {{"RW", "delete"}},
	"zremrangebyrank":       {{"RW", "delete"}},
	"zremrangebyscore":      {{"RW", "delete"}},
	"zrevrange":             {{"RO", "access"}},
	"zrevrangebylex":        {{"RO", "access"}},
	"zrevrangebyscore":      {{"RO", "access"}},
	"zrevrank":              {{"RO", "access"}},
	"zscan":                 {{"RO", "access"}},
	"zscore":                {{"RO", "access"}},
	"zunion":                {{"RO", "access"}},
	"zunionstore":           {{"OW", "update"}, {"RO", "access"}},
}

var (
	flagsRWAccessUpdate = []string{"RW", "access", "update"}
	flagsRO             = []string{"RO", "access"}
)

// keyFlagsFunc computes the flags of commands with variable key flags.
var keyFlagsFunc = map[string]func(args [][]byte) []string{
	// SET key value [... GET]: RW if the old value is read.
	"set": func(args [][]byte) []string {
		for _, a := range args[3:] {
			if command.EqualFold(a, "get") {
				return flagsRWAccessUpdate
			}
		}
		return []string{"OW", "update"}
	},
	// BITFIELD key ...: RW if any SET or INCRBY.
	"bitfield": func(args [][]byte) []string {
		for _, a := range args[2:] {
			if command.EqualFold(a, "set") || command.EqualFold(a, "incrby") {
				return flagsRWAccessUpdate
			}
		}
		return flagsRO
	},
}

// keyFlagsOf returns the flags of the i-th key of a command.
func keyFlagsOf(sp *command.Spec, args [][]byte, i int) []string {
	if f := keyFlagsFunc[sp.Name]; f != nil && i == 0 {
		return f(args)
	}
	if fl := keyFlags[sp.Name]; len(fl) > 0 {
		return fl[min(i, len(fl)-1)]
	}
	if sp.IsWrite() {
		return []string{"RW"}
	}
	return []string{"RO"}
}

func flagSet(fl []string) reply.Value {
	vs := make([]reply.Value, len(fl))
	for i, f := range fl {
		vs[i] = reply.Status(f)
	}
	return reply.Set(vs...)
}
