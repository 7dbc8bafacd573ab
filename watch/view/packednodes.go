package view

import "iter"

// packedNodes holds the packed routes of the nodes that hold one, in
// blocks of blockSize nodes whose prefixes differ only in their last
// blockBits bits (same family, table, length and other bits): a storm's
// routes come in address order, so a block's routes come one after
// another, and a block is one map lookup for blockSize records, with
// its entries side by side in one pointer-free allocation, where a map
// slot per node would cost a cache miss per record on a table of
// 250,000 nodes. The block last used is remembered.
type packedNodes struct {
	blocks map[NodeKey]*routeBlock
	n      int // nodes held
	lastK  NodeKey
	last   *routeBlock // the block of key lastK, nil if none
	// placed is the node place was last asked for, in block placedK at
	// slot placedSlot: a record looks its node up, then stores it.
	placed, placedK NodeKey
	placedSlot      uint8
	placedOK        bool
}

const (
	blockBits = 3
	blockSize = 1 << blockBits
)

// routeBlock holds the packed routes of the nodes of one block, by slot.
type routeBlock struct {
	e    [blockSize]packedEntry
	used uint8 // bit i set: e[i] holds a node's route
}

func newPackedNodes() packedNodes {
	return packedNodes{blocks: map[NodeKey]*routeBlock{}}
}

// prefixEnd returns the bit of pk.dst where pk's prefix ends, and false
// for a key whose nodes are not blocked (no address, an invalid length,
// a prefix shorter than blockBits).
func prefixEnd(pk NodeKey) (int, bool) {
	end := int(pk.bits)
	switch pk.kind {
	case 4:
		end += 96 // As16: the IPv4 address is the last 4 bytes
	case 6:
	default:
		return 0, false
	}
	return end, pk.bits >= 0 && end >= blockBits
}

// blockOf returns the key of node pk's block, pk with the last
// blockBits bits of its prefix cleared, and pk's slot in it, those bits.
func blockOf(pk NodeKey) (NodeKey, uint8) {
	end, ok := prefixEnd(pk)
	if !ok {
		return pk, 0
	}
	// The bits end-blockBits to end, counted from the most significant
	// of dst[0], in the 16 bits from dst[i] on.
	i := (end - blockBits) >> 3
	w := uint16(pk.dst[i]) << 8
	if i+1 < len(pk.dst) {
		w |= uint16(pk.dst[i+1])
	}
	shift := 16 - (end - i*8)
	slot := uint8(w>>shift) & (blockSize - 1)
	w &^= (blockSize - 1) << shift
	pk.dst[i] = byte(w >> 8)
	if i+1 < len(pk.dst) {
		pk.dst[i+1] = byte(w)
	}
	return pk, slot
}

// nodeOf returns the node of slot slot of block bk (blockOf's inverse).
func nodeOf(bk NodeKey, slot uint8) NodeKey {
	end, ok := prefixEnd(bk)
	if !ok {
		return bk
	}
	for j := end - 1; j >= end-blockBits; j-- {
		if slot&1 != 0 {
			bk.dst[j>>3] |= byte(0x80) >> (j & 7)
		}
		slot >>= 1
	}
	return bk
}

// place returns blockOf(pk).
func (t *packedNodes) place(pk NodeKey) (NodeKey, uint8) {
	if !t.placedOK || t.placed != pk {
		t.placedK, t.placedSlot = blockOf(pk)
		t.placed, t.placedOK = pk, true
	}
	return t.placedK, t.placedSlot
}

// block returns the block of key bk, nil if there is none.
func (t *packedNodes) block(bk NodeKey) *routeBlock {
	if t.last != nil && t.lastK == bk {
		return t.last
	}
	b := t.blocks[bk]
	if b != nil {
		t.lastK, t.last = bk, b
	}
	return b
}

// get returns the packed route of node pk.
func (t *packedNodes) get(pk NodeKey) (packedEntry, bool) {
	if t.n == 0 {
		return packedEntry{}, false
	}
	bk, i := t.place(pk)
	if b := t.block(bk); b != nil && b.used&(1<<i) != 0 {
		return b.e[i], true
	}
	return packedEntry{}, false
}

// put makes p the packed route of node pk, and returns the one it
// replaced (had: there was one).
func (t *packedNodes) put(pk NodeKey, p packedEntry) (old packedEntry, had bool) {
	bk, i := t.place(pk)
	b := t.block(bk)
	if b == nil {
		b = &routeBlock{}
		t.blocks[bk] = b
		t.lastK, t.last = bk, b
	}
	old, had = b.e[i], b.used&(1<<i) != 0
	if !had {
		b.used |= 1 << i
		t.n++
	}
	b.e[i] = p
	return old, had
}

// del removes the packed route of node pk, and returns it (had: there
// was one).
func (t *packedNodes) del(pk NodeKey) (old packedEntry, had bool) {
	bk, i := t.place(pk)
	b := t.block(bk)
	if b == nil || b.used&(1<<i) == 0 {
		return packedEntry{}, false
	}
	old = b.e[i]
	b.used &^= 1 << i
	b.e[i] = packedEntry{}
	t.n--
	if b.used == 0 {
		delete(t.blocks, bk)
		if t.last == b {
			t.last = nil
		}
	}
	return old, true
}

// all yields every node held with its packed route. The loop may del
// the node it is given.
func (t *packedNodes) all() iter.Seq2[NodeKey, packedEntry] {
	return func(yield func(NodeKey, packedEntry) bool) {
		for bk, b := range t.blocks {
			for i := range uint8(blockSize) {
				if b.used&(1<<i) != 0 && !yield(nodeOf(bk, i), b.e[i]) {
					return
				}
			}
		}
	}
}

// BlockSize is how many nodes a block holds at most.
const BlockSize = blockSize

// Block returns the key of the block of nk and nk's slot in it (below
// BlockSize). The nodes whose prefixes differ only in their last 3 bits
// (same family, table, length and other bits) share a block: a storm's
// routes come in address order, and a map of blocks holds neighbours
// side by side and is looked up once for BlockSize of them. Distinct
// NodeKeys have distinct blocks or slots.
func (nk NodeKey) Block() (NodeKey, int) {
	bk, slot := blockOf(nk)
	return bk, int(slot)
}
