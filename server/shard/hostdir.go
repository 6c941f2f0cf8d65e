package shard

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	pb "github.com/lni/dragonboat/v4/raftpb"

	"github.com/cairndb/cairn/server/durable"
)

// Dragonboat keeps a NodeHost's data under Dir/<hostname>/ and records the
// hostname and the Raft address in Dir/dragonboat.ds; it refuses to start
// when either differs ("hostname changed", "not the owner"). A container
// that is recreated gets a new hostname while its volume, and so its Raft
// state, is the same: adoptHostDir lets the data follow the volume.
//
// The hostname is only a directory name to Dragonboat (the NodeHost's
// identity is its Raft address), so adopting is: link Dir/<new> to the
// data directory of the old name (a symlink, so every absolute path
// Dragonboat recorded, such as snapshot files, stays valid) and record the
// new hostname in the flag file. Both steps are idempotent, so a crash in
// between is repaired by the next start.
//
// The Raft address cannot be adopted this way: the other replicas' Raft
// memberships name this replica by it. checkRaftAddr turns Dragonboat's
// refusal into an error that says so.

const flagFile = "dragonboat.ds"

// hostname is os.Hostname; tests replace it.
var hostname = os.Hostname

// readFlagFile reads Dragonboat's flag file: an 8-byte digest (the second
// half of the MD5 of the rest), then a protobuf RaftDataStatus. It returns
// nil, nil when there is none (a new directory).
func readFlagFile(dir string) (*pb.RaftDataStatus, error) {
	b, err := os.ReadFile(filepath.Join(dir, flagFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(b) < 8 {
		return nil, fmt.Errorf("%s is truncated", filepath.Join(dir, flagFile))
	}
	sum := md5.Sum(b[8:])
	if !bytes.Equal(b[:8], sum[8:]) {
		return nil, fmt.Errorf("%s is corrupt (checksum mismatch)", filepath.Join(dir, flagFile))
	}
	st := &pb.RaftDataStatus{}
	if err := st.Unmarshal(b[8:]); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, flagFile), err)
	}
	return st, nil
}

// writeFlagFile replaces the flag file durably (temp file, fsync, rename,
// directory fsync).
func writeFlagFile(dir string, st *pb.RaftDataStatus) error {
	data, err := st.Marshal()
	if err != nil {
		return err
	}
	sum := md5.Sum(data)
	buf := append(append([]byte(nil), sum[8:]...), data...)
	return durable.WriteFile(filepath.Join(dir, flagFile), buf)
}

// prepareHostDir checks dir's Raft data against this host before
// Dragonboat opens it: it adopts data written under another hostname and
// refuses a changed Raft address with a clear error. It returns the old
// hostname when it adopted one.
func prepareHostDir(dir, raftAddr string) (adopted string, err error) {
	st, err := readFlagFile(dir)
	if err != nil || st == nil {
		return "", err
	}
	if st.Address != "" && !strings.EqualFold(strings.TrimSpace(st.Address), strings.TrimSpace(raftAddr)) {
		return "", fmt.Errorf("data dir %s holds the Raft state of the node at Raft address %s, but this node's Raft address is %s: "+
			"a node's Raft address cannot change (the other replicas know it by that address); start it with --raft-addr %s "+
			"(a DNS name keeps it stable across IP changes), or start a new node on an empty dir and replace this one (CLUSTER REPLACENODE)",
			filepath.Dir(dir), st.Address, raftAddr, st.Address)
	}
	host, err := hostname()
	if err != nil {
		return "", err
	}
	old := strings.TrimSpace(st.Hostname)
	if old == "" || strings.EqualFold(old, host) {
		return "", nil
	}
	if strings.ContainsAny(old, `/\`) || strings.ContainsAny(host, `/\`) || old == "." || old == ".." {
		return "", fmt.Errorf("data dir %s was written under hostname %q; this host is %q", dir, old, host)
	}
	// The real data directory: the old name's, or what it links to.
	target := old
	if fi, err := os.Lstat(filepath.Join(dir, old)); err != nil {
		return "", fmt.Errorf("data dir %s was written under hostname %q but %s is missing: %w", dir, old, filepath.Join(dir, old), err)
	} else if fi.Mode()&os.ModeSymlink != 0 {
		if target, err = os.Readlink(filepath.Join(dir, old)); err != nil {
			return "", err
		}
	} else if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory", filepath.Join(dir, old))
	}
	link := filepath.Join(dir, host)
	if target == host {
		// Renamed back to the name the data lives under: only the flag
		// file is behind.
	} else if fi, err := os.Lstat(link); err == nil {
		// Left by an interrupted adoption (a link to the same data) or
		// data of its own: then two hosts wrote here and which one is
		// this node's Raft state is not ours to guess.
		got, lerr := os.Readlink(link)
		if fi.Mode()&os.ModeSymlink == 0 || lerr != nil || got != target {
			return "", fmt.Errorf("data dir %s holds Raft data of hostname %q (the current one per %s) and of this host %q: remove the one that is not this node's", dir, old, flagFile, host)
		}
	} else if errors.Is(err, os.ErrNotExist) {
		if err := os.Symlink(target, link); err != nil {
			return "", fmt.Errorf("adopt Raft data of hostname %q: %w", old, err)
		}
		if err := durable.SyncDir(dir); err != nil {
			return "", err
		}
	} else {
		return "", err
	}
	st.Hostname = host
	if err := writeFlagFile(dir, st); err != nil {
		return "", fmt.Errorf("adopt Raft data of hostname %q: %w", old, err)
	}
	return old, nil
}
