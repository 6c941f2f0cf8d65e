package audit

import (
	"strconv"
	"strings"
)

// What is recorded, and how each command's arguments are redacted.
//
// The rule is: keep what tells an operator what was done (parameter
// names, flags, user names, library names, node ids and addresses), drop
// whatever is a secret (passwords, password hashes, secrets) or data
// (values, Wasm code, DUMP payloads). A dropped argument is written as
// "(redacted)", or "(N bytes)" where its size helps. An error text that
// repeats a dropped argument has it replaced too.

const redacted = "(redacted)"

// exact lists the audited command-table names.
var exact = map[string]bool{
	"auth": true, "hello": true,
	"acl|setuser": true, "acl|deluser": true, "acl|load": true, "acl|save": true, "acl|log": true,
	"config|set": true, "config|rewrite": true, "config|resetstat": true,
	"function|load": true, "function|delete": true, "function|flush": true, "function|restore": true,
	"flushall": true, "flushdb": true,
	"region|promote": true, "region|demote": true,
	"shutdown": true, "save": true, "bgsave": true,
	"client|kill": true,
	"failover":    true, "replicaof": true, "slaveof": true,
}

// clusterReadOnly lists the CLUSTER subcommands that change nothing, and
// the node-to-node ones, which clients cannot send: every other CLUSTER
// subcommand is audited.
var clusterReadOnly = map[string]bool{
	"info": true, "myid": true, "myshardid": true, "nodes": true, "slots": true, "shards": true,
	"links": true, "keyslot": true, "countkeysinslot": true, "getkeysinslot": true, "replicas": true,
	"slaves": true, "help": true, "topology": true, "count-failure-reports": true,
	"slotop": true, "ftshard": true, "members": true, "replstate": true,
}

// audited reports whether a command-table name is recorded.
func audited(name string) bool {
	if exact[name] {
		return true
	}
	base, sub, _ := strings.Cut(name, "|")
	switch base {
	case "debug", "backup":
		return true
	case "cluster":
		return sub != "" && !clusterReadOnly[sub]
	}
	return false
}

// secretParam reports whether a configuration parameter holds a secret.
func secretParam(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "pass") || strings.Contains(n, "secret") || strings.Contains(n, "auth") ||
		strings.HasSuffix(n, "-key") || strings.Contains(n, "key-file-pass")
}

// build makes the record of a command, or false when it is not recorded
// after all (HELLO without AUTH, ACL LOG without RESET).
func build(name, user, addr string, args [][]byte, errText string) (Record, bool) {
	r := Record{User: user, Addr: addr, Command: commandName(name), Args: []string{}, Result: "ok"}
	rest := args
	if strings.Contains(name, "|") && len(rest) >= 2 {
		rest = rest[2:]
	} else if len(rest) >= 1 {
		rest = rest[1:]
	}
	var dropped [][]byte
	drop := func(a []byte) string {
		dropped = append(dropped, a)
		return redacted
	}
	keep := func(a []byte) string { return string(a) }
	switch name {
	case "auth":
		// AUTH [user] password: only the user.
		if len(rest) == 2 {
			r.User = string(rest[0])
			r.Args = append(r.Args, string(rest[0]), drop(rest[1]))
		} else {
			for _, a := range rest {
				r.Args = append(r.Args, drop(a))
			}
		}
	case "hello":
		// HELLO [protover [AUTH user pass] [SETNAME name]]: recorded only
		// with AUTH.
		withAuth := false
		for i := 0; i < len(rest); i++ {
			a := rest[i]
			switch {
			case strings.EqualFold(string(a), "auth") && i+2 < len(rest):
				withAuth = true
				r.User = string(rest[i+1])
				r.Args = append(r.Args, "AUTH", string(rest[i+1]), drop(rest[i+2]))
				i += 2
			case strings.EqualFold(string(a), "auth"):
				withAuth = true
				r.Args = append(r.Args, "AUTH")
				for _, b := range rest[i+1:] {
					r.Args = append(r.Args, drop(b))
				}
				i = len(rest)
			default:
				r.Args = append(r.Args, keep(a))
			}
		}
		if !withAuth {
			return r, false
		}
	case "acl|setuser":
		// ACL SETUSER name rule...: >pass <pass #hash !hash are secrets;
		// a selector may hold them too.
		for i, a := range rest {
			s := string(a)
			if i > 0 && strings.ContainsAny(s, "><#!") {
				r.Args = append(r.Args, drop(a))
				continue
			}
			r.Args = append(r.Args, s)
		}
	case "acl|log":
		if len(rest) == 0 || !strings.EqualFold(string(rest[0]), "reset") {
			return r, false
		}
		r.Args = append(r.Args, "RESET")
	case "config|set":
		// CONFIG SET name value [name value ...]: a secret's value is
		// dropped.
		for i := 0; i < len(rest); i += 2 {
			r.Args = append(r.Args, string(rest[i]))
			if i+1 < len(rest) {
				if secretParam(string(rest[i])) {
					r.Args = append(r.Args, drop(rest[i+1]))
				} else {
					r.Args = append(r.Args, string(rest[i+1]))
				}
			}
		}
	case "function|load", "function|restore":
		// The code or payload is data: its size only; flags kept.
		for i, a := range rest {
			if i == len(rest)-1 && name == "function|load" || i == 0 && name == "function|restore" {
				dropped = append(dropped, a)
				r.Args = append(r.Args, "("+strconv.Itoa(len(a))+" bytes)")
				continue
			}
			r.Args = append(r.Args, string(a))
		}
	default:
		base, _, _ := strings.Cut(name, "|")
		if base == "debug" {
			// DEBUG's arguments can be keys and values: the subcommand only.
			for i, a := range rest {
				if i == 0 && name == "debug" {
					r.Args = append(r.Args, argText(a, &dropped))
					continue
				}
				r.Args = append(r.Args, drop(a))
			}
			break
		}
		for _, a := range rest {
			r.Args = append(r.Args, argText(a, &dropped))
		}
	}
	if errText != "" {
		for _, d := range dropped {
			if len(d) >= 3 {
				errText = strings.ReplaceAll(errText, string(d), redacted)
			}
		}
		r.Result = errText
	}
	return r, true
}

// argText keeps a short printable argument (a flag, an id, an address, a
// path) and drops anything else.
func argText(a []byte, dropped *[][]byte) string {
	if len(a) > 128 {
		*dropped = append(*dropped, a)
		return "(" + strconv.Itoa(len(a)) + " bytes)"
	}
	for _, c := range a {
		if c < 0x20 || c > 0x7e {
			*dropped = append(*dropped, a)
			return redacted
		}
	}
	return string(a)
}
