package raftsm

import "github.com/tidemark/tidemark/core/controller"

// controllerState runs core/controller as a wholeState: the metadata is
// small (brokers, topics, assignments), so it is kept in memory and
// persisted whole at Sync.
type controllerState struct {
	cfg controller.Config
	c   *controller.Controller
}

var _ wholeState = (*controllerState)(nil)

func newControllerState(cfg controller.Config) *controllerState {
	return &controllerState{cfg: cfg, c: controller.New(cfg)}
}

func (s *controllerState) apply(entry []byte) ([]byte, error) {
	cmd, err := controller.DecodeCommand(entry)
	if err != nil {
		return nil, err
	}
	return controller.EncodeResult(s.c.Apply(cmd)), nil
}

func (s *controllerState) snapshot() []byte { return s.c.Snapshot() }

func (s *controllerState) restore(b []byte) error {
	c, err := controller.Restore(s.cfg, b)
	if err != nil {
		return err
	}
	s.c = c
	return nil
}
