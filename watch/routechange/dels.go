package routechange

import (
	"iter"

	"raceroute/watch/view"
)

// pendingDels holds the deletes awaiting their re-add, by key, in blocks
// of neighbouring nodes (view.NodeKey.Block): a storm deletes routes in
// address order and they expire in the same order, so a block is one
// map lookup for several deletes, where a map slot per delete cost a
// cache miss for each insert and each expiry. The block last used is
// remembered.
type pendingDels struct {
	blocks map[delKey]*delBlock
	n      int // deletes held
	lastK  delKey
	last   *delBlock // the block of key lastK, nil if none
}

// delBlock holds the deletes of the nodes of one block, by slot.
type delBlock struct {
	d    [view.BlockSize]*deletion
	used int // deletes held
}

func newPendingDels() pendingDels { return pendingDels{blocks: map[delKey]*delBlock{}} }

// blockOf returns the key of id's block and id's slot in it.
func (p *pendingDels) blockOf(id delKey) (delKey, *delBlock, int) {
	bn, slot := id.node.Block()
	bk := delKey{bn, id.metric}
	if p.last != nil && p.lastK == bk {
		return bk, p.last, slot
	}
	b := p.blocks[bk]
	if b != nil {
		p.lastK, p.last = bk, b
	}
	return bk, b, slot
}

// get returns the delete of key id.
func (p *pendingDels) get(id delKey) (*deletion, bool) {
	if p.n == 0 {
		return nil, false
	}
	_, b, i := p.blockOf(id)
	if b == nil || b.d[i] == nil {
		return nil, false
	}
	return b.d[i], true
}

// put makes d the delete of key id.
func (p *pendingDels) put(id delKey, d *deletion) {
	bk, b, i := p.blockOf(id)
	if b == nil {
		b = &delBlock{}
		p.blocks[bk] = b
		p.lastK, p.last = bk, b
	}
	if b.d[i] == nil {
		b.used++
		p.n++
	}
	b.d[i] = d
}

// del removes the delete of key id, if any.
func (p *pendingDels) del(id delKey) {
	bk, b, i := p.blockOf(id)
	if b == nil || b.d[i] == nil {
		return
	}
	b.d[i] = nil
	b.used--
	p.n--
	if b.used == 0 {
		delete(p.blocks, bk)
		if p.last == b {
			p.last = nil
		}
	}
}

// all yields every delete held, in no particular order.
func (p *pendingDels) all() iter.Seq[*deletion] {
	return func(yield func(*deletion) bool) {
		for _, b := range p.blocks {
			for _, d := range b.d {
				if d != nil && !yield(d) {
					return
				}
			}
		}
	}
}
