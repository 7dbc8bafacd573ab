package explore

// shrink makes a schedule that violates property target shorter and with
// fewer preemptions, at the level of choices: it tries the shortest prefix completed without
// preemption, then dropping single choices, then moving each choice to
// the earliest time of its window, keeping any change after which the
// same property still fails with fewer steps, or as many steps and fewer
// preemptions (or, for times, an earlier time). budget bounds the replays.
func (e *engine[S]) shrink(choices []Choice, target, budget int) []Choice {
	if budget < 0 {
		return choices
	}
	bit := uint64(1) << uint(target)
	best := e.replay(choices, nil, target)
	if best.violated&bit == 0 {
		return choices
	}
	tries := 0
	better := func(o runOutcome[S]) bool {
		if o.violated&bit == 0 {
			return false
		}
		return o.steps < best.steps || (o.steps == best.steps && o.preempt < best.preempt)
	}
	try := func(cand []Choice) bool {
		tries++
		o := e.replay(cand, nil, target)
		if better(o) {
			best = o
			return true
		}
		return false
	}
	for improved := true; improved && tries < budget; {
		improved = false
		for k := 0; k < len(best.choices) && tries < budget; k++ {
			if try(best.choices[:k:k]) {
				improved = true
				break
			}
		}
		for i := 0; i < len(best.choices) && tries < budget; i++ {
			cand := make([]Choice, 0, len(best.choices)-1)
			cand = append(append(cand, best.choices[:i]...), best.choices[i+1:]...)
			if try(cand) {
				improved = true
				i--
			}
		}
	}
	// Prefer earlier times where they keep the failure and its length.
	for i := 0; i < len(best.choices) && tries < budget; i++ {
		if best.choices[i].At <= 0 {
			continue
		}
		cand := append([]Choice(nil), best.choices...)
		cand[i].At = 0 // clamped to the window's start on replay
		tries++
		o := e.replay(cand, nil, target)
		if o.violated&bit != 0 && o.steps <= best.steps && o.preempt <= best.preempt && i < len(o.choices) && o.choices[i].At < best.choices[i].At {
			best = o
		}
	}
	return best.choices
}
