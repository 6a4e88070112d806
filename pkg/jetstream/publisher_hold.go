package jetstream

// Hold stops the publisher from sending: Publish keeps buffering, and the
// buffer bound and its PublishGap records apply exactly as while NATS is
// disconnected. Messages already in flight resolve as usual (a failure is
// resent after Release). The bridge holds its publisher until the stream
// is provisioned and while a deleted stream is recreated, so that nothing
// is sent towards a stream that does not exist (it would only come back
// as errors and resends) and the stream's first messages of a run follow
// the restart check. Hold and Release are safe for concurrent use.
func (p *Publisher) Hold() {
	p.held.Store(true)
	p.signal()
}

// Release resumes sending after Hold.
func (p *Publisher) Release() {
	p.held.Store(false)
	p.signal()
}
