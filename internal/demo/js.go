package demo

import (
	"fmt"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
)

func jetstreamNew(nc *nats.Conn) (natsjs.JetStream, error) {
	js, err := natsjs.New(nc)
	if err != nil {
		return nil, fmt.Errorf("demo: jetstream: %w", err)
	}
	return js, nil
}
