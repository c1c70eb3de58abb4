// tlogcheck: checks a folder of C2SP tlog-tiles with the Go checksum database's own client
// code (golang.org/x/mod/sumdb/tlog and sumdb/note), knowing nothing of harness-audit.
//
//	tlogcheck DIR VKEY
//
// It opens DIR/checkpoint with the verifier key, reads the tiles through tlog.TileHashReader
// (which checks every tile it loads against the signed root), proves and checks the inclusion
// of every entry of the entry bundles, and for every DIR/checkpoints/*.checkpoint checks its
// signature, its root from that size's (partial) tiles and its consistency with the newest.
// Exit 0 and one line "ok ..." when all hold; else exit 1 naming what failed.
package main

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "tlogcheck: "+format+"\n", args...)
	os.Exit(1)
}

// c2spPath is the tlog-tiles path of a tile: tile/<L>/<N>[.p/<W>] (no height element).
func c2spPath(level string, n int64, w int) string {
	parts := []string{}
	for {
		parts = append([]string{fmt.Sprintf("%03d", n%1000)}, parts...)
		n /= 1000
		if n == 0 {
			break
		}
	}
	for i := 0; i < len(parts)-1; i++ {
		parts[i] = "x" + parts[i]
	}
	p := "tile/" + level + "/" + strings.Join(parts, "/")
	if w < 256 {
		p += ".p/" + strconv.Itoa(w)
	}
	return p
}

type dirTiles struct{ dir string }

func (d dirTiles) Height() int { return 8 }

func (d dirTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := os.ReadFile(filepath.Join(d.dir, c2spPath(strconv.Itoa(t.L), t.N, t.W)))
		if err != nil {
			return nil, err
		}
		if len(data) != t.W*tlog.HashSize {
			return nil, fmt.Errorf("tile %v: %d bytes, want %d", t, len(data), t.W*tlog.HashSize)
		}
		out[i] = data
	}
	return out, nil
}

func (d dirTiles) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

func openCheckpoint(path string, v note.Verifier) tlog.Tree {
	data, err := os.ReadFile(path)
	if err != nil {
		fail("%v", err)
	}
	n, err := note.Open(data, note.VerifierList(v))
	if err != nil {
		fail("%s: signature: %v", path, err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		fail("%s: not a checkpoint", path)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("%s: size: %v", path, err)
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		fail("%s: root hash", path)
	}
	var h tlog.Hash
	copy(h[:], raw)
	return tlog.Tree{N: size, Hash: h}
}

func main() {
	if len(os.Args) != 3 {
		fail("usage: tlogcheck DIR VKEY")
	}
	dir, vkey := os.Args[1], strings.TrimSpace(os.Args[2])
	v, err := note.NewVerifier(vkey)
	if err != nil {
		fail("verifier key: %v", err)
	}
	tree := openCheckpoint(filepath.Join(dir, "checkpoint"), v)
	reader := dirTiles{dir}
	thr := tlog.TileHashReader(tree, reader)
	root, err := tlog.TreeHash(tree.N, thr)
	if err != nil || root != tree.Hash {
		fail("tree hash of size %d: %v", tree.N, err)
	}
	// every entry: its record hash proven included in the signed tree
	for k := int64(0); k*256 < tree.N; k++ {
		w := int(tree.N - k*256)
		if w > 256 {
			w = 256
		}
		data, err := os.ReadFile(filepath.Join(dir, c2spPath("entries", k, w)))
		if err != nil {
			fail("%v", err)
		}
		for j := 0; j < w; j++ {
			if len(data) < 2 {
				fail("entry bundle %d: truncated at entry %d", k, j)
			}
			n := int(binary.BigEndian.Uint16(data))
			if len(data) < 2+n {
				fail("entry bundle %d: truncated at entry %d", k, j)
			}
			entry := data[2 : 2+n]
			data = data[2+n:]
			index := k*256 + int64(j)
			proof, err := tlog.ProveRecord(tree.N, index, thr)
			if err != nil {
				fail("entry %d: proof: %v", index, err)
			}
			if err := tlog.CheckRecord(proof, tree.N, tree.Hash, index, tlog.RecordHash(entry)); err != nil {
				fail("entry %d: inclusion: %v", index, err)
			}
		}
		if len(data) != 0 {
			fail("entry bundle %d: %d bytes after its %d entries", k, len(data), w)
		}
	}
	// every older checkpoint: its own tiles give its root, and it is consistent with the newest
	olds, _ := filepath.Glob(filepath.Join(dir, "checkpoints", "*.checkpoint"))
	sort.Strings(olds)
	for _, path := range olds {
		old := openCheckpoint(path, v)
		if old.N == 0 || old.N > tree.N {
			continue
		}
		oldRoot, err := tlog.TreeHash(old.N, tlog.TileHashReader(old, reader))
		if err != nil || oldRoot != old.Hash {
			fail("%s: tree hash of size %d from its tiles: %v", path, old.N, err)
		}
		proof, err := tlog.ProveTree(tree.N, old.N, thr)
		if err != nil {
			fail("%s: consistency proof: %v", path, err)
		}
		if err := tlog.CheckTree(proof, tree.N, tree.Hash, old.N, old.Hash); err != nil {
			fail("%s: consistency: %v", path, err)
		}
	}
	fmt.Printf("ok size=%d root=%x checkpoints=%d\n", tree.N, tree.Hash[:], len(olds))
}
