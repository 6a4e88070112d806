package ctilink

// BufCapForTest reports the capacity of the decoder's body buffer, so that
// black-box tests can prove a hostile header did not make it allocate.
func (d *Decoder) BufCapForTest() int { return cap(d.buf) }

// MaxBodyForTest reports the decoder's effective (clamped) body limit.
func (d *Decoder) MaxBodyForTest() int { return d.maxBody }
